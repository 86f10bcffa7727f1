// Fast tests against libvirt's in-process test driver. Each test opens its own
// `test:///<fixture>` connection, so every test starts from the fixture's state and they run in parallel.
import Foundation
import Testing

@testable import Libvirt

@Suite("Connection (test driver)")
struct ConnectionTests {
    @Test func factsFromTheFixture() throws {
        let c = try openFixture()
        #expect(try c.hypervisorType == "TEST")
        #expect(try c.libVersion == Libvirt.libraryVersion)
        #expect(try c.libVersion.split(separator: ".").count == 3)
        #expect(try c.uri.hasPrefix("test://"))
        #expect(try !c.hostname.isEmpty)
        #expect(c.isAlive)
        let info = try c.nodeInfo()
        #expect(
            info
                == NodeInfo(
                    model: "x86_64", memoryKiB: 16_777_216, cpus: 8, mhz: 2400, nodes: 1,
                    sockets: 2, cores: 2, threads: 2))
        #expect(try c.capabilitiesXML().contains("<capabilities>"))
    }

    @Test func bogusURIIsATypedError() throws {
        let e = try #require(throws: LibvirtError.self) { try Connection(uri: "bogus:///nothing") }
        #expect(e.codeName == "VIR_ERR_NO_CONNECT")
        #expect(e.message.contains("bogus:///nothing"))
        #expect(e.description == e.message)
    }

    @Test func missingFixtureFileIsATypedError() throws {
        let e = try #require(throws: LibvirtError.self) {
            try Connection(uri: "test:///nonexistent/fleet-fixture.xml")
        }
        #expect(e.message.contains("/nonexistent/fleet-fixture.xml"))
    }

    /// A unix socket that accepts connections (kernel backlog) but never answers: the open must
    /// give up after the timeout instead of hanging.
    @Test func connectTimesOutOnASilentSocket() throws {
        let path = NSTemporaryDirectory() + "ft-\(UInt32.random(in: 0 ... .max))-silent.sock"
        let listener = try SilentSocket(path: path)
        defer { listener.close() }
        let uri = "qemu+unix:///system?socket=\(path)"
        let start = Date()
        let e = try #require(throws: LibvirtTimeout.self) { try Connection(uri: uri, timeout: 1) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(e.description == "could not connect to \(uri) within 1 s")
        #expect(elapsed >= 0.9 && elapsed < 5)
    }

    @Test func oddTimeoutsDoNotTrap() throws {
        #expect(try Connection(uri: fixtureURI(), timeout: .infinity).isAlive)
        #expect(LibvirtTimeout(operation: "connect to x", seconds: .infinity).description == "could not connect to x within inf s")
        #expect(LibvirtTimeout(operation: "connect to x", seconds: 2.5).description == "could not connect to x within 2.5 s")
        // NaN and negative mean "do not wait": the open either already finished or times out.
        for t in [Double.nan, -1] {
            do { _ = try Connection(uri: fixtureURI(), timeout: t) } catch is LibvirtTimeout {}
        }
    }

    /// fleet does not link libvirt: the default auth callback (ssh agent, polkit) is read from the loaded library, and
    /// a lookup in the wrong place would leave it nil and connections without authentication.
    @Test func defaultAuthComesFromTheLoadedLibrary() throws {
        try Libvirt.initialize()
        #expect(defaultAuth != nil)
        #expect(try Libvirt.libraryVersion.split(separator: ".").count == 3)
    }

    @Test func initializeIsIdempotentAndThreadSafe() async throws {
        try await withThrowingTaskGroup(of: Void.self) { g in
            for _ in 0..<8 { g.addTask { try Libvirt.initialize() } }
            try await g.waitForAll()
        }
        let c = try openFixture()
        #expect(c.isAlive)
    }
}

/// A listening AF_UNIX socket that never accepts or replies.
final class SilentSocket {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = try unixSocket(bindTo: path)
    }

    func close() {
        // Closing resets queued connections, so an abandoned background open gets an error and ends.
        _ = Glibc.close(fd)
        unlink(path)
    }
}

@Suite("Domains (test driver)")
struct DomainTests {
    @Test func listLookupXMLInfo() throws {
        let c = try openFixture()
        let names = try c.listAllDomains().map(\.name).sorted()
        #expect(names == ["db1", "web1"])
        let web = try #require(try c.domain(named: "web1"))
        #expect(try web.uuidString == "6695eb01-f6a4-8304-79aa-97f2502e193f")
        #expect(try c.domain(uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f")?.name == "web1")
        #expect(try web.xmlDesc().contains("<name>web1</name>"))
        #expect(try web.xmlDesc(flags: [.inactive, .secure]).contains("52:54:00:aa:bb:01"))
        let info = try web.info()
        #expect(info.maxMemKiB == 1_048_576)
        #expect(info.memoryKiB == 524_288)
        #expect(info.nrVirtCpu == 1)
        #expect(try web.vcpus(flags: [.config, .maximum]) == 4)
        // The test driver starts the fixture's domains.
        #expect(info.state == .running)
        #expect(try web.isActive)
        let id = try #require(web.id)
        #expect(try c.domain(id: id)?.name == "web1")
        #expect(try c.domain(id: 999) == nil)
        #expect(try web.state() == .running)
        #expect(try web.isPersistent)
        #expect(try !web.hasManagedSave)
    }

    @Test func missingLookupsAreNil() throws {
        let c = try openFixture()
        #expect(try c.domain(named: "no-such-vm") == nil)
        #expect(try c.domain(uuid: "00000000-0000-0000-0000-000000000001") == nil)
        #expect(try c.network(named: "no-such-net") == nil)
        #expect(try c.storagePool(named: "no-such-pool") == nil)
        #expect(try c.storageVolume(path: "/no/such/volume.img") == nil)
        #expect(try c.nodeDevice(named: "pci_9999_99_99_9") == nil)
        let pool = try #require(try c.storagePool(named: "images"))
        #expect(try pool.volume(named: "nope.qcow2") == nil)
        let web = try #require(try c.domain(named: "web1"))
        #expect(try web.snapshot(named: "nope") == nil)
    }

    @Test func defineStartDestroyUndefineAutostart() throws {
        let c = try openFixture()
        let xml = """
            <domain type='test'>
              <name>ft-new</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type>hvm</type></os>
            </domain>
            """
        let d = try c.defineDomain(xml: xml)
        #expect(d.name == "ft-new")
        #expect(try !d.isActive)
        #expect(d.id == nil)
        #expect(try d.info().state == .shutoff)
        #expect(try !d.autostart())
        try d.setAutostart(true)
        #expect(try d.autostart())
        #expect(try c.listAllDomains(.inactive).map(\.name) == ["ft-new"])
        #expect(try c.listAllDomains([.active, .autostart]).isEmpty)
        try d.create()
        #expect(try c.listAllDomains(.running).map(\.name).sorted() == ["db1", "ft-new", "web1"])
        #expect(try d.isActive)
        #expect(d.id != nil)
        #expect(try d.shutdown(timeout: 5) == .graceful)  // the test driver honours shutdown at once
        #expect(try d.shutdown(timeout: 5) == .alreadyOff)
        try d.create()
        try d.suspend()
        #expect(try d.state() == .paused)
        try d.resume()
        try d.destroy()
        #expect(try d.state() == .shutoff)
        // Destroying a shut-off domain: libvirt's "not running" error, typed.
        let e = try #require(throws: LibvirtError.self) { try d.destroy() }
        #expect(e.codeName == "VIR_ERR_OPERATION_INVALID")
        #expect(e.message.contains("not running"))
        try d.undefine()
        #expect(try c.domain(named: "ft-new") == nil)
        // The handle outlives the object; using it now is a typed not-found error.
        let gone = try #require(throws: LibvirtError.self) { try d.info() }
        #expect(gone.isNotFound)
        #expect(gone.codeName == "VIR_ERR_NO_DOMAIN")
    }

    @Test func invalidXMLIsATypedError() throws {
        let c = try openFixture()
        let e = try #require(throws: LibvirtError.self) { try c.defineDomain(xml: "<domain") }
        #expect(e.codeName == "VIR_ERR_XML_DETAIL", "\(e.code) \(e.message)")
        #expect(!e.message.isEmpty)
    }

    @Test func setVcpusAndMemoryConfig() throws {
        let c = try openFixture()
        let d = try #require(try c.domain(named: "db1"))
        try d.destroy()
        try d.setVcpus(1, flags: .config)
        #expect(try d.vcpus(flags: .config) == 1)
        #expect(try d.vcpus(flags: [.config, .maximum]) == 2)
        try d.setMemory(kib: 1_048_576, flags: .config)
        #expect(try d.info().memoryKiB == 1_048_576)
        try d.setMemory(kib: 4_194_304, flags: [.config, .maximum])
        #expect(try d.info().maxMemKiB == 4_194_304)
        // More vcpus than the maximum: libvirt refuses, with its message.
        let e = try #require(throws: LibvirtError.self) { try d.setVcpus(8, flags: .config) }
        #expect(e.message.contains("8"))
        #expect(try d.xmlDesc(flags: .inactive).contains("current='1'") || d.xmlDesc(flags: .inactive).contains("current=\"1\""))
    }

    @Test func metadataRoundTrip() throws {
        let c = try openFixture()
        let d = try #require(try c.domain(named: "web1"))
        let uri = "https://fleet.example/xmlns/fleet/1"
        #expect(try d.metadata(uri: uri) == nil)
        try d.setMetadata("<fleet owner='ops'/>", key: "fleet", uri: uri)
        let got = try #require(try d.metadata(uri: uri))
        #expect(got.contains("owner=\"ops\""))
        #expect(try d.xmlDesc().contains(uri))
        try d.setMetadata(nil, key: "fleet", uri: uri)
        #expect(try d.metadata(uri: uri) == nil)
    }

    @Test func snapshotsCreateListDelete() throws {
        let c = try openFixture()
        let d = try #require(try c.domain(named: "web1"))
        #expect(try d.listAllSnapshots().isEmpty)
        let s1 = try d.createSnapshot(xml: "<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>")
        #expect(s1.name == "s1")
        #expect(try s1.xmlDesc().contains("<description>first</description>"))
        _ = try d.createSnapshot(xml: "<domainsnapshot><name>s2</name></domainsnapshot>")
        #expect(try d.listAllSnapshots().map(\.name).sorted() == ["s1", "s2"])
        let s2 = try #require(try d.snapshot(named: "s2"))
        #expect(try s2.isCurrent)
        try s1.revert()
        try s2.delete()
        #expect(try d.listAllSnapshots().map(\.name) == ["s1"])
        let e = try #require(throws: LibvirtError.self) { try s2.delete() }
        #expect(e.isNotFound)
        #expect(e.codeName == "VIR_ERR_NO_DOMAIN_SNAPSHOT")
    }

    @Test func allDomainStats() throws {
        let c = try openFixture()
        let stats = try c.allDomainStats()
        #expect(stats.map(\.name).sorted() == ["db1", "web1"])
        let web = try #require(stats.first { $0.name == "web1" })
        #expect(web.state == .running)
        #expect(web.domain.name == "web1")
        // The test driver only implements the state group; the real-daemon test checks the rest.
        #expect(web.vcpuCurrent == nil && web.balloonCurrentKiB == nil)
    }

    @Test func migrationIsUnsupportedOnTheTestDriver() throws {
        let a = try openFixture()
        let b = try openFixture()
        let d = try #require(try a.domain(named: "web1"))
        let e = try #require(throws: LibvirtError.self) {
            _ = try d.migrate(to: b, flags: [.live, .persistDest], destinationXML: nil, bandwidthMiBs: 100)
        }
        #expect(e.isUnsupported)
        #expect(!e.message.isEmpty)
    }

    @Test func attachDeviceIsUnsupportedOnTheTestDriver() throws {
        let c = try openFixture()
        let d = try #require(try c.domain(named: "web1"))
        let e = try #require(throws: LibvirtError.self) {
            try d.attachDevice(xml: "<interface type='network'><source network='fleetnet'/></interface>", flags: .config)
        }
        #expect(e.isUnsupported)
    }
}

@Suite("Networks (test driver)")
struct NetworkTests {
    @Test func listLookupXML() throws {
        let c = try openFixture()
        let nets = try c.listAllNetworks()
        #expect(nets.map(\.name).contains("fleetnet"))
        let n = try #require(try c.network(named: "fleetnet"))
        #expect(try n.uuidString == "0c8f9a6e-8f4e-4f4b-9a55-1b2c3d4e5f60")
        #expect(try n.isActive)
        #expect(try n.isPersistent)
        #expect(try n.bridgeName() == "virbr-fleet")
        #expect(try n.xmlDesc().contains("192.168.150.10"))
    }

    @Test func defineStartUpdateDestroyUndefine() throws {
        let c = try openFixture()
        let n = try c.defineNetwork(
            xml: """
                <network>
                  <name>ft-iso</name>
                  <bridge name='ft-iso0'/>
                  <ip address='10.77.0.1' netmask='255.255.255.0'>
                    <dhcp><range start='10.77.0.100' end='10.77.0.200'/></dhcp>
                  </ip>
                </network>
                """)
        #expect(try !n.isActive)
        #expect(try !n.autostart())
        try n.setAutostart(true)
        #expect(try n.autostart())
        #expect(try c.listAllNetworks(.inactive).map(\.name) == ["ft-iso"])
        try n.create()
        #expect(try n.isActive)
        #expect(try c.listAllNetworks([.active, .autostart]).map(\.name) == ["ft-iso"])
        let host = "<host mac='52:54:00:00:77:01' name='vm1' ip='10.77.0.11'/>"
        try n.update(command: .add, section: .ipDHCPHost, xml: host, flags: [.live, .config])
        #expect(try n.xmlDesc().contains("10.77.0.11"))
        try n.update(command: .delete, section: .ipDHCPHost, xml: host, flags: [.live, .config])
        #expect(try !n.xmlDesc().contains("10.77.0.11"))
        try n.destroy()
        #expect(try !n.isActive)
        try n.undefine()
        #expect(try c.network(named: "ft-iso") == nil)
    }

    @Test func dhcpLeasesAreUnsupportedOnTheTestDriver() throws {
        let c = try openFixture()
        let n = try #require(try c.network(named: "fleetnet"))
        // The real-daemon test reads an (empty) lease list; the test driver lacks the call.
        let e = try #require(throws: LibvirtError.self) { _ = try n.dhcpLeases() }
        #expect(e.isUnsupported)
        #expect(e.message.contains("virNetworkGetDHCPLeases"))
    }
}

@Suite("Storage (test driver)")
struct StorageTests {
    @Test func listLookupInfoVolumes() throws {
        let c = try openFixture()
        #expect(try c.listAllStoragePools().map(\.name).contains("images"))
        let p = try #require(try c.storagePool(named: "images"))
        #expect(try p.uuidString == "3b1f2d4c-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
        #expect(try p.isActive)
        #expect(try p.xmlDesc().contains("/fleet-images"))
        let info = try p.info()
        #expect(info.state == .running)
        #expect(info.capacityBytes == 100 << 30)
        let vols = try p.listAllVolumes()
        #expect(vols.map(\.name) == ["base.qcow2"])
        let v = try #require(try p.volume(named: "base.qcow2"))
        #expect(try v.path == "/fleet-images/base.qcow2")
        #expect(v.key == "/fleet-images/base.qcow2")
        #expect(try v.info().capacityBytes == 10 << 30)
        #expect(try v.info().type == .file)
        #expect(try v.xmlDesc().contains("<name>base.qcow2</name>"))
        #expect(try c.storageVolume(path: "/fleet-images/base.qcow2")?.name == "base.qcow2")
        #expect(try v.pool().name == "images")
    }

    @Test func definebuildStartVolumesDelete() throws {
        let c = try openFixture()
        let p = try c.definePool(
            xml: """
                <pool type='dir'>
                  <name>ft-pool</name>
                  <target><path>/ft-pool</path></target>
                </pool>
                """)
        #expect(try !p.isActive)
        #expect(try c.listAllStoragePools(.inactive).map(\.name) == ["ft-pool"])
        // The test driver accepts no build flags (the real daemon test uses the default too).
        try p.build()
        try p.create()
        #expect(try p.isActive)
        try p.setAutostart(true)
        #expect(try p.autostart())
        let base = try p.createVolume(
            xml: """
                <volume><name>base.qcow2</name><capacity unit='MiB'>64</capacity>
                <target><format type='qcow2'/></target></volume>
                """)
        let overlay = try p.createVolume(
            xml: """
                <volume><name>vm1.qcow2</name><capacity unit='MiB'>128</capacity>
                <target><format type='qcow2'/></target>
                <backingStore><path>/ft-pool/base.qcow2</path><format type='qcow2'/></backingStore></volume>
                """)
        #expect(try p.listAllVolumes().map(\.name).sorted() == ["base.qcow2", "vm1.qcow2"])
        #expect(try overlay.info().capacityBytes == 128 << 20)
        let clone = try p.createVolume(
            xml: "<volume><name>copy.qcow2</name><capacity>0</capacity></volume>",
            cloneFrom: base)
        #expect(clone.name == "copy.qcow2")
        try p.refresh()
        try clone.delete()
        try overlay.delete()
        try base.delete()
        #expect(try p.listAllVolumes().isEmpty)
        try p.destroy()
        try p.delete()
        try p.undefine()
        #expect(try c.storagePool(named: "ft-pool") == nil)
    }

    @Test func volumeInAMissingPoolIsATypedError() throws {
        let c = try openFixture()
        let p = try c.definePool(xml: "<pool type='dir'><name>ft-gone</name><target><path>/ft-gone</path></target></pool>")
        try p.undefine()
        let e = try #require(throws: LibvirtError.self) {
            try p.createVolume(xml: "<volume><name>x.img</name><capacity>1</capacity></volume>")
        }
        #expect(e.isNotFound)
        #expect(e.codeName == "VIR_ERR_NO_STORAGE_POOL")
        #expect(e.message.contains("ft-gone"))
    }

    @Test func duplicateVolumeIsATypedError() throws {
        let c = try openFixture()
        let p = try #require(try c.storagePool(named: "images"))
        let e = try #require(throws: LibvirtError.self) {
            try p.createVolume(xml: "<volume><name>base.qcow2</name><capacity>1</capacity></volume>")
        }
        #expect(e.message == "operation failed: storage vol already exists")
        #expect(e.codeName == "VIR_ERR_OPERATION_FAILED")
    }
}

@Suite("Node devices (test driver)")
struct NodeDeviceTests {
    @Test func listedFromTheFixture() throws {
        let c = try openFixture()
        let pci = try c.listAllNodeDevices(capability: .pciDevice)
        #expect(pci.map(\.name) == ["pci_0000_00_00_0"])
        let usb = try c.listAllNodeDevices(capability: .usbDevice)
        #expect(usb.map(\.name) == ["usb_1_1"])
        let all = try c.listAllNodeDevices().map(\.name)
        #expect(all.contains("pci_0000_00_00_0") && all.contains("usb_1_1"))
        let d = try #require(try c.nodeDevice(named: "pci_0000_00_00_0"))
        #expect(d.parent == "computer")
        #expect(try d.xmlDesc().contains("<vendor id='0x8086'>Intel Corporation</vendor>"))
    }
}

@Suite("Raw floor")
struct RawFloorTests {
    @Test func readsTheSameBytesAsTheBinding() throws {
        let uri = fixtureURI()
        let raw = try RawFloor.readAllDomainXML(uri: uri)
        let c = try Connection(uri: uri)
        let viaBinding = try c.listAllDomains().reduce(0) { $0 + (try $1.xmlDesc().utf8.count) }
        #expect(raw == viaBinding)
        #expect(raw > 0)
    }
}

@Suite("Concurrency (test driver)")
struct ConcurrencyTests {
    /// One connection shared by many tasks: each failure carries its own message (libvirt's error
    /// slot is per thread and is read on the calling thread).
    @Test func errorsDoNotCrossThreads() async throws {
        let c = try openFixture()
        try await withThrowingTaskGroup(of: Void.self) { g in
            for i in 0..<64 {
                g.addTask {
                    let name = "ft-missing-\(i)"
                    if i % 2 == 0 {
                        let e = try #require(throws: LibvirtError.self) {
                            try c.defineDomain(xml: "<domain type='test'><name>\(name)</name><memory>x</memory></domain>")
                        }
                        #expect(!e.message.isEmpty)
                    } else {
                        #expect(try c.domain(named: name) == nil)
                        let pool = try #require(try c.storagePool(named: "images"))
                        let e = try #require(throws: LibvirtError.self) {
                            try pool.createVolume(xml: "<volume><name>base.qcow2</name><capacity>1</capacity></volume>")
                        }
                        #expect(e.message == "operation failed: storage vol already exists")
                    }
                    #expect(try c.listAllDomains().count == 2)
                }
            }
            try await g.waitForAll()
        }
    }
}
