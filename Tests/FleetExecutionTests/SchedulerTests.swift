import FleetModel
import FleetPlanning
import Testing

@testable import FleetExecution

/// The scheduler is a pure function of the plan: stages by kind in plan order, lanes per object or per pool.
@Suite struct SchedulerTests {
    static func change(_ kind: ObjectKind, _ name: String, _ action: Action, parent: String? = nil) -> Change {
        Change(ObjectRef(kind, name), action, reason: "", parent: parent.map { ObjectRef(.vm, $0) })
    }

    @Test func stagesFollowKindsAndLanesFollowPools() {
        let changes = [
            Self.change(.pool, "a", .create), Self.change(.pool, "b", .create),
            Self.change(.volume, "a/v1", .create, parent: "web"), Self.change(.volume, "a/v2", .create, parent: "web"),
            Self.change(.volume, "b/v3", .create, parent: "db"),
            Self.change(.vm, "web", .create), Self.change(.vm, "web", .start), Self.change(.vm, "db", .create),
            Self.change(.vm, "old", .delete), Self.change(.volume, "a/old", .delete, parent: "old")
        ]
        let stages = Scheduler.stages(changes)
        let names = stages.map { $0.map { $0.map { "\($0.action.rawValue) \($0.object)" } } }
        #expect(
            names == [
                [["create pool/a"], ["create pool/b"]],
                [["create volume/a/v1", "create volume/a/v2"], ["create volume/b/v3"]],
                [["create vm/web", "start vm/web"], ["create vm/db"]],
                [["delete vm/old"]],
                [["delete volume/a/old"]]
            ])
    }

    @Test func aPoolIsDeletedOnlyAfterItsVolumesAndAVMStartsAfterItsDisks() {
        let vm = VMSpec(
            name: "web", host: "h", memory: .mib(64), virtType: .qemu,
            disks: [DiskSpec(name: "disk0", size: .gib(1), pool: "a")], networks: [])
        let fleet = Fleet(name: "f", hosts: [HostSpec(name: "h", uri: "test:///default")], vms: [vm])
        let del = [
            Self.change(.volume, "a/x.qcow2", .delete), Self.change(.image, "a/base.qcow2", .delete), Self.change(.pool, "a", .delete)
        ]
        let plan = Plan(fleet: "f", hosts: [HostPlan(host: "h", uri: "test:///default", changes: del)], desired: fleet)
        #expect(Set(Scheduler.dependencies(del[2], plan: plan)) == [ObjectRef(.volume, "a/x.qcow2"), ObjectRef(.image, "a/base.qcow2")])
        #expect(Scheduler.dependencies(del[1], plan: plan) == [ObjectRef(.volume, "a/x.qcow2")])
        // An old image version waits for the disks reimaged off it, too (and is skipped when they are).
        let reimage = [Self.change(.volume, "a/web-disk0.qcow2", .replace), Self.change(.image, "a/old.qcow2", .delete)]
        let plan2 = Plan(fleet: "f", hosts: [HostPlan(host: "h", uri: "test:///default", changes: reimage)], desired: fleet)
        #expect(Scheduler.dependencies(reimage[1], plan: plan2) == [ObjectRef(.volume, "a/web-disk0.qcow2")])
        var start = Self.change(.vm, "web", .start)
        start.subject = .vm(vm)
        #expect(Scheduler.dependencies(start, plan: plan).contains(ObjectRef(.volume, "a/web-disk0.qcow2")))
        #expect(Scheduler.dependencies(start, plan: plan).contains(ObjectRef(.vm, "web")))
    }
}
