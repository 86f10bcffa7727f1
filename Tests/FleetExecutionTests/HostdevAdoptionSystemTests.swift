import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// Hand-defined domains holding hostdevs that tie them to their host (a PCI function, an mdev, a SCSI device),
/// adopted by fleet: a declared snapshot and a host change are refused, and apply touches nothing.
/// The domains are defined only, never started (the PCI one uses 0000:00:00.0, the host's driverless address).
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct HostdevAdoptionSystemTests {
    let uri = systemURI ?? "qemu:///system"

    static let hostdevs: [(String, String)] = [
        (
            "pci",
            """
            <hostdev mode='subsystem' type='pci' managed='no'>
              <source><address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/></source>
            </hostdev>
            """
        ),
        (
            "mdev",
            """
            <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
              <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source>
            </hostdev>
            """
        ),
        (
            "scsi",
            """
            <hostdev mode='subsystem' type='scsi' managed='no'>
              <source><adapter name='scsi_host0'/><address bus='0' target='0' unit='1'/></source>
            </hostdev>
            """
        )
    ]

    func domainXML(_ name: String, hostdev: String) -> String {
        """
        <domain type='qemu'>
          <name>\(name)</name>
          <memory unit='MiB'>64</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <devices>
            <controller type='scsi' index='0' model='virtio-scsi'/>
            \(hostdev)
          </devices>
        </domain>
        """
    }

    @Test(arguments: hostdevs.map(\.0))
    func adoptedHostBoundDomainRefusesSnapshotsAndMoves(kind: String) throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let name = "\(t.prefix)\(kind)"
        let hostdev = try #require(Self.hostdevs.first { $0.0 == kind }?.1)
        let dom = try conn.defineDomain(xml: domainXML(name, hostdev: hostdev))

        // Adopt it (the manifest names the PCI device so fleet does not plan to remove it).
        let device = kind == "pci" ? "devices:\n  \(t.prefix)dev: {host: local, type: pci, address: \"0000:00:00.0\"}\n" : ""
        var fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts:
              local: {uri: "\(uri)"}
              other: {uri: "test:///default"}
            \(device)vms:
              \(name):
                host: local
                virt_type: qemu
                memory: 64MiB
                state: stopped
            \(kind == "pci" ? "    hostdevs: [\(t.prefix)dev]" : "")
            """)
        var p = Planner.plan(
            desired: fleet, live: StateReader(fleet: fleet.name).read(hosts: fleet.hosts), options: PlanOptions(adopt: true))
        let adopt = try #require(p.changes.first { $0.object.description == "vm/\(name)" })
        #expect(adopt.action == .adopt, "\(p.changes)")
        #expect(p.changes.allSatisfy { $0.object.description == "vm/\(name)" && $0.action == .adopt }, "\(p.changes)")
        let adopted = t.apply(p)
        #expect(adopted.failed == 0, "\(adopted.results)")
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes)")
        let before = try dom.xmlDesc(flags: .inactive)
        #expect(before.contains("type='\(kind)'"))

        // A declared snapshot: refused, and apply creates none.
        let i = try #require(fleet.vms.firstIndex { $0.name == name })
        fleet.vms[i].snapshots = ["before"]
        p = t.plan(fleet)
        let snap = try #require(p.changes.first { $0.object.description == "snapshot/\(name)/before" })
        #expect(snap.action == .refused && snap.reason.contains("cannot snapshot"), "\(snap)")
        #expect(p.changes.allSatisfy { $0.action == .refused }, "\(p.changes)")
        var report = t.apply(p)
        #expect(report.results.isEmpty, "\(report.results)")
        #expect(try dom.listAllSnapshots().isEmpty)
        #expect(try dom.xmlDesc(flags: .inactive) == before)

        // A host change: refused on the new host, nothing planned on the old one, nothing touched.
        fleet.vms[i].snapshots = []
        fleet.vms[i].host = "other"
        fleet.vms[i].hostdevs = []
        p = t.plan(fleet)
        let move = try #require(p.changes.first { $0.object.description == "vm/\(name)" })
        #expect(move.action == .refused, "\(move)")
        #expect(move.reason.contains("cannot migrate a domain with <hostdev mode='subsystem' type='\(kind)'>"), "\(move.reason)")
        #expect(p.changes.allSatisfy { $0.action == .refused }, "\(p.changes)")
        report = t.apply(p)
        #expect(report.results.isEmpty, "\(report.results)")
        #expect(try conn.domain(named: name)?.xmlDesc(flags: .inactive) == before)
        #expect(try conn.domain(named: name)?.isActive == false)
    }
}
