import FleetModel
import Foundation
import Testing

@testable import FleetPlanning

@Suite struct PlannerTests {
    let fleet = Fixture.fleet()

    func plan(_ live: LiveState, _ options: PlanOptions = PlanOptions(), fleet: Fleet? = nil) -> Plan {
        Planner.plan(desired: fleet ?? self.fleet, live: live, options: options)
    }

    func editHost(_ live: LiveState, _ name: String = "kvm1", _ edit: (inout LiveHost) -> Void) -> LiveState {
        var l = live
        let i = l.hosts.firstIndex { $0.name == name }!
        edit(&l.hosts[i])
        return l
    }

    func editDomain(_ live: LiveState, _ name: String, _ edit: (inout LiveDomain) -> Void) -> LiveState {
        editHost(live) { h in edit(&h.domains[h.domains.firstIndex { $0.name == name }!]) }
    }

    @Test func inSyncIsEmpty() {
        let p = plan(Fixture.live(fleet))
        #expect(p.changes.isEmpty, "\(p.changes)")
        #expect(!p.hasErrors)
    }

    @Test func fromNothingCreatesEverythingInDependencyOrder() {
        let live = LiveState(hosts: [
            LiveHost(name: "kvm1", uri: "x", nodeDevices: fleet.devices.map(\.kind)), LiveHost(name: "kvm2", uri: "y")
        ])
        let p = plan(live)
        let refs = p.hosts[0].changes.map { "\($0.action.rawValue) \($0.object)" }
        #expect(
            refs == [
                "create pool/vmdisk",
                "create volume/vmdisk/db-disk0.qcow2",
                "create volume/vmdisk/web-1-disk0.qcow2",
                "create network/nat0",
                "create vm/db",
                "create vm/web-1",
                "start vm/web-1",
                "create snapshot/web-1/baseline"
            ])
        #expect(p.summary.create == 7)
        #expect(p.hosts[1].changes.isEmpty)
        #expect(p.change("pool/vmdisk")?.steps == [.definePool, .buildPool, .startPool, .setAutostart(true)])
    }

    @Test func memoryWithinMaximumIsLive() {
        let f = fleet.with { f in f.vms[1].memory = .mib(1536) }
        let p = plan(Fixture.live(fleet), fleet: f)
        let c = try! #require(p.change("vm/web-1"))
        #expect(c.action == .update)
        #expect(c.steps == [.setMemory(.mib(1536), live: true)])
        #expect(c.attributes == [AttributeChange("memory", before: "1GiB", after: "1536MiB")])
    }

    @Test func vcpusBeyondMaximumNeedRestart() {
        let f = fleet.with { f in
            f.vms[1].vcpus = 6
            f.vms[1].maxVcpus = 8
        }
        let c = try! #require(plan(Fixture.live(fleet), fleet: f).change("vm/web-1"))
        #expect(c.action == .updateRestart)
        #expect(c.steps.first == .defineDomain)
        #expect(c.steps.last == .restartDomain)
        #expect(Set(c.attributes.map(\.name)) == ["max_vcpus", "vcpus"])
    }

    @Test func restartClassOnStoppedVMIsPlainUpdate() {
        let f = fleet.with { f in f.vms[0].maxMemory = .gib(1) }
        let c = try! #require(plan(Fixture.live(fleet), fleet: f).change("vm/db"))
        #expect(c.action == .update)
        #expect(c.steps == [.defineDomain])
    }

    @Test func unsetFieldsAreNotDifferences() {
        // The manifest leaves max_vcpus, max_memory, machine, firmware, graphics and autostart unset.
        let f = fleet.with { f in
            f.vms[1].maxVcpus = nil
            f.vms[1].maxMemory = nil
            f.vms[1].graphics = nil
            f.vms[1].autostart = nil
        }
        let p = plan(Fixture.live(fleet), fleet: f)
        #expect(p.changes.isEmpty, "\(p.changes)")
    }

    @Test func outOfBandChangesAreDetected() {
        var live = Fixture.live(fleet)
        // virsh setmem --live
        live = editDomain(live, "web-1") { d in d.live?.memory = .mib(768) }
        var c = try! #require(plan(live).change("vm/web-1"))
        #expect(c.action == .update && c.steps == [.setMemory(.gib(1), live: true)])
        #expect(c.attributes[0].before == "1GiB (running: 768MiB)")

        // virsh setvcpus --config
        live = editDomain(Fixture.live(fleet), "web-1") { d in d.config.vcpus = 3 }
        c = try! #require(plan(live).change("vm/web-1"))
        #expect(c.steps == [.setVcpus(2, live: true)])

        // virsh autostart --disable
        live = editDomain(Fixture.live(fleet), "web-1") { d in d.autostart = false }
        #expect(plan(live).change("vm/web-1")?.steps == [.setAutostart(true)])

        // virsh destroy
        live = editDomain(Fixture.live(fleet), "web-1") { d in
            d.state = .shutoff
            d.id = nil
            d.live = nil
        }
        #expect(plan(live).change("vm/web-1")?.action == .start)

        // a deleted snapshot
        live = editDomain(Fixture.live(fleet), "web-1") { d in d.snapshots = [] }
        #expect(plan(live).change("snapshot/web-1/baseline")?.action == .create)

        // an undefined network
        live = editHost(Fixture.live(fleet)) { h in h.networks = [] }
        #expect(plan(live).change("network/nat0")?.action == .create)

        // an edited DHCP lease
        live = editHost(Fixture.live(fleet)) { h in h.networks[0].spec.leases[0].ip = IPv4Address(parsing: "192.168.150.99")! }
        c = try! #require(plan(live).change("network/nat0"))
        #expect(c.action == .update)
        #expect(c.steps.count == 2)
        if case .removeLease = c.steps[0], case .addLease = c.steps[1] {} else { Issue.record("\(c.steps)") }

        // a detached USB device
        live = editDomain(Fixture.live(fleet), "web-1") { d in
            d.config.hostdevs = []
            d.live?.hostdevs = []
        }
        c = try! #require(plan(live).change("vm/web-1"))
        #expect(c.action == .update && c.steps == [.attachHostdev(Fixture.usb.kind, live: true)])
    }

    @Test func unmanagedObjectsAreNeverTouched() {
        var live = editHost(Fixture.live(fleet)) { h in
            h.domains.append(
                LiveDomain(
                    name: "someone-else", uuid: "x", state: .running,
                    config: DomainConfig(vcpus: 1, maxVcpus: 1, memory: .mib(64), maxMemory: .mib(64))))
            h.pools.append(LivePool(name: "default", uuid: "y", active: true, autostart: true, spec: PoolSpec(name: "default", type: .dir)))
            h.volumes.append(
                LiveVolume(pool: "vmdisk", name: "manual.qcow2", path: "/data/vmfs/manual.qcow2", capacity: .gib(1), allocation: .gib(1)))
        }
        #expect(plan(live).changes.isEmpty)
        // A declared name held by an unmanaged object is refused, or adopted with --adopt.
        live = editHost(Fixture.live(fleet)) { h in h.pools[0].owner = nil }
        #expect(plan(live).change("pool/vmdisk")?.action == .refused)
        #expect(plan(live).change("pool/vmdisk")?.reason.contains("--adopt") == true)
        #expect(plan(live, PlanOptions(adopt: true)).change("pool/vmdisk")?.action == .adopt)
        // Another fleet's object is refused even with --adopt.
        live = editHost(Fixture.live(fleet)) { h in h.domains[1].config.owner?.fleet = "other" }
        #expect(plan(live, PlanOptions(adopt: true)).change("vm/web-1")?.action == .refused)
    }

    @Test func ownedButUndeclaredIsDeleted() {
        let f = fleet.with { f in f.vms.removeAll { $0.name == "db" } }
        let p = plan(Fixture.live(fleet), fleet: f)
        let c = try! #require(p.change("vm/db"))
        #expect(c.action == .delete && c.destructive)
        #expect(p.change("volume/vmdisk/db-disk0.qcow2")?.action == .delete)
        // Deletions come after everything else, VMs before their volumes.
        let order = p.hosts[0].changes.map(\.object.description)
        #expect(order.firstIndex(of: "vm/db")! < order.firstIndex(of: "volume/vmdisk/db-disk0.qcow2")!)
    }

    /// A running VM deleted with its disks is forced off (nothing of it survives a clean shutdown); one with a disk
    /// that stays (not fleet's) is shut down gracefully first.
    @Test func aDeletedRunningVMIsForcedOffOnlyWhenItsDisksGoToo() throws {
        let f = fleet.with { f in f.vms.removeAll { $0.name == "db" } }
        var live = editHost(Fixture.live(fleet)) { h in
            let i = h.domains.firstIndex { $0.name == "db" }!
            h.domains[i].state = .running
            h.domains[i].live = h.domains[i].config
        }
        let forced = try #require(plan(live, fleet: f).change("vm/db"))
        #expect(forced.steps == [.undefineDomain], "\(forced.steps)")
        #expect(plan(live, fleet: f).change("volume/vmdisk/db-disk0.qcow2")?.action == .delete)

        // The same VM with its disk not fleet's: the disk stays, so the guest gets its clean shutdown.
        live = editHost(live) { h in
            for i in h.volumes.indices where h.volumes[i].name.hasPrefix("db-") { h.volumes[i].owner = nil }
        }
        let graceful = try #require(plan(live, fleet: f).change("vm/db"))
        #expect(graceful.steps == [.stopDomain, .undefineDomain], "\(graceful.steps)")
        #expect(graceful.reason.contains("shut down first"), "\(graceful.reason)")
        #expect(plan(live, fleet: f).change("volume/vmdisk/db-disk0.qcow2") == nil)

        // Shut off already: nothing to shut down.
        live = editHost(live) { h in
            let i = h.domains.firstIndex { $0.name == "db" }!
            h.domains[i].state = .shutoff
            h.domains[i].live = nil
        }
        #expect(try #require(plan(live, fleet: f).change("vm/db")).steps == [.undefineDomain])
    }

    @Test func pciPassthroughRules() {
        // A snapshot on a PCI VM is refused up front.
        var f = fleet.with { f in f.vms[0].snapshots = ["before-upgrade"] }
        var c = try! #require(plan(Fixture.live(fleet), fleet: f).change("snapshot/db/before-upgrade"))
        #expect(c.action == .refused)
        #expect(c.reason.contains("PCI passthrough"))

        // Moving a PCI VM to another host is refused...
        f = fleet.with { f in f.vms[0].host = "kvm2" }
        var live = editHost(Fixture.live(fleet), "kvm2") { h in h.nodeDevices = [Fixture.gpu.kind] }
        var p = plan(live, fleet: f.with { $0.devices[0].host = "kvm2" })
        c = try! #require(p.change("vm/db"))
        #expect(c.action == .refused)
        #expect(c.reason.contains("cannot migrate a domain with <hostdev mode='subsystem' type='pci'>"))
        #expect(p.hosts[0].changes.allSatisfy { $0.object.description != "vm/db" })

        // ...unless the manifest opts in to recreation.
        f = f.with { f in
            f.vms[0].onHostChange = .recreate
            f.devices[0].host = "kvm2"
        }
        live = editHost(Fixture.live(fleet), "kvm2") { h in h.nodeDevices = [Fixture.gpu.kind] }
        p = plan(live, fleet: f)
        #expect(p.hosts[1].changes.first { $0.object.description == "vm/db" }?.action == .replace)
        #expect(p.hosts[0].changes.first { $0.object.description == "vm/db" }?.action == .delete)

        // ...but never when the recreation would drop what fleet does not manage: refused on the new host, kept on the old.
        live = editDomain(live, "db") { d in d.config.unmanagedDevices = ["watchdog i6300esb", "rng virtio"] }
        p = plan(live, fleet: f)
        c = try! #require(p.hosts[1].changes.first { $0.object.description == "vm/db" })
        #expect(c.action == .refused && c.reason.contains("watchdog i6300esb") && c.steps.isEmpty, "\(c.reason)")
        #expect(c.attributes.contains { $0.name == "drops" && $0.before == "rng virtio" })
        #expect(p.hosts[0].changes.allSatisfy { $0.object.description != "vm/db" }, "the old host keeps the VM")
    }

    @Test func hostChangeMigrates() {
        let f = fleet.with { f in
            f.vms[1].host = "kvm2"
            f.vms[1].hostdevs = []
            f.vms[1].snapshots = []
        }
        var live = editDomain(Fixture.live(fleet), "web-1") { d in
            d.config.hostdevs = []
            d.live?.hostdevs = []
            d.snapshots = []
        }
        live = editHost(live, "kvm2") { h in h.nodeDevices = [] }
        let p = plan(live, fleet: f)
        let c = try! #require(p.hosts[1].changes.first { $0.object.description == "vm/web-1" })
        #expect(c.action == .migrate)
        #expect(c.steps == [.migrate(toHost: "kvm2", live: true)])
        // The domain is not deleted on the source: migration moves it.
        #expect(!p.hosts[0].changes.contains { $0.object.description == "vm/web-1" })
        // With snapshots, libvirt cannot migrate it.
        let withSnap = editDomain(live, "web-1") { d in d.snapshots = [LiveSnapshot(name: "s", fleet: nil)] }
        #expect(Planner.plan(desired: f, live: withSnap).hosts[1].changes.first { $0.object.description == "vm/web-1" }?.action == .refused)
    }

    @Test func disks() {
        var f = fleet.with { f in f.vms[1].disks[0].size = .gib(20) }
        var c = try! #require(plan(Fixture.live(fleet), fleet: f).change("volume/vmdisk/web-1-disk0.qcow2"))
        #expect(c.action == .update && c.steps == [.resizeVolume(.gib(20))])
        f = fleet.with { f in f.vms[1].disks[0].size = .gib(5) }
        c = try! #require(plan(Fixture.live(fleet), fleet: f).change("volume/vmdisk/web-1-disk0.qcow2"))
        #expect(c.action == .refused && c.reason.contains("shrink"))
        // A new data disk is created and hot-plugged.
        f = fleet.with { f in f.vms[1].disks.append(DiskSpec(name: "data", size: .gib(1), pool: "vmdisk")) }
        let p = plan(Fixture.live(fleet), fleet: f)
        #expect(p.change("volume/vmdisk/web-1-data.qcow2")?.action == .create)
        #expect(p.change("vm/web-1")?.steps == [.attachDisk(name: "data", live: true)])
    }

    @Test func missingDeviceIsRefused() {
        let live = editHost(Fixture.live(fleet)) { h in h.nodeDevices = [] }
        let p = plan(live)
        #expect(p.change("vm/web-1")?.action == .refused)
        #expect(p.change("vm/web-1")?.reason == "device token (usb 287f:00f8) is not present on host kvm1")
    }

    @Test func unreachableHostIsAnErrorForThatHostOnly() {
        let live = editHost(Fixture.live(fleet), "kvm2") { h in h.error = "could not connect to test:///other within 10 s" }
        let p = plan(live)
        #expect(p.hasErrors)
        #expect(p.hosts[1].error == "could not connect to test:///other within 10 s")
        #expect(p.hosts[0].error == nil)
    }

    @Test func targetsRestrictThePlan() {
        let live = LiveState(hosts: [
            LiveHost(name: "kvm1", uri: "x", nodeDevices: fleet.devices.map(\.kind)), LiveHost(name: "kvm2", uri: "y")
        ])
        let p = plan(live, PlanOptions(targets: [ObjectRef(parsing: "vm/web-1")!]))
        #expect(Set(p.changes.map(\.object.description)) == ["vm/web-1", "volume/vmdisk/web-1-disk0.qcow2", "snapshot/web-1/baseline"])
    }

    @Test func nicAttachAndPciRestart() {
        let mac = MACAddress.stable(for: "lab/web-1/1")
        var f = fleet.with { f in f.vms[1].networks.append(NICSpec(network: "nat0", mac: mac)) }
        var c = try! #require(plan(Fixture.live(fleet), fleet: f).change("vm/web-1"))
        #expect(c.action == .update && c.steps == [.attachInterface(mac, live: true)])
        f = fleet.with { f in
            f.vms[1].hostdevs.append(Fixture.gpu)
            f.vms[1].snapshots = []
        }
        let live = editDomain(Fixture.live(fleet), "web-1") { d in d.snapshots = [] }
        c = try! #require(Planner.plan(desired: f, live: live).change("vm/web-1"))
        #expect(c.action == .updateRestart)
        #expect(c.attributes.map(\.name) == ["hostdev gpu0"])
    }

    @Test func planIsCodable() throws {
        let p = plan(
            LiveState(hosts: [LiveHost(name: "kvm1", uri: "x", nodeDevices: fleet.devices.map(\.kind)), LiveHost(name: "kvm2", uri: "y")]))
        let data = try JSONEncoder().encode(p)
        #expect(try JSONDecoder().decode(Plan.self, from: data) == p)
    }
}
