import FleetModel
import Testing

@testable import FleetPlanning

/// Issue 9: what an update may take away, and what `--adopt` plans.
@Suite struct AdoptAndOwnershipPlanTests {
    let fleet = Fixture.fleet()

    func web(_ live: LiveState, _ edit: (inout LiveDomain) -> Void) -> LiveState {
        var l = live
        let i = l.hosts[0].domains.firstIndex { $0.name == "web-1" }!
        edit(&l.hosts[0].domains[i])
        return l
    }

    @Test func aDiskFleetDoesNotOwnIsNeverPlannedForRemoval() {
        // A hand-attached file disk and another tool's volume on the VM: not declared, not fleet's.
        var live = web(Fixture.live(fleet)) { d in
            d.config.disks.append(LiveDisk(target: "vdb", bus: .virtio, format: .raw, path: "/srv/scratch.img"))
            d.config.disks.append(LiveDisk(target: "vdc", bus: .virtio, format: .qcow2, pool: "vmdisk", volume: "theirs.qcow2"))
            d.live = d.config
        }
        live.hosts[0].volumes.append(
            LiveVolume(
                pool: "vmdisk", name: "theirs.qcow2", path: "/data/vmfs/theirs.qcow2", format: "qcow2",
                capacity: .gib(1), allocation: .mib(1)))
        var p = Planner.plan(desired: fleet, live: live)
        #expect(p.changes.isEmpty, "\(p.changes)")
        // The same volume marked as this fleet's disk: its removal is planned and shown.
        live.hosts[0].volumes[live.hosts[0].volumes.count - 1].owner = Fixture.mark(.volume, "web", ["vm": "web-1"])
        p = Planner.plan(desired: fleet, live: live)
        let c = p.change("vm/web-1", .updateRestart)
        #expect(
            c?.attributes.contains { $0.name == "disk vdc" && $0.before == "vmdisk/theirs.qcow2" && $0.after == nil } == true,
            "\(p.changes)")
        #expect(c?.attributes.contains { $0.name == "disk vdb" } == false)
    }

    @Test func onlyNICsAndHostdevsFleetMadeOrDeclaresAreDetached() {
        let handMade = MACAddress(parsing: "52:54:00:12:34:56")!
        let derived = MACAddress.stable(for: "lab/web-1/1")
        let other = DeviceKind.pci(PCIAddress(parsing: "0000:5e:00.0")!)
        let live = web(Fixture.live(fleet)) { d in
            d.config.nics.append(LiveNIC(source: .bridge("br0"), model: "virtio", mac: handMade))
            d.config.nics.append(LiveNIC(source: .network("nat0"), model: "virtio", mac: derived))
            d.config.hostdevs.append(other)
            d.live = d.config
        }
        let c = Planner.plan(desired: fleet, live: live).change("vm/web-1")
        #expect(c?.action == .update, "\(String(describing: c))")
        #expect(
            c?.attributes.map(\.name) == ["nic \(derived)"],
            "the derived MAC is fleet's; the bridge NIC and the undeclared PCI device are not")
        #expect(c?.steps == [.detachInterface(derived, live: true)])
        // A device the fleet declares, no longer listed by the VM, is detached (USB: live).
        let f = fleet.with { f in f.vms[1].hostdevs = [] }
        let u = Planner.plan(desired: f, live: Fixture.live(fleet)).change("vm/web-1")
        #expect(u?.steps == [.detachHostdev(Fixture.usb.kind, live: true)], "\(String(describing: u))")
    }

    @Test func graphicsAreMatchedByType() {
        // A SPICE display before the declared VNC one: the VNC one matches, nothing to change.
        let live = web(Fixture.live(fleet)) { d in
            d.config.graphics.insert(LiveGraphics(type: "spice", listen: "0.0.0.0", port: nil), at: 0)
            d.live = d.config
        }
        #expect(Planner.plan(desired: fleet, live: live).changes.isEmpty)
    }

    @Test func adoptListsEveryDifferenceWithItsUsualClass() {
        // An unmanaged domain that differs from the manifest: memory (live), max vCPUs (restart), autostart.
        let live = web(Fixture.live(fleet)) { d in
            d.config.owner = nil
            d.config.memory = .mib(768)
            d.config.maxVcpus = 8
            d.autostart = false
            d.live = d.config
        }
        let p = Planner.plan(desired: fleet, live: live, options: PlanOptions(adopt: true))
        let vm = p.changes.filter { $0.object.description == "vm/web-1" }
        #expect(vm.map(\.action) == [.adopt, .updateRestart], "\(vm)")
        // Writing the mark is one change, with one step; every other difference is in its own change.
        #expect(vm[0].steps == [.writeOwnerMark])
        #expect(vm[0].attributes.isEmpty)
        let names = Set(vm[1].attributes.map(\.name))
        #expect(names == ["memory", "max_vcpus", "autostart"], "\(vm[1].attributes)")
        #expect(vm[1].steps.contains(.restartDomain), "the restart still needs --allow-restart at apply")
        // Without --adopt nothing is planned but the refusal.
        let refused = Planner.plan(desired: fleet, live: live).changes.filter { $0.object.description == "vm/web-1" }
        #expect(refused.map(\.action) == [.refused])
    }

    @Test func adoptOfAMatchingObjectIsOnlyTheMark() {
        let live = web(Fixture.live(fleet)) { d in
            d.config.owner = nil
            d.live = d.config
        }
        let p = Planner.plan(desired: fleet, live: live, options: PlanOptions(adopt: true))
        #expect(p.changes.map { "\($0.action.rawValue) \($0.object)" } == ["adopt vm/web-1"], "\(p.changes)")
    }

    @Test func aNetworkAdoptedWithADifferentDomainIsAnUpdateRestart() {
        var live = Fixture.live(fleet)
        live.hosts[0].networks[0].owner = nil
        live.hosts[0].networks[0].spec.domain = "old.test"
        let f = fleet.with { $0.networks[0].domain = "new.test" }
        let p = Planner.plan(desired: f, live: live, options: PlanOptions(adopt: true))
        #expect(
            p.changes.map { "\($0.action.rawValue) \($0.object)" } == ["adopt network/nat0", "update-restart network/nat0"], "\(p.changes)")
        #expect(p.change("network/nat0", .updateRestart)?.steps == [.defineNetwork, .restartNetwork])
    }
}
