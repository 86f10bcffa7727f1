import FleetModel
import Foundation
import Testing

@testable import FleetPlanning

/// Kinds fleet cannot manage, read from libvirt as themselves: a kind mismatch is refused, never a replacement, and
/// every hostdev that ties a domain to its host blocks snapshots and migration (docs/planning.md).
@Suite struct ForeignKindTests {
    let fleet = Fixture.fleet()

    func plan(_ live: LiveState, _ options: PlanOptions = PlanOptions(), fleet: Fleet? = nil) -> Plan {
        Planner.plan(desired: fleet ?? self.fleet, live: live, options: options)
    }

    func edit(_ live: LiveState, _ host: String = "kvm1", _ body: (inout LiveHost) -> Void) -> LiveState {
        var l = live
        if let i = l.hosts.firstIndex(where: { $0.name == host }) { body(&l.hosts[i]) }
        return l
    }

    @Test func aForeignPoolKindIsRefusedNotReplaced() throws {
        for owned in [true, false] {
            let live = edit(Fixture.live(fleet)) { h in
                h.pools[0].spec.type = .other("iscsi")
                if !owned { h.pools[0].owner = nil }
            }
            for adopt in [false, true] {
                let p = plan(live, PlanOptions(adopt: adopt))
                let c = try #require(p.changes.first { $0.object.description == "pool/vmdisk" })
                #expect(c.action == .refused && c.steps.isEmpty, "\(c)")
                #expect(c.reason.contains("iscsi pool") && c.reason.contains("dir pool"), "\(c.reason)")
                #expect(!p.changes.contains { $0.object.description == "pool/vmdisk" && $0.action != .refused })
            }
        }
        // Known kinds keep their semantics: an owned logical pool declared as dir is replaced.
        let logical = edit(Fixture.live(fleet)) { h in h.pools[0].spec.type = .logical }
        #expect(plan(logical).changes.first { $0.object.description == "pool/vmdisk" }?.action == .replace)
    }

    @Test func aForeignForwardModeIsRefusedNotRebuilt() throws {
        for mode in ["hostdev", "vepa", "open", "passthrough", "private"] {
            let live = edit(Fixture.live(fleet)) { h in h.networks[0].spec.mode = .other(mode) }
            let p = plan(live, PlanOptions(adopt: true))
            let c = try #require(p.changes.first { $0.object.description == "network/nat0" })
            #expect(c.action == .refused && c.steps.isEmpty, "\(c)")
            #expect(c.reason.contains("\(mode) mode") && c.reason.contains("declares nat"), "\(c.reason)")
            #expect(p.changes.filter { $0.object.description == "network/nat0" }.count == 1)
        }
        let route = edit(Fixture.live(fleet)) { h in h.networks[0].spec.mode = .route }
        #expect(plan(route).changes.first { $0.object.description == "network/nat0" }?.action == .updateRestart)
    }

    /// web-1 has only a USB token (which libvirt migrates); each host-bound hostdev read from libvirt must block both.
    @Test func everyHostBoundHostdevBlocksSnapshotsAndMigration() throws {
        let bound: [LiveHostdev] = [
            LiveHostdev(type: "pci", managed: false, source: "0000:00:00.0", kind: .pci(PCIAddress(parsing: "0000:00:00.0")!)),
            LiveHostdev(type: "mdev", source: "c2177883-f1bb-47f0-914d-32a22e3a8804 (vfio-pci)"),
            LiveHostdev(type: "scsi", managed: false, source: "scsi_host0 0:0:1"),
            LiveHostdev(type: "scsi", source: "iscsi iqn.2008-06.org.example:target/1 @ example.org:3260"),
            LiveHostdev(type: "scsi_host", source: "vhost naa.5123456789abcde0"),
            LiveHostdev(mode: "capabilities", type: "storage", source: "/dev/sdf1")
        ]
        let usb = LiveHostdev(type: "usb", source: "287f:00f8", kind: Fixture.usb.kind)
        // An SR-IOV NIC (`<interface type='hostdev'>`) is a PCI hostdev to libvirt.
        let vf = edit(Fixture.live(fleet)) { host in
            let i = host.domains.firstIndex { $0.name == "web-1" }!
            host.domains[i].config.nics.append(LiveNIC(source: .hostdev("0000:03:10.2")))
            host.domains[i].snapshots = []
        }
        #expect(plan(vf).changes.first { $0.object.description == "snapshot/web-1/baseline" }?.action == .refused)
        for h in bound {
            #expect(h.bindsToHost)
            let withDev = edit(Fixture.live(fleet)) { host in
                let i = host.domains.firstIndex { $0.name == "web-1" }!
                host.domains[i].config.allHostdevs = [usb, h]
                host.domains[i].snapshots = []
            }
            // A declared snapshot.
            var p = plan(withDev)
            let snap = try #require(p.changes.first { $0.object.description == "snapshot/web-1/baseline" })
            #expect(snap.action == .refused && snap.steps.isEmpty, "\(h.type): \(snap)")
            #expect(snap.reason.contains(h.source), "\(snap.reason)")
            // A host change.
            let moved = fleet.with { f in
                f.vms[1].host = "kvm2"
                f.vms[1].hostdevs = []
                f.vms[1].snapshots = []
            }
            p = plan(edit(withDev, "kvm2") { $0.nodeDevices = [] }, fleet: moved)
            let mv = try #require(p.hosts[1].changes.first { $0.object.description == "vm/web-1" })
            #expect(mv.action == .refused && mv.steps.isEmpty, "\(h.type): \(mv)")
            #expect(mv.reason.contains("cannot migrate a domain with <hostdev mode='\(h.mode)'"), "\(mv.reason)")
            #expect(!p.hosts[0].changes.contains { $0.object.description == "vm/web-1" })
        }
        // USB (by vendor/product or by address) migrates and snapshots, as in libvirt.
        for u in [usb, LiveHostdev(type: "usb", source: "bus 1 device 3")] {
            #expect(!u.bindsToHost)
            let live = edit(Fixture.live(fleet)) { host in
                let i = host.domains.firstIndex { $0.name == "web-1" }!
                host.domains[i].config.allHostdevs = [usb, u]
                host.domains[i].snapshots = []
            }
            #expect(plan(live).changes.first { $0.object.description == "snapshot/web-1/baseline" }?.action == .create)
        }
    }
}
