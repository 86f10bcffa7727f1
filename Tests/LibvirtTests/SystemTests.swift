// System tests against the real libvirtd at $FLEET_TEST_LIBVIRT_URI (qemu:///system here).
// Every object is named with a fresh "ft-<hex>-" prefix and removed in a `defer`, even on failure.
// Domains are TCG (`type='qemu'`), 64 MiB, without an OS: SeaBIOS finds nothing to boot and idles.
import FleetTestSupport
import Foundation
import Testing

@testable import Libvirt

/// Per-test scratch: a dir pool under a fresh temp dir and, on demand, an isolated network.
final class Scratch {
    let conn: Connection
    let prefix: String
    let hex: String
    let dir: String
    private(set) var pool: StoragePool?
    private(set) var network: Network?
    private var domains: [String] = []

    init() throws {
        conn = try Connection(uri: systemURI ?? "", timeout: 10)
        prefix = uniquePrefix()
        hex = String(prefix.dropFirst(3).dropLast())
        dir = NSTemporaryDirectory() + prefix + "pool"
    }

    var bridge: String { "ft" + hex }  // 10 chars: within IFNAMSIZ

    /// A /24 picked from the prefix, so parallel tests do not collide.
    var subnet: String {
        let v = UInt32(hex, radix: 16) ?? 0
        return "10.\(200 + (v >> 8) % 50).\(v % 250)"
    }

    func makePool() throws -> StoragePool {
        let p = try conn.definePool(
            xml: """
                <pool type='dir'><name>\(prefix)pool</name><target><path>\(dir)</path></target></pool>
                """)
        pool = p
        // Dir pools take no build flags: NO_OVERWRITE/OVERWRITE are for pools that format a device
        // (libvirt answers "No source device specified when formatting pool").
        try p.build()
        try p.create()
        return p
    }

    func makeNetwork(dhcp: Bool = true) throws -> Network {
        let n = try conn.defineNetwork(
            xml: """
                <network>
                  <name>\(prefix)net</name>
                  <bridge name='\(bridge)'/>
                  <ip address='\(subnet).1' netmask='255.255.255.0'>
                    \(dhcp ? "<dhcp><range start='\(subnet).100' end='\(subnet).200'/></dhcp>" : "")
                  </ip>
                </network>
                """)
        network = n
        try n.create()
        return n
    }

    func qcow2(_ name: String, mib: Int, backing: String? = nil) throws -> StorageVolume {
        let p = try pool ?? makePool()
        let back = backing.map { "<backingStore><path>\($0)</path><format type='qcow2'/></backingStore>" } ?? ""
        return try p.createVolume(
            xml: """
                <volume><name>\(name)</name><capacity unit='MiB'>\(mib)</capacity>
                <target><format type='qcow2'/></target>\(back)</volume>
                """)
    }

    /// Domain XML: TCG, 64 MiB, max 2 vcpus (1 current), optional qcow2 disk and NIC.
    func domainXML(_ name: String, disk: String? = nil, network: String? = nil, extraDevices: String = "") -> String {
        let diskXML =
            disk.map {
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='\($0)'/><target dev='vda' bus='virtio'/></disk>"
            } ?? ""
        let nic = network.map { "<interface type='network'><source network='\($0)'/><model type='virtio'/></interface>" } ?? ""
        return """
            <domain type='qemu'>
              <name>\(prefix)\(name)</name>
              <memory unit='MiB'>64</memory>
              <currentMemory unit='MiB'>64</currentMemory>
              <vcpu placement='static' current='1'>2</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <features><acpi/></features>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                \(diskXML)
                \(nic)
                \(extraDevices)
                <memballoon model='virtio'/>
              </devices>
            </domain>
            """
    }

    func define(_ name: String, disk: String? = nil, network: String? = nil, extraDevices: String = "") throws -> Domain {
        domains.append(prefix + name)
        return try conn.defineDomain(xml: domainXML(name, disk: disk, network: network, extraDevices: extraDevices))
    }

    /// Removes everything this scratch created (only names carrying its prefix).
    func cleanUp() {
        for name in domains {
            guard let d = try? conn.domain(named: name) else { continue }
            if (try? d.isActive) == true { bestEffort { try d.destroy() } }
            bestEffort { try d.undefine(flags: [.snapshotsMetadata, .managedSave, .nvram]) }
        }
        if let n = network {
            bestEffort { try n.destroy() }
            bestEffort { try n.undefine() }
        }
        if let p = pool {
            if let vols = try? p.listAllVolumes() { for v in vols { bestEffort { try v.delete() } } }
            bestEffort { try p.destroy() }
            bestEffort { try p.delete() }
            bestEffort { try p.undefine() }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite("System (real libvirtd)", .enabled(if: systemEnabled))
struct SystemTests {
    @Test func connectionFacts() throws {
        let c = try Connection(uri: systemURI ?? "")
        #expect(try c.hypervisorType == "QEMU")
        #expect(try c.hypervisorVersion.hasPrefix("7."))
        #expect(try c.libVersion.hasPrefix("9."))
        #expect(try c.uri == "qemu:///system" || c.uri == systemURI)
        #expect(c.isAlive)
        #expect(try c.nodeInfo().cpus >= 1)
        #expect(try c.freeMemoryBytes() > 0)
        #expect(try c.capabilitiesXML().contains("<host>"))
        _ = try c.listAllDomains()
        _ = try c.listAllNetworks()
        _ = try c.listAllStoragePools()
    }

    @Test func runningDomainLiveChanges() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let net = try s.makeNetwork()
        let disk = try s.qcow2("vm.qcow2", mib: 64)
        let d = try s.define("vm", disk: try disk.path)
        #expect(d.id == nil)
        try d.create()
        let id = try #require(d.id)
        #expect(try d.state() == .running)
        #expect(try d.info().nrVirtCpu == 1)
        #expect(try s.conn.domain(id: id)?.name == d.name)
        #expect(try d.jobInfo().type == .none)

        // vcpus: hot-plug the second one, persist it too.
        try d.setVcpus(2, flags: [.live, .config])
        #expect(try d.vcpus(flags: .live) == 2)
        #expect(try d.vcpus(flags: .config) == 2)
        #expect(try d.info().nrVirtCpu == 2)

        // memory: the balloon request is accepted live (no guest driver will act on it, so the live
        // figure stays), persisted with .config, and refused above the maximum with libvirt's message.
        try d.setMemory(kib: 48 * 1024, flags: .live)
        try d.setMemory(kib: 48 * 1024, flags: .config)
        #expect(try d.xmlDesc(flags: .inactive).contains("<currentMemory unit='KiB'>49152</currentMemory>"))
        let tooBig = try #require(throws: LibvirtError.self) { try d.setMemory(kib: 1 << 20, flags: .live) }
        #expect(tooBig.message.contains("max memory"), "\(tooBig.message)")

        // disk: grow the running qcow2 to 128 MiB.
        try d.blockResize(disk: "vda", bytes: 128 << 20)
        #expect(try disk.info().capacityBytes == 128 << 20)

        // NIC: attach live+config, then detach from the config.
        let mac = "52:54:00:\(s.hex.prefix(2)):\(s.hex.dropFirst(2).prefix(2)):\(s.hex.dropFirst(4).prefix(2))"
        let nic = "<interface type='network'><mac address='\(mac)'/><source network='\(net.name)'/><model type='virtio'/></interface>"
        try d.attachDevice(xml: nic, flags: [.live, .config])
        #expect(try d.xmlDesc().contains(mac))
        #expect(try d.xmlDesc(flags: .inactive).contains(mac))
        #expect(d.id == id)
        // Update the attached NIC in place: link down, live.
        let down =
            "<interface type='network'><mac address='\(mac)'/><source network='\(net.name)'/><model type='virtio'/><link state='down'/></interface>"
        try d.updateDevice(xml: down, flags: .live)
        #expect(try d.xmlDesc().contains("<link state='down'/>"))
        #expect(try !d.xmlDesc(flags: .inactive).contains("<link state='down'/>"))

        // No job running: abortJob is libvirt's typed "invalid operation".
        let noJob = try #require(throws: LibvirtError.self) { try d.abortJob() }
        #expect(noJob.isInvalidOperation, "\(noJob.codeName): \(noJob.message)")

        // Migrating to the same host goes through virDomainMigrate3 with typed parameters and
        // is refused by the daemon with its own message.
        let other = try Connection(uri: systemURI ?? "")
        let mig = try #require(throws: LibvirtError.self) {
            _ = try d.migrate(
                to: other, flags: [.live, .persistDest], destinationXML: d.xmlDesc(flags: .migratable),
                bandwidthMiBs: 64)
        }
        #expect(mig.codeName == "VIR_ERR_MIGRATE_UNSAFE", "\(mig.codeName): \(mig.message)")
        #expect(mig.message == "Unsafe migration: Migration without shared storage is unsafe")
        let same = try #require(throws: LibvirtError.self) {
            _ = try d.migrate(
                to: other, flags: [.live, .unsafe], destinationXML: d.xmlDesc(flags: .migratable),
                bandwidthMiBs: 64)
        }
        #expect(same.message.contains("same host"), "\(same.codeName): \(same.message)")
        #expect(try d.state() == .running)

        // Live unplug needs the guest to acknowledge (ACPI): with no OS, libvirt waits 5 s, returns
        // success and leaves the removal pending, so only the config side can be checked here.
        try d.detachDevice(xml: nic, flags: [.live, .config])
        #expect(try !d.xmlDesc(flags: .inactive).contains(mac))
        #expect(d.id == id)
        // No guest, no lease: an empty answer, not an error.
        #expect(try d.interfaceAddresses(source: .lease).allSatisfy { $0.addresses.isEmpty })

        // Bulk stats see it.
        let st = try #require(try s.conn.allDomainStats().first { $0.name == d.name })
        #expect(st.state == .running)
        #expect(st.vcpuCurrent == 2)
        #expect(st.vcpuMaximum == 2)
        #expect(st.balloonMaximumKiB == 64 * 1024)

        // Live metadata.
        try d.setMetadata("<fleet v='1'/>", key: "fleet", uri: "https://fleet.example/ns", flags: .live)
        #expect(try d.metadata(uri: "https://fleet.example/ns", flags: .live)?.contains("v=\"1\"") == true)

        // Without an OS nothing answers ACPI: the helper falls back to destroy.
        #expect(try d.shutdown(timeout: 2) == .destroyed)
        #expect(try d.state() == .shutoff)
        #expect(d.id == nil)
    }

    @Test func volumesBackingStoreAndStreams() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let pool = try s.makePool()
        let base = try s.qcow2("base.qcow2", mib: 32)
        let overlay = try s.qcow2("overlay.qcow2", mib: 64, backing: try base.path)
        #expect(try overlay.xmlDesc().contains("<backingStore>"))
        #expect(try overlay.xmlDesc().contains(try base.path))
        #expect(try overlay.info().capacityBytes == 64 << 20)

        // Metadata preallocation allocates the qcow2 L2 tables up front.
        let pre = try pool.createVolume(
            xml: "<volume><name>pre.qcow2</name><capacity unit='GiB'>1</capacity><target><format type='qcow2'/></target></volume>",
            flags: .preallocMetadata)
        let plain = try s.qcow2("plain.qcow2", mib: 1024)
        #expect(try pre.info().allocationBytes > plain.info().allocationBytes)
        try pre.delete()
        try plain.delete()

        // A raw volume, filled through the upload stream and read back.
        let size = 1 << 20 + 4096 * 3
        let raw = try pool.createVolume(
            xml: "<volume><name>blob.raw</name><capacity>\(size)</capacity><target><format type='raw'/></target></volume>")
        var bytes = [UInt8](repeating: 0, count: size)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let src = s.dir + "-src.bin"
        let dst = s.dir + "-dst.bin"
        defer {
            try? FileManager.default.removeItem(atPath: src)
            try? FileManager.default.removeItem(atPath: dst)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: src))
        var reports: [(UInt64, UInt64)] = []
        try raw.upload(fromFile: src) { reports.append(($0, $1)) }
        #expect(reports.last?.0 == UInt64(size))
        #expect(reports.last?.1 == UInt64(size))
        try raw.download(toFile: dst)
        let back = try Data(contentsOf: URL(fileURLWithPath: dst))
        #expect(back.count == size)
        #expect(checksum(back) == checksum(Data(bytes)))

        // Resize, wipe, clone.
        try raw.resize(capacity: UInt64(size) * 2)
        #expect(try raw.info().capacityBytes == UInt64(size) * 2)
        try raw.wipe()
        let clone = try pool.createVolume(
            xml: "<volume><name>clone.qcow2</name><capacity>0</capacity><target><format type='qcow2'/></target></volume>", cloneFrom: base)
        #expect(try clone.info().capacityBytes == 32 << 20)
        #expect(try pool.listAllVolumes().count == 4)
        #expect(try s.conn.storageVolume(path: try clone.path)?.name == "clone.qcow2")

        // A missing source file is a typed error, not a crash.
        let e = try #require(throws: LibvirtError.self) { try raw.upload(fromFile: s.dir + "-missing") }
        #expect(e.codeName == "VIR_ERR_SYSTEM_ERROR")
        #expect(e.message.contains("No such file"))
    }

    @Test func sparseUploadAndDownload() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let pool = try s.makePool()
        let size = 16 << 20
        let vol = try pool.createVolume(
            xml:
                "<volume><name>sparse.raw</name><capacity>\(size)</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>"
        )
        // 16 MiB file with two 64 KiB data islands; the rest is holes.
        let src = s.dir + "-sparse-src.bin"
        let dst = s.dir + "-sparse-dst.bin"
        defer {
            try? FileManager.default.removeItem(atPath: src)
            try? FileManager.default.removeItem(atPath: dst)
        }
        let island = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        island.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, 0) }
        island.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, off_t(9 << 20)) }
        _ = ftruncate(fd, off_t(size))
        close(fd)

        var last: UInt64 = 0
        try vol.upload(fromFile: src, sparse: true) { done, _ in last = done }
        #expect(last == UInt64(size))
        // The holes stayed holes on the daemon's side.
        #expect(try vol.info().allocationBytes < 4 << 20)

        try vol.download(toFile: dst, sparse: true)
        let a = try Data(contentsOf: URL(fileURLWithPath: src))
        let b = try Data(contentsOf: URL(fileURLWithPath: dst))
        #expect(b.count == size)
        #expect(checksum(a) == checksum(b))
        var st = stat()
        #expect(stat(dst, &st) == 0)
        #expect(Int(st.st_blocks) * 512 < 4 << 20, "downloaded file is sparse")
    }

    @Test func snapshotOnShutOffDomain() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let disk = try s.qcow2("snap.qcow2", mib: 32)
        let d = try s.define("snap", disk: try disk.path)
        let snap = try d.createSnapshot(xml: "<domainsnapshot><name>before</name></domainsnapshot>")
        #expect(snap.name == "before")
        #expect(try d.listAllSnapshots().map(\.name) == ["before"])
        #expect(try snap.xmlDesc().contains("<state>shutoff</state>"))
        try snap.revert()
        try snap.delete()
        #expect(try d.listAllSnapshots().isEmpty)
        #expect(try d.snapshot(named: "before") == nil)
    }

    @Test func pciHostdevDefinedNeverStarted() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let pci = try s.conn.listAllNodeDevices(capability: .pciDevice)
        let dev = try #require(pci.first { $0.name == "pci_0000_00_00_0" })
        #expect(try dev.xmlDesc().contains("<name>pci_0000_00_00_0</name>"))
        #expect(dev.parent == "computer")
        let hostdev = """
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/></source>
            </hostdev>
            """
        // Defined only: this domain must NEVER be started.
        let d = try s.define("pci", extraDevices: hostdev)
        let xml = try d.xmlDesc(flags: .inactive)
        #expect(xml.contains("<hostdev mode='subsystem' type='pci' managed='yes'>"))
        #expect(xml.contains("<address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>"))
        #expect(try !d.isActive)
    }

    @Test func startingOnAMissingNetworkIsATypedError() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let missing = s.prefix + "nonet"
        let d = try s.define("nonet", network: missing)
        let e = try #require(throws: LibvirtError.self) { try d.create() }
        #expect(e.codeName == "VIR_ERR_NO_NETWORK")
        #expect(e.isNotFound)
        #expect(e.message == "Network not found: no network with matching name '\(missing)'")
        #expect(try !d.isActive)
    }

    @Test func networkDHCPHostUpdate() throws {
        let s = try Scratch()
        defer { s.cleanUp() }
        let n = try s.makeNetwork(dhcp: true)
        #expect(try n.isActive)
        #expect(try n.bridgeName() == s.bridge)
        let host = "<host mac='52:54:00:fe:00:01' name='\(s.prefix)h' ip='\(s.subnet).11'/>"
        try n.update(command: .add, section: .ipDHCPHost, xml: host, flags: [.live, .config])
        #expect(try n.xmlDesc().contains("\(s.subnet).11"))
        #expect(try n.xmlDesc(inactive: true).contains("\(s.subnet).11"))
        // Adding it twice: libvirt's own error.
        let dup = try #require(throws: LibvirtError.self) {
            try n.update(command: .add, section: .ipDHCPHost, xml: host, flags: [.live, .config])
        }
        #expect(dup.message.contains("52:54:00:fe:00:01"))
        try n.update(
            command: .modify, section: .ipDHCPHost,
            xml: "<host mac='52:54:00:fe:00:01' name='\(s.prefix)h' ip='\(s.subnet).12'/>", flags: [.live, .config])
        #expect(try n.xmlDesc().contains("\(s.subnet).12"))
        try n.update(
            command: .delete, section: .ipDHCPHost,
            xml: "<host mac='52:54:00:fe:00:01' name='\(s.prefix)h' ip='\(s.subnet).12'/>", flags: [.live, .config])
        #expect(try !n.xmlDesc().contains("52:54:00:fe:00:01"))
        #expect(try !n.xmlDesc(inactive: true).contains("52:54:00:fe:00:01"))
        #expect(try n.dhcpLeases().isEmpty)
    }
}

/// FNV-1a 64: enough to compare an uploaded and a downloaded payload.
func checksum(_ d: Data) -> UInt64 {
    d.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}
