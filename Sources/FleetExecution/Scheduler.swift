import FleetModel
import FleetPlanning

/// The order of a host's changes, as a pure function of the plan (no libvirt; tested on plain values): stages in
/// plan order (pools, images, volumes, networks, VMs, snapshots; deletions in reverse), lanes within a stage that
/// run in parallel, and the objects each change depends on (a change whose dependency did not apply is skipped).
enum Scheduler {
    /// Stages of lanes of changes. A lane is one object's changes (create, then start), or one pool's volume
    /// creations and updates (they may clone from, or be backed by, each other's images: one at a time per pool).
    /// Volume deletions get a lane each: libvirt serializes them on the pool's lock, and the round trips overlap.
    static func stages(_ changes: [Change]) -> [[[Change]]] {
        var stages: [[[Change]]] = []
        var lanes: [String: Int] = [:]
        var current: (delete: Bool, kind: ObjectKind)?
        for c in changes {
            let key = (c.action == .delete, c.object.kind)
            if current.map({ $0.delete != key.0 || $0.kind != key.1 }) ?? true {
                stages.append([])
                lanes = [:]
                current = key
            }
            let lane: String
            switch c.object.kind {
            case .volume where c.action == .delete:
                lane = c.object.description
            case .volume, .image:
                // `pool/volume`; a declared image by its name (one pool each): one lane per pool is enough.
                lane = c.object.name.contains("/") ? String(c.object.name.prefix { $0 != "/" }) : "images"
            default:
                lane = c.object.description
            }
            if let i = lanes[lane] {
                stages[stages.count - 1][i].append(c)
            } else {
                lanes[lane] = stages[stages.count - 1].count
                stages[stages.count - 1].append([c])
            }
        }
        return stages
    }

    /// Objects a change needs: a disk its pool and image, a VM its disks and networks, a snapshot or start its VM.
    static func dependencies(_ c: Change, plan: Plan) -> [ObjectRef] {
        // Deletions: a pool goes only after every volume and image version fleet deletes in it, an image
        // version only after the disks in its pool that are deleted or reimaged (they may be backed by it). A
        // skipped or failed one keeps the pool defined, so the next run still sees, and removes, what is left.
        if c.action == .delete, c.object.kind == .pool || c.object.kind == .image {
            let pool = c.object.kind == .pool ? c.object.name : String(c.object.name.prefix { $0 != "/" })
            return plan.hosts.flatMap(\.changes).filter { d in
                (d.action == .delete || (d.action == .replace && c.object.kind == .image)) && d.object.name.hasPrefix(pool + "/")
                    && (d.object.kind == .volume || (c.object.kind == .pool && d.object.kind == .image))
            }.map(\.object)
        }
        switch c.object.kind {
        case .volume, .image:
            var pool = String(c.object.name.prefix { $0 != "/" })
            if case .image(let img)? = c.subject { pool = img.pool }
            var deps = [ObjectRef(.pool, pool)]
            if case .disk(_, _, let img?)? = c.subject { deps.append(ObjectRef(.image, img.name)) }
            return deps
        case .vm:
            guard case .vm(let vm)? = c.subject, c.action != .delete else { return [] }
            var deps = vm.disks.map { ObjectRef(.volume, "\($0.pool)/\($0.volumeName(vm: vm.name))") }
            if let seed = vm.seedVolume { deps.append(ObjectRef(.volume, "\(seed.pool)/\(seed.name)")) }
            if let ign = vm.ignitionVolume { deps.append(ObjectRef(.volume, "\(ign.pool)/\(ign.name)")) }
            deps += vm.networks.map { ObjectRef(.network, $0.network) }
            if c.action == .start { deps.append(ObjectRef(.vm, vm.name)) }
            return deps
        case .snapshot:
            return c.parent.map { [$0] } ?? []
        default:
            return []
        }
    }
}
