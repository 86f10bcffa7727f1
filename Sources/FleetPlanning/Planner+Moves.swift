import FleetModel

/// Moves between hosts (`host:` changed) that migrate: one change on the new host that takes the VM's disks along.
/// The new host plans no disk creations for it, the old host no disk deletions: both are part of the move
/// (docs/planning.md, "Moves").
extension HostPlanner {

    /// The VM's domain on its old host, when the VM migrates to this host (not refused, not recreated).
    func incomingMigration(_ vm: VMSpec) -> (from: String, dom: LiveDomain)? {
        guard vm.host == host.name, index.domains[vm.name] == nil,
            let (from, dom) = context.ownedDomainHost[vm.name], from != host.name, context.refusal(vm) == nil,
            move(vm, dom, from: from).first?.action == .migrate
        else { return nil }
        return (from, dom)
    }

    /// A VM declared here whose move from another host is refused: nothing is made for it here (no image, disk or seed).
    func refusedMove(_ vm: VMSpec) -> Bool {
        guard vm.host == host.name, index.domains[vm.name] == nil,
            let (from, dom) = context.ownedDomainHost[vm.name], from != host.name
        else { return false }
        return context.refusal(vm) != nil || move(vm, dom, from: from).first?.action == .refused
    }

    /// The VMs this host makes disks, seeds and images for: all declared here but those whose move is refused.
    var settledVMs: [VMSpec] { vms.filter { !refusedMove($0) } }

    /// VMs declared on another host whose domain this fleet owns here.
    var movingAway: [VMSpec] {
        live.domains.compactMap { d in
            guard context.owns(d.owner), let vm = context.vmByName[d.name], vm.host != host.name else { return nil }
            return vm
        }
    }

    /// VMs whose domain migrates away from this host, by name: the move removes their disks here itself.
    var outgoingMigrations: Set<String> {
        var out: Set<String> = []
        for vm in movingAway {
            guard let spec = fleet.hosts.first(where: { $0.name == vm.host }), let lh = context.live.host(vm.host), lh.error == nil,
                HostPlanner(context: context, host: spec, live: lh).incomingMigration(vm) != nil
            else { continue }
            out.insert(vm.name)
        }
        return out
    }

    /// VMs declared on another host whose move there is refused: their domain stays here, and so do their disks.
    var refusedOutgoingMoves: Set<String> {
        var out: Set<String> = []
        for vm in movingAway {
            guard let spec = fleet.hosts.first(where: { $0.name == vm.host }), let lh = context.live.host(vm.host), lh.error == nil,
                HostPlanner(context: context, host: spec, live: lh).refusedMove(vm)
            else { continue }
            out.insert(vm.name)
        }
        return out
    }

    /// A disk or seed volume of a VM whose domain stays here because its move is refused.
    func staysWithRefusedMove(_ lv: LiveVolume, _ refused: Set<String>) -> Bool {
        guard lv.owner?.kind == .volume, context.owns(lv.owner), let vm = lv.owner?.attributes["vm"] else { return false }
        return refused.contains(vm)
    }

    /// A disk or seed volume that leaves this host with its VM's migration (a seed is removed by the move once the
    /// domain is gone: a failed move must leave the VM here with everything it boots from).
    func leavesByMigration(_ lv: LiveVolume, _ outgoing: Set<String>) -> Bool {
        guard lv.owner?.kind == .volume, context.owns(lv.owner), let vm = lv.owner?.attributes["vm"] else { return false }
        return outgoing.contains(vm)
    }

    /// What the move does with each disk, for the plan: on shared storage it stays where it is; otherwise a live
    /// migration has QEMU copy it (VIR_MIGRATE_NON_SHARED_DISK, into an overlay on this host's image when it is one),
    /// and an offline one copies its contents through the stream API.
    func moveAttributes(_ vm: VMSpec, from: String, live running: Bool) -> (attrs: [AttributeChange], copied: ByteSize, shared: Int) {
        let source = context.live.host(from)?.volumes ?? []
        var attrs: [AttributeChange] = []
        var copied = ByteSize(bytes: 0)
        var shared = 0
        for (i, d) in vm.disks.enumerated() {
            let name = d.volumeName(vm: vm.name)
            let ref = "\(d.pool)/\(name)"
            guard let src = source.first(where: { $0.pool == d.pool && $0.name == name }) else {
                attrs.append(.init("disk \(i)", before: nil, after: "\(ref) (missing on \(from): created empty)"))
                continue
            }
            if let here = liveVolume(d.pool, name), src.isSameStorage(as: here) {
                shared += 1
                attrs.append(.init("disk \(i)", before: "\(from):\(ref)", after: "\(host.name):\(ref) (shared pool: not copied)"))
            } else if running {
                let method = src.backingPath != nil ? "non-shared disk copy by QEMU, onto the image here" : "non-shared disk copy by QEMU"
                copied = ByteSize(bytes: copied.bytes + src.allocation.bytes)
                attrs.append(.init("disk \(i)", before: "\(from):\(ref)", after: "\(host.name):\(ref) (\(method))"))
            } else {
                copied = ByteSize(bytes: copied.bytes + src.allocation.bytes)
                attrs.append(
                    .init(
                        "disk \(i)", before: "\(from):\(ref)",
                        after: "\(host.name):\(ref) (disk contents copied, \(src.allocation.gibText))"))
            }
        }
        return (attrs, copied, shared)
    }

    /// The reason a migrating move gives.
    func moveReason(_ vm: VMSpec, from: String, live running: Bool, copied: ByteSize, shared: Int) -> String {
        let disks = vm.disks.count
        var storage: String
        if disks == 0 {
            storage = "no disks"
        } else if shared == disks {
            storage = "disks on a shared pool, not copied"
        } else if running {
            storage = "non-shared disks copied during the migration (\(copied.gibText)), then removed from \(from)"
        } else {
            storage = "disk contents copied (\(copied.gibText)) and checked, then removed from \(from)"
        }
        if shared > 0 && shared < disks { storage += "; \(shared) on a shared pool" }
        // libvirt's own rule (qemuMigrationSrcIsSafe): a writable disk QEMU does not copy must be on a filesystem it
        // knows as shared, else "Unsafe migration"; fleet never passes VIR_MIGRATE_UNSAFE.
        if running && shared > 0 { storage += " (libvirt requires a shared filesystem there: NFS, GFS2, OCFS2, CephFS…)" }
        return (running ? "live migration; the guest keeps running; " : "offline migration; ") + storage
    }
}
