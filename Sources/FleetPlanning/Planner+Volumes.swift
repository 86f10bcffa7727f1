import FleetModel

/// Images, disk volumes and cloud-init seeds: uploads, overlays and full copies, reimage, growth, deletion.
extension HostPlanner {

    /// Images needed on this host: listed for it, or used by one of its VMs.
    var neededImages: [ImageSpec] {
        // A VM preflight refuses gets no image uploaded for it (one that exists here keeps what it has).
        let used = Set(
            settledVMs.filter { context.refusal($0) == nil || index.domains[$0.name] != nil }.flatMap { $0.disks.compactMap(\.image) })
        return fleet.images.filter { img in
            img.hosts.map { $0.contains(host.name) } ?? used.contains(img.name)
        }
    }

    func liveVolume(_ pool: String, _ name: String) -> LiveVolume? {
        index.volumes["\(pool)/\(name)"]
    }

    func images() -> [Change] {
        var out: [Change] = []
        let needed = neededImages
        for img in needed {
            let ref = ObjectRef(.image, img.name)
            let start = out.count
            defer { out.carry(.image(img), for: ref, from: start) }
            guard let lv = liveVolume(img.pool, img.volumeName) else {
                out.append(
                    Change(
                        ref, .create,
                        attributes: [
                            .init("volume", before: nil, after: "\(img.pool)/\(img.volumeName)"),
                            .init("source", before: nil, after: img.source)
                        ] + (img.sha256.map { [AttributeChange("sha256", before: nil, after: $0)] } ?? []),
                        reason: "image volume missing on \(host.name)", steps: [.uploadImage]))
                continue
            }
            if let c = conflict(ref, lv.owner) {
                out.append(c)
                continue
            }
            if let want = img.sha256, let have = lv.owner?.attributes["sha256"], want != have {
                // Cannot happen with checksummed names unless the volume was overwritten out of band.
                out.append(
                    Change(
                        ref, .refused, attributes: [.init("sha256", before: have, after: want)],
                        reason: "image volume \(lv.name) holds other content than its name says; remove it by hand"))
            }
        }
        // Image volumes fleet uploaded that nothing declares any more, and that no disk is backed by once this
        // plan's deletions ran (the executor deletes those disks first, and skips the image if one of them is).
        let neededNames = Set(needed.map { "\($0.pool)/\($0.volumeName)" })
        // Disks reimaged onto another version in this plan leave their old one too (the scheduler runs the
        // image's deletion after their replace, and skips it when the replace does not happen).
        let unneeded = live.volumes.filter {
            $0.owner?.kind == .image && context.owns($0.owner) && !neededNames.contains("\($0.pool)/\($0.name)")
        }
        if unneeded.isEmpty { return out }
        let leaving = volumesLeaving.union(volumes().filter { $0.action == .replace }.map(\.object.name))
        let outgoing = outgoingMigrations
        for lv in unneeded {
            let users = index.volumesBackedBy[lv.path] ?? []
            let staying = users.filter { !leaving.contains("\($0.pool)/\($0.name)") }
            // Named by its volume: the image's own name may already stand for its newer version.
            let ref = ObjectRef(.image, "\(lv.pool)/\(lv.name)")
            if staying.isEmpty {
                // With disks on it going too, it goes with them: skipped when they are (without --allow-destroy).
                // Disks leaving with their VM's migration lose nothing: the move copies them first.
                let destructive = users.contains { $0.owner?.attributes["role"] != "seed" && !leavesByMigration($0, outgoing) }
                out.append(
                    Change(
                        ref, .delete, attributes: [.init("volume", before: "\(lv.pool)/\(lv.name)", after: nil)],
                        reason: users.isEmpty ? "image version no longer used" : "image version no longer used once its disks are deleted",
                        steps: [.deleteVolume], destructive: destructive))
            }
        }
        return out
    }

    /// `pool/name` of every disk and seed volume this fleet owns here that the plan deletes (declared nowhere).
    var volumesLeaving: Set<String> {
        var declared: Set<String> = []
        for vm in vms {
            for d in vm.disks { declared.insert("\(d.pool)/\(d.volumeName(vm: vm.name))") }
            if let (pool, name) = vm.seedVolume { declared.insert("\(pool)/\(name)") }
            if let (pool, name) = vm.ignitionVolume { declared.insert("\(pool)/\(name)") }
        }
        let refused = refusedOutgoingMoves
        return Set(
            live.volumes.filter {
                $0.owner?.kind == .volume && context.owns($0.owner) && !staysWithRefusedMove($0, refused) && backsDiskElsewhere($0) == nil
            }
            .map { "\($0.pool)/\($0.name)" }.filter { !declared.contains($0) })
    }

    /// Another host of this plan where the very same file (a shared pool) backs a disk declared there. This host's
    /// ledger entry for it is then stale (a move cut short after it recorded the disk), and deleting the volume
    /// here would delete that VM's disk: it is never planned.
    func backsDiskElsewhere(_ lv: LiveVolume) -> String? {
        for h in context.live.hosts where h.name != host.name && h.error == nil {
            let declared = (context.vmsByHost[h.name] ?? []).contains { vm in
                vm.disks.contains { $0.pool == lv.pool && $0.volumeName(vm: vm.name) == lv.name }
            }
            if declared, h.volumes.contains(where: { $0.isSameStorage(as: lv) }) { return h.name }
        }
        return nil
    }

    struct DesiredVolume {
        var vm: VMSpec
        var index: Int
        var disk: DiskSpec { vm.disks[index] }
        var name: String { disk.volumeName(vm: vm.name) }
    }

    func volumes() -> [Change] {
        var out: [Change] = []
        var desired: [DesiredVolume] = []
        // A VM migrating here brings its disks: the move creates them (docs/planning.md, "Moves").
        for vm in settledVMs where incomingMigration(vm) == nil {
            for i in vm.disks.indices { desired.append(DesiredVolume(vm: vm, index: i)) }
        }
        for dv in desired {
            let ref = ObjectRef(.volume, "\(dv.disk.pool)/\(dv.name)")
            let parent = ObjectRef(.vm, dv.vm.name)
            let image = dv.disk.image.flatMap { context.imageByName[$0] }
            let start = out.count
            defer { out.carry(.disk(vm: dv.vm, index: dv.index, image: image), for: ref, from: start) }
            guard let lv = liveVolume(dv.disk.pool, dv.name) else {
                // Preflight refused the VM: nothing of it is made (its refusal says why).
                if context.refusal(dv.vm) != nil { continue }
                var attrs: [AttributeChange] = [.init("format", before: nil, after: dv.disk.format.rawValue)]
                if let s = dv.disk.size { attrs.append(.init("capacity", before: nil, after: s.description)) }
                if let image {
                    attrs.append(.init("image", before: nil, after: image.name + (dv.disk.clone == .full ? " (full copy)" : " (overlay)")))
                }
                if let c = dv.vm.customize, !c.isEmpty { attrs.append(.init("customize", before: nil, after: "yes")) }
                out.append(
                    Change(
                        ref, .create, attributes: attrs, reason: "disk \(dv.disk.name) of \(dv.vm.name) does not exist",
                        steps: [.createVolume], parent: parent))
                continue
            }
            if let c = conflict(ref, lv.owner) {
                out.append(Change(c.object, c.action, reason: c.reason, steps: c.steps, parent: parent))
                if c.action == .refused { continue }
            }
            var attrs: [AttributeChange] = []
            var replace = false
            if let f = lv.format, f != dv.disk.format.rawValue {
                attrs.append(.init("format", before: f, after: dv.disk.format.rawValue))
                replace = true
            }
            if let image {
                let recorded = lv.owner?.attributes["image"]
                let expectedBacking = liveVolume(image.pool, image.volumeName)?.path
                if let recorded, recorded != image.name {
                    attrs.append(.init("image", before: recorded, after: image.name))
                    replace = true
                } else if dv.disk.clone == .overlay, let expectedBacking, let have = lv.backingPath, have != expectedBacking {
                    attrs.append(.init("image", before: have, after: expectedBacking))
                    replace = true
                } else if dv.disk.clone == .full, let version = lv.owner?.attributes["version"], version != image.volumeName {
                    attrs.append(.init("image", before: version, after: image.volumeName))
                    replace = true
                } else if dv.disk.clone == .overlay, expectedBacking == nil, lv.backingPath != nil {
                    // A new image version is about to be uploaded: the disk must be rebuilt on it.
                    attrs.append(.init("image", before: lv.backingPath, after: "\(image.pool)/\(image.volumeName)"))
                    replace = true
                }
            }
            var keyNote = ""
            if image != nil, let want = customizationDigest(dv.vm), let have = lv.owner?.attributes["customize"], want != have,
                have != context.options.olderCustomizationDigests[dv.vm.name]
            {
                attrs.append(.init("customize", before: have, after: want))
                replace = true
                keyNote = Self.keyNote(have: have, want: want)
            }
            var ignitionNote = ""
            if image != nil, dv.index == 0, let want = context.options.ignitionDigests[dv.vm.name],
                let have = lv.owner?.attributes["ignition"], want != have
            {
                attrs.append(.init("ignition", before: have, after: want))
                replace = true
                ignitionNote = " (Ignition runs at first boot only, so a new config needs a fresh disk)"
            }
            if replace {
                out.append(
                    Change(
                        ref, .replace, attributes: attrs,
                        reason:
                            "the disk's content source changed: it is recreated (reimage; a running VM is stopped and started again); its data is lost"
                            + ignitionNote + keyNote,
                        steps: [.deleteVolume, .createVolume], destructive: true, parent: parent))
                continue
            }
            if let size = dv.disk.size, size != lv.capacity {
                if size < lv.capacity {
                    out.append(
                        Change(
                            ref, .refused, attributes: [.init("capacity", before: lv.capacity.description, after: size.description)],
                            reason: "shrinking a disk would destroy the data past the new end; fleet never shrinks disks", parent: parent))
                } else {
                    out.append(growth(dv, from: lv.capacity, to: size, ref: ref, parent: parent))
                }
            }
        }
        // cloud-init seeds: derived from the manifest, rebuilt whenever their content changes.
        var seeds: Set<String> = []
        for vm in settledVMs {
            guard let (pool, name) = vm.seedVolume else { continue }
            seeds.insert("\(pool)/\(name)")
            let ref = ObjectRef(.volume, "\(pool)/\(name)")
            let parent = ObjectRef(.vm, vm.name)
            let start = out.count
            defer { out.carry(.seed(vm), for: ref, from: start) }
            let want = context.options.seedInstanceIDs[vm.name]
            guard let lv = liveVolume(pool, name) else {
                if context.refusal(vm) != nil { continue }
                out.append(
                    Change(
                        ref, .create, attributes: [.init("cloud-init instance-id", before: nil, after: want ?? "(computed at apply)")],
                        reason: "cloud-init seed of \(vm.name) does not exist", steps: [.createSeed], parent: parent))
                continue
            }
            if let c = conflict(ref, lv.owner) {
                out.append(Change(c.object, c.action, reason: c.reason, steps: c.steps, parent: parent))
                continue
            }
            if let want, let have = lv.owner?.attributes["instance-id"], want != have, have != context.options.olderSeedInstanceIDs[vm.name]
            {
                out.append(
                    Change(
                        ref, .replace, attributes: [.init("cloud-init instance-id", before: have, after: want)],
                        reason: "the cloud-init documents changed: the seed is rebuilt and cloud-init runs again at the next boot",
                        steps: [.deleteVolume, .createSeed], parent: parent))
            }
        }
        // Ignition configs: uploaded as they are, rebuilt whenever the file changes.
        for vm in settledVMs {
            guard let (pool, name) = vm.ignitionVolume else { continue }
            seeds.insert("\(pool)/\(name)")
            let ref = ObjectRef(.volume, "\(pool)/\(name)")
            let parent = ObjectRef(.vm, vm.name)
            let start = out.count
            defer { out.carry(.ignition(vm), for: ref, from: start) }
            let want = context.options.ignitionDigests[vm.name]
            guard let lv = liveVolume(pool, name) else {
                if context.refusal(vm) != nil { continue }  // nothing of a VM preflight refuses is made
                out.append(
                    Change(
                        ref, .create, attributes: [.init("ignition config", before: nil, after: want ?? "(read at apply)")],
                        reason: "Ignition config of \(vm.name) does not exist (passed through fw_cfg; Ignition reads it at first boot)",
                        steps: [.createIgnition], parent: parent))
                continue
            }
            if let c = conflict(ref, lv.owner) {
                out.append(Change(c.object, c.action, reason: c.reason, steps: c.steps, parent: parent))
                continue
            }
            if let want, let have = lv.owner?.attributes["digest"], want != have {
                out.append(
                    Change(
                        ref, .replace, attributes: [.init("ignition config", before: have, after: want)],
                        reason: "the Ignition config changed: its volume is uploaded again", steps: [.deleteVolume, .createIgnition],
                        parent: parent))
            }
        }
        // Disks fleet created that are no longer declared (their VM or disk was removed, or the VM moved away).
        let desiredNames = Set(desired.map { "\($0.disk.pool)/\($0.name)" }).union(seeds)
        let outgoing = outgoingMigrations
        let refused = refusedOutgoingMoves
        for lv in live.volumes
        where lv.owner?.kind == .volume && context.owns(lv.owner) && !desiredNames.contains("\(lv.pool)/\(lv.name)")
            && !leavesByMigration(lv, outgoing) && !staysWithRefusedMove(lv, refused) && backsDiskElsewhere(lv) == nil
        {
            let role = lv.owner?.attributes["role"]
            let seed = role == "seed" || role == "ignition"
            out.append(
                Change(
                    ObjectRef(.volume, "\(lv.pool)/\(lv.name)"), .delete,
                    attributes: [.init("capacity", before: lv.capacity.description, after: nil)],
                    reason: role == "seed"
                        ? "cloud-init seed no longer declared"
                        : role == "ignition" ? "Ignition config no longer declared" : "no longer declared; its data is lost",
                    steps: [.deleteVolume], destructive: !seed,
                    parent: lv.owner.map { ObjectRef(.vm, $0.attributes["vm"] ?? $0.name) }))
        }
        return out
    }

    /// A disk grows in place. What reaches the guest's filesystem is said here, and is what apply does: on a
    /// running guest with the agent (`guest_agent: true`), the partition and filesystem are grown through it;
    /// otherwise the block device alone grows, and cloud-init's growpart module grows the root filesystem at the
    /// next boot (other filesystems stay as they are).
    func growth(_ dv: DesiredVolume, from: ByteSize, to size: ByteSize, ref: ObjectRef, parent: ObjectRef) -> Change {
        let dom = index.domains[dv.vm.name]
        let running = dom?.state.isActive ?? false
        // The agent's channel must be in the running guest, not only in the manifest (it is added at a boot).
        let agent = dv.vm.guestAgent == true && ((dom?.live ?? dom?.config)?.guestAgent ?? false)
        let attrs = [AttributeChange("capacity", before: from.description, after: size.description)]
        if running && agent {
            return Change(
                ref, .update, attributes: attrs,
                reason:
                    "disk grows in place (block resize on the running guest), then its partition and filesystem through the guest agent (growpart, resize2fs or xfs_growfs)",
                steps: [.resizeVolume(size), .growGuestFilesystem], parent: parent)
        }
        let reason =
            running
            ? "disk grows in place (block resize on the running guest); without the guest agent (guest_agent: true, in the running guest) the filesystem grows at the next boot (cloud-init growpart), or by hand"
            : "disk grows in place; the guest's filesystem grows at its next boot (cloud-init growpart), or by hand"
        return Change(ref, .update, attributes: attrs, reason: reason, steps: [.resizeVolume(size)], parent: parent)
    }

    /// The digest the image work records on a VM's customized system disk. The planner cannot read
    /// secrets or files, so the caller computes it (FleetImages) and passes it in the options.
    func customizationDigest(_ vm: VMSpec) -> String? { context.options.customizationDigests[vm.name] }

    /// Said when a customization digest was recorded with another fleet key than the one in use (the `.k<id>`
    /// suffix of `CustomizationInputs.digest`): most likely `.fleet-key` is missing or was replaced, and the
    /// password did not change at all.
    static func keyNote(have: String, want: String) -> String {
        func keyID(_ d: String) -> String? {
            guard let dot = d.lastIndex(of: "."), d[d.index(after: dot)...].hasPrefix("k") else { return nil }
            return String(d[d.index(dot, offsetBy: 2)...])
        }
        guard let recorded = keyID(have), keyID(want) != recorded else { return "" }
        return "; the disk was customized with fleet key \(recorded), the key in use is \(keyID(want) ?? "absent")"
            + " (restore that .fleet-key unless the password really changed)"
    }
}
