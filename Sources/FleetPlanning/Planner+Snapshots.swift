import FleetModel

/// Snapshots: create and delete, refused for domains bound to their host.
extension HostPlanner {
    func snapshotChanges(_ vm: VMSpec, existing: [LiveSnapshot], bound: [LiveHostdev]) -> [Change] {
        var out: [Change] = []
        let parent = ObjectRef(.vm, vm.name)
        for name in vm.snapshots where !existing.contains(where: { $0.name == name }) {
            let ref = ObjectRef(.snapshot, "\(vm.name)/\(name)")
            if !bound.isEmpty {
                out.append(
                    Change(
                        ref, .refused,
                        reason:
                            "libvirt cannot snapshot a domain with \(boundText(bound)) (the device state cannot be saved: qemu_snapshot.c runs the migration check, which refuses every hostdev but USB)",
                        parent: parent))
            } else {
                out.append(Change(ref, .create, reason: "snapshot declared", steps: [.createSnapshot(name)], parent: parent))
            }
        }
        for s in existing where s.fleet == fleet.name && !vm.snapshots.contains(s.name) {
            out.append(
                Change(
                    ObjectRef(.snapshot, "\(vm.name)/\(s.name)"), .delete, reason: "no longer declared",
                    steps: [.deleteSnapshot(s.name)], destructive: true, parent: parent))
        }
        return out
    }

    func deviceName(_ k: DeviceKind) -> String {
        fleet.devices.first { $0.kind == k && $0.host == host.name }?.name ?? describe(k)
    }
}
