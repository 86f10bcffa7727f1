import FleetExecution
import FleetManifest
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// `fleet export` on the real daemon: objects defined by hand (never started), exported, loaded back, adopted with
/// `apply --adopt`; that plan holds only adoptions, and the plan after it is empty. Everything is removed by prefix.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct ExportSystemTests {
    let uri = systemURI ?? "qemu:///system"

    /// Exports `select` from the host, loads the text as a manifest (no diagnostics allowed), and returns both.
    func export(_ t: TestFleet, _ select: [(ObjectKind, String)]) throws -> (Fleet, String) {
        let host = HostSpec(name: "local", uri: uri)
        let input = try ExportReader().read(host: host).get()
        let result = ManifestExport.export(
            fleet: t.fleetName, hosts: [input], selection: .init(select.map { ($0.0, $0.1) }),
            schema: FleetSchema.id)
        #expect(result.notFound.isEmpty, "\(result.notFound)")
        try Data(result.text.utf8).write(to: t.dir.appendingPathComponent("fleet.yaml"))
        let loaded = ManifestLoader().load(paths: [t.dir.path])
        // Warnings are allowed (a VM whose only disks fleet does not manage "has nothing to boot from"); errors are not.
        let errors = loaded.diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.description))\n\(result.text)")
        guard let fleet = loaded.fleet else { throw TestFailure("export does not load:\n\(result.text)") }
        return (fleet, result.text)
    }

    /// apply --adopt plans only `adopt` changes and applies them; the next plan is empty.
    func adoptOnly(_ t: TestFleet, _ fleet: Fleet, _ text: String) throws {
        let p = t.plan(fleet, options: PlanOptions(adopt: true))
        #expect(!p.changes.isEmpty)
        #expect(
            p.changes.allSatisfy { $0.action == .adopt },
            "\(p.changes.map { "\($0.action) \($0.object): \($0.attributes) \($0.reason)" })\n\(text)")
        guard p.changes.allSatisfy({ $0.action == .adopt }) else { return }
        let report = t.apply(p)
        #expect(report.failed == 0, "\(report.results)")
        let after = t.plan(fleet)
        #expect(after.changes.isEmpty, "\(after.changes.map { "\($0.action) \($0.object): \($0.attributes)" })\n\(text)")
    }

    @Test func exportAdoptsAHandMadeEstateWithoutChangingIt() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let p = t.prefix
        let poolPath = "/var/lib/libvirt/images/\(p)pool"
        let pool = try conn.definePool(
            xml: """
                <pool type='dir'><name>\(p)pool</name><target><path>\(poolPath)</path></target></pool>
                """)
        try pool.build()
        try pool.create()
        // The system disk is an overlay on a base volume named as fleet names images: exported as image \(p)base.
        _ = try pool.createVolume(
            xml: """
                <volume><name>\(p)base.qcow2</name><capacity unit='MiB'>48</capacity><target><format type='qcow2'/></target></volume>
                """)
        _ = try pool.createVolume(
            xml: """
                <volume><name>\(p)debian12.qcow2</name><capacity unit='MiB'>64</capacity><target><format type='qcow2'/></target>
                  <backingStore><path>\(poolPath)/\(p)base.qcow2</path><format type='qcow2'/></backingStore></volume>
                """)
        _ = try pool.createVolume(
            xml: """
                <volume><name>\(p)spare.img</name><capacity unit='MiB'>8</capacity><target><format type='raw'/></target></volume>
                """)
        let mac = "52:54:00:\(String(format: "%02x:%02x:%02x", t.subnet, Int.random(in: 0...255), Int.random(in: 0...255)))"
        let net = try conn.defineNetwork(
            xml: """
                <network><name>\(p)net</name><bridge name='\(String("fb\(p.dropFirst(3))".prefix(15)))'/>
                  <ip address='10.252.\(t.subnet).1' prefix='24'><dhcp>
                    <range start='10.252.\(t.subnet).100' end='10.252.\(t.subnet).200'/>
                    <host mac='\(mac)' name='\(p)vm' ip='10.252.\(t.subnet).10'/>
                  </dhcp></ip></network>
                """)
        try net.create()
        let vm = try conn.defineDomain(
            xml: """
                <domain type='qemu'>
                  <name>\(p)vm</name>
                  <memory unit='MiB'>96</memory><currentMemory unit='MiB'>64</currentMemory>
                  <vcpu current='1'>2</vcpu>
                  <os><type arch='x86_64' machine='pc'>hvm</type></os>
                  <devices>
                    <disk type='volume' device='disk'>
                      <driver name='qemu' type='qcow2'/>
                      <source pool='\(p)pool' volume='\(p)debian12.qcow2'/>
                      <target dev='vda' bus='virtio'/>
                    </disk>
                    <disk type='file' device='floppy'><target dev='fda' bus='fdc'/></disk>
                    <controller type='scsi' index='0' model='virtio-scsi'/>
                    <interface type='network'><mac address='\(mac)'/><source network='\(p)net'/><model type='virtio'/></interface>
                    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
                    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
                    <watchdog model='i6300esb' action='reset'/>
                  </devices>
                </domain>
                """)
        _ = try conn.defineDomain(
            xml: """
                <domain type='qemu'>
                  <name>\(p)usb</name>
                  <memory unit='MiB'>64</memory>
                  <os><type arch='x86_64' machine='pc'>hvm</type></os>
                  <devices>
                    <hostdev mode='subsystem' type='usb' managed='yes'>
                      <source><vendor id='0x1050'/><product id='0x0407'/></source>
                    </hostdev>
                  </devices>
                </domain>
                """)
        let before = try vm.xmlDesc(flags: .inactive)

        let (fleet, text) = try export(t, [(.vm, "\(p)vm"), (.vm, "\(p)usb")])
        #expect(text.hasPrefix("# yaml-language-server: $schema="))
        #expect(
            text.contains(
                "{name: vda, image: \(p)base, pool: \(p)pool, volume: \(p)debian12.qcow2, size: 64MiB, format: qcow2, bus: virtio}"),
            "\(text)")
        #expect(
            fleet.images.map { "\($0.name) \($0.pool)/\($0.volumeName) \($0.source)" } == [
                "\(p)base \(p)pool/\(p)base.qcow2 \(poolPath)/\(p)base.qcow2"
            ])
        #expect(text.contains("ip: 10.252.\(t.subnet).10"), "\(text)")
        #expect(text.contains("# kept as is, not managed by fleet: floppy fda, controller scsi virtio-scsi"), "\(text)")
        #expect(text.contains("channel org.qemu.guest_agent.0") && text.contains("watchdog i6300esb"), "\(text)")
        // No USB device of that kind is plugged in here: the hostdev stays as it is, undeclared.
        let present = fleet.devices.isEmpty
        #expect(present == !text.contains("devices:"))
        #expect(text.contains("hostdev usb"), "\(text)")
        let vmSpec = try #require(fleet.vms.first { $0.name == "\(p)vm" })
        #expect(vmSpec.disks.map { $0.volumeName(vm: vmSpec.name) } == ["\(p)debian12.qcow2"])
        #expect(vmSpec.state == .stopped && vmSpec.virtType == .qemu && vmSpec.vcpus == 1 && vmSpec.maxVcpus == 2)
        #expect(fleet.pools.map(\.name) == ["\(p)pool"] && fleet.networks.map(\.name) == ["\(p)net"])

        try adoptOnly(t, fleet, text)
        // The image, both volumes, the pool, the network and both VMs were adopted.
        let owned = StateReader(fleet: t.fleetName).read(hosts: [HostSpec(name: "local", uri: uri)]).hosts[0]
        #expect(owned.volumes.filter { $0.owner?.fleet == t.fleetName }.map(\.name).sorted() == ["\(p)base.qcow2", "\(p)debian12.qcow2"])
        #expect(owned.volumes.first { $0.name == "\(p)base.qcow2" }?.owner?.kind == .image)
        #expect(owned.domains.filter { $0.owner?.fleet == t.fleetName }.map(\.name) == ["\(p)usb", "\(p)vm"])
        // Adoption wrote marks only (the domain's in its <metadata>): the rest of its definition is what it was.
        func withoutMetadata(_ xml: String) -> String {
            xml.replacingOccurrences(of: #"\s*<metadata>[\s\S]*</metadata>"#, with: "", options: .regularExpression)
        }
        let after = try vm.xmlDesc(flags: .inactive)
        #expect(after.contains("fleet:owner") && after.contains(t.fleetName), "\(after)")
        #expect(withoutMetadata(after) == withoutMetadata(before))
        #expect(try vm.isActive == false)
    }

    /// Real-world domains from Tests/LibvirtCorpus: every one is defined (never started), exported, adopted, and
    /// planned again. Their NICs on networks are pointed at a network of this test, so no shared object is touched.
    @Test func corpusDomainsExportAndAdoptCleanly() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let p = t.prefix
        let net = try conn.defineNetwork(
            xml: """
                <network><name>\(p)net</name><bridge name='\(String("fb\(p.dropFirst(3))".prefix(15)))'/>
                  <ip address='10.253.\(t.subnet).1' prefix='24'/></network>
                """)
        try net.create()
        // Disks on pool volumes point at a pool of this test, holding a raw volume of each name they use.
        let pool = try conn.definePool(
            xml: """
                <pool type='dir'><name>\(p)pool</name><target><path>/var/lib/libvirt/images/\(p)pool</path></target></pool>
                """)
        try pool.build()
        try pool.create()
        var volumes: Set<String> = []
        var select: [(ObjectKind, String)] = []
        for (i, url) in try LibvirtCorpusSystemTests.files("domain").enumerated() {
            let name = "\(p)d\(i)"
            var xml = LibvirtCorpusSystemTests.prepare(try String(contentsOf: url, encoding: .utf8), name: name)
            xml = xml.replacingOccurrences(
                of: #"<source network=(['"])[^'"]*(['"])"#, with: "<source network='\(p)net'",
                options: .regularExpression)
            xml = xml.replacingOccurrences(of: #"pool=(['"])[^'"]*(['"])"#, with: "pool='\(p)pool'", options: .regularExpression)
            let vre = try NSRegularExpression(pattern: #"volume=['"]([^'"]+)['"]"#)
            for m in vre.matches(in: xml, range: NSRange(xml.startIndex..., in: xml)) {
                guard let r = Range(m.range(at: 1), in: xml), volumes.insert(String(xml[r])).inserted else { continue }
                _ = try pool.createVolume(
                    xml: "<volume><name>\(xml[r])</name><capacity unit='MiB'>1</capacity><target><format type='raw'/></target></volume>")
            }
            if (try? conn.defineDomain(xml: xml)) != nil { select.append((.vm, name)) }
        }
        #expect(select.count > 20, "few corpus domains defined: \(select.count)")
        let (fleet, text) = try export(t, select)
        #expect(fleet.vms.count == select.count, "\(text)")
        // Nothing shared is declared: only this test's network and pool.
        #expect(fleet.networks.allSatisfy { $0.name.hasPrefix(p) } && fleet.pools.allSatisfy { $0.name.hasPrefix(p) }, "\(text)")
        // Some corpus disks are volumes of the pool and some NICs are on the network: both are exported, with their names and MACs.
        #expect(fleet.vms.contains { !$0.disks.isEmpty && $0.disks.allSatisfy { $0.volume != nil && $0.pool == "\(p)pool" } }, "\(text)")
        #expect(fleet.vms.contains { !$0.networks.isEmpty && $0.networks.allSatisfy { $0.network == "\(p)net" } }, "\(text)")
        #expect(text.contains("# kept as is, not managed by fleet:"))
        try adoptOnly(t, fleet, text)
    }
}
