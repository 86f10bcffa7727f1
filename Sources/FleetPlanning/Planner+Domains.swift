import FleetModel

/// Domains: create, compare attribute by attribute (live, restart, refused), moves between hosts, deletion.
extension HostPlanner {

    func domains() -> [Change] {
        var out: [Change] = []
        for vm in vms {
            let ref = ObjectRef(.vm, vm.name)
            let start = out.count
            defer { out.carry(.vm(vm), for: ref, from: start) }
            if let why = context.refusal(vm) {
                out.append(Change(ref, .refused, reason: why))
                continue
            }
            if let dom = index.domains[vm.name] {
                if let c = conflict(ref, dom.owner) {
                    out.append(c)
                    if c.action == .refused { continue }
                }
                out += compare(vm, dom)
                continue
            }
            if let (from, dom) = context.ownedDomainHost[vm.name], from != host.name {
                out += move(vm, dom, from: from)
                continue
            }
            out += create(vm)
        }
        // Domains this fleet owns that are no longer declared here (deleted, or moved to another host).
        let declaredHere = Set(vms.map(\.name))
        lazy var leaving = volumesLeaving
        for dom in live.domains where context.owns(dom.owner) && !declaredHere.contains(dom.name) {
            let ref = ObjectRef(.vm, dom.name)
            if let target = context.vmByName[dom.name], target.host != host.name {
                // A migration removes the domain from this host itself; a refused move leaves it here.
                // Only a recreation on the new host (PCI passthrough) deletes it here.
                if !hostBound(dom, target).isEmpty && target.onHostChange == .recreate && droppedByRecreation(dom, target).isEmpty {
                    out.append(
                        Change(
                            ref, .delete, reason: "recreated on \(target.host) (on_host_change: recreate)",
                            steps: [.undefineDomain], destructive: true))
                }
                continue
            }
            // Forced off when its disks are deleted in this plan too (nothing of the guest survives to be shut
            // down cleanly); a guest with a disk that stays (not fleet's, or kept) gets a graceful shutdown first.
            let survives =
                dom.state.isActive
                && dom.config.disks.contains { d in
                    d.device == .disk && !(d.pool.flatMap { p in d.volume.map { leaving.contains("\(p)/\($0)") } } ?? false)
                }
            out.append(
                Change(
                    ref, .delete, attributes: [.init("state", before: dom.state.rawValue, after: nil)],
                    reason: survives ? "no longer declared; shut down first: a disk of it stays" : "no longer declared",
                    steps: survives ? [.stopDomain, .undefineDomain] : [.undefineDomain], destructive: true))
        }
        return out
    }

    /// The hostdevs that tie the domain to its host (libvirt refuses to migrate or memory-snapshot it with any of
    /// them, docs/planning.md): those of its persistent and running definitions, including the PCI function of an
    /// `<interface type='hostdev'>` (libvirt keeps it among the domain's hostdevs), and the PCI devices the manifest adds.
    func hostBound(_ dom: LiveDomain?, _ vm: VMSpec) -> [LiveHostdev] {
        var out: [LiveHostdev] = []
        let configs = [dom?.config, dom?.live].compactMap { $0 }
        let nics = configs.flatMap(\.nics).compactMap { n -> LiveHostdev? in
            guard case .hostdev(let addr) = n.source else { return nil }
            return LiveHostdev(type: addr.hasPrefix("usb ") ? "usb" : "pci", source: addr)
        }
        for h in configs.flatMap(\.hostDevices) + nics + vm.hostdevs.map(\.kind.hostdev)
        where h.bindsToHost && !out.contains(where: { $0.type == h.type && $0.source == h.source }) {
            out.append(h)
        }
        return out
    }

    /// `PCI passthrough (pci 0000:00:00.0)`, `hostdevs (scsi scsi_host0 0:0:0, mdev …)`.
    func boundText(_ b: [LiveHostdev]) -> String {
        if b.allSatisfy({ $0.type == "pci" && $0.mode == "subsystem" }) {
            return "PCI passthrough (\(b.map(\.description).joined(separator: ", ")))"
        }
        return "host-bound hostdevs (\(b.map(\.description).joined(separator: ", ")))"
    }

    func create(_ vm: VMSpec) -> [Change] {
        let ref = ObjectRef(.vm, vm.name)
        var steps: [Step] = [.defineDomain]
        if vm.autostart == true { steps.append(.setAutostart(true)) }
        var attrs: [AttributeChange] = [
            .init("vcpus", before: nil, after: vcpuText(vm.vcpus, vm.maxVcpus)),
            .init("memory", before: nil, after: memText(vm.memory, vm.maxMemory))
        ]
        for (i, d) in vm.disks.enumerated() {
            attrs.append(.init("disk \(i)", before: nil, after: "\(d.pool)/\(d.volumeName(vm: vm.name))"))
        }
        for n in vm.networks { attrs.append(.init("nic \(n.mac)", before: nil, after: "\(n.network) \(n.model.rawValue)")) }
        if let g = vm.graphics { attrs.append(.init("graphics", before: nil, after: graphicsText(g))) }
        if vm.guestAgent == true { attrs.append(.init("guest_agent", before: nil, after: "true")) }
        if vm.firmware == .uefi, vm.secureBoot != nil || vm.enrolledKeys != nil {
            attrs.append(.init("firmware", before: nil, after: firmwareText(vm)))
        }
        if let t = vm.tpm { attrs.append(.init("tpm", before: nil, after: t.description)) }
        if vm.graphics?.password != nil { attrs.append(.init("graphics.password", before: nil, after: "set", sensitive: true)) }
        for d in vm.hostdevs { attrs.append(.init("hostdev \(d.name)", before: nil, after: describe(d.kind))) }
        attrs += (vm.shares ?? []).map { .init("share \($0.target)", before: nil, after: shareText($0)) }
        if vm.needsSharedMemory { attrs.append(.init("memory_backing", before: nil, after: sharedMemoryText)) }
        if vm.ignition != nil { attrs.append(.init("ignition", before: nil, after: "fw_cfg \(IgnitionSpec.fwcfgName)")) }
        var out = [Change(ref, .create, attributes: attrs, reason: "VM does not exist", steps: steps)]
        if vm.state == .running {
            out.append(
                Change(
                    ref, .start, attributes: [.init("state", before: nil, after: "running")], reason: "state: running",
                    steps: [.startDomain]))
        }
        out += snapshotChanges(vm, existing: [], bound: hostBound(nil, vm))
        return out
    }

    /// What recreating `dom` from the manifest would lose: devices fleet does not manage, and disks that are no
    /// pool volume. The one rule for both hosts of a move (the new host's create, the old host's delete).
    /// A TPM the manifest declares is rendered again (its state, like the disks, starts afresh).
    func droppedByRecreation(_ dom: LiveDomain, _ vm: VMSpec) -> [String] {
        dom.config.unmanagedDevices.filter { !($0.hasPrefix("tpm") && vm.tpm != nil) }
            + dom.config.disks.filter { $0.pool == nil && $0.device == .disk }.map {
                "disk \($0.target) (\($0.path ?? "not a pool volume"))"
            }
    }

    func move(_ vm: VMSpec, _ dom: LiveDomain, from: String) -> [Change] {
        let ref = ObjectRef(.vm, vm.name)
        let bound = hostBound(dom, vm)
        if !bound.isEmpty {
            if vm.onHostChange == .recreate {
                // A recreation renders the domain afresh: what fleet does not manage would be gone. Never silently.
                let dropped = droppedByRecreation(dom, vm)
                if !dropped.isEmpty {
                    return [
                        Change(
                            ref, .refused,
                            attributes: [.init("host", before: from, after: host.name)]
                                + dropped.map { AttributeChange("drops", before: $0, after: nil) },
                            reason:
                                "recreating \(vm.name) on \(host.name) would drop what fleet does not manage (\(dropped.joined(separator: ", "))); "
                                + "remove those devices from the domain first, or move it by hand")
                    ]
                }
                var out = create(vm)
                out[0].reason = "moves from \(from) by recreation with fresh disks (\(boundText(bound)) cannot migrate)"
                out[0].destructive = true
                out[0].action = .replace
                return out
            }
            return [
                Change(
                    ref, .refused, attributes: [.init("host", before: from, after: host.name)],
                    reason:
                        "cannot migrate a domain with \(boundText(bound)) (libvirt: \"cannot migrate a domain with <hostdev mode='\(bound[0].mode)'\(bound[0].mode == "subsystem" ? " type='\(bound[0].type)'" : "")>\"); set on_host_change: recreate to recreate it on \(host.name) with fresh disks"
                )
            ]
        }
        if !dom.snapshots.isEmpty {
            return [
                Change(
                    ref, .refused, attributes: [.init("host", before: from, after: host.name)],
                    reason:
                        "libvirt cannot migrate a domain that has snapshots (\(dom.snapshots.map(\.name).joined(separator: ", "))); delete them first"
                )
            ]
        }
        let running = dom.state.isActive
        let disks = moveAttributes(vm, from: from, live: running)
        return [
            Change(
                ref, .migrate, attributes: [.init("host", before: from, after: host.name)] + disks.attrs,
                reason: moveReason(vm, from: from, live: running, copied: disks.copied, shared: disks.shared),
                steps: [.migrate(toHost: host.name, live: running)])
        ]
    }

    func compare(_ vm: VMSpec, _ dom: LiveDomain) -> [Change] {
        let ref = ObjectRef(.vm, vm.name)
        let cfg = dom.config
        let running = dom.state.isActive
        let liveCfg = running ? dom.live : nil
        var restartAttrs: [AttributeChange] = []
        var liveAttrs: [AttributeChange] = []
        var liveSteps: [Step] = []
        var configOnly = false

        // Maxima are fixed for the life of the QEMU process.
        let maxVcpus = vm.maxVcpus ?? cfg.maxVcpus
        if let m = vm.maxVcpus, m != cfg.maxVcpus {
            restartAttrs.append(.init("max_vcpus", before: String(cfg.maxVcpus), after: String(m)))
        }
        if vm.vcpus != cfg.vcpus || (liveCfg.map { $0.vcpus != vm.vcpus } ?? false) {
            let before =
                liveCfg.map { $0.vcpus != cfg.vcpus ? "\(cfg.vcpus) (running: \($0.vcpus))" : String(cfg.vcpus) } ?? String(cfg.vcpus)
            let attr = AttributeChange("vcpus", before: before, after: String(vm.vcpus))
            // vCPUs hot-plug, but unplugging needs guest cooperation QEMU's default CPU models lack
            // ("device unplug request for not supported device type"): fewer vCPUs wait for a restart.
            let unplug = liveCfg.map { vm.vcpus < $0.vcpus } ?? false
            if !unplug && vm.vcpus <= maxVcpus && vm.vcpus <= (liveCfg?.maxVcpus ?? maxVcpus) {
                liveAttrs.append(attr)
                liveSteps.append(.setVcpus(vm.vcpus, live: running))
            } else {
                restartAttrs.append(attr)
            }
        }
        let maxMemory = vm.maxMemory ?? cfg.maxMemory
        if let m = vm.maxMemory, m != cfg.maxMemory {
            restartAttrs.append(.init("max_memory", before: cfg.maxMemory.description, after: m.description))
        }
        // The live figure is the balloon's actual size. A guest without a balloon driver stays at the
        // boot maximum whatever the target, so only a figure that is neither the configured nor the
        // maximum memory says someone ballooned it (virsh setmem --live).
        let liveMemoryDrifted = liveCfg.map { $0.memory != vm.memory && $0.memory != cfg.memory && $0.memory != $0.maxMemory } ?? false
        if vm.memory != cfg.memory || liveMemoryDrifted {
            let before = liveMemoryDrifted ? "\(cfg.memory) (running: \(liveCfg!.memory))" : cfg.memory.description
            let attr = AttributeChange("memory", before: before, after: vm.memory.description)
            if vm.memory <= maxMemory && vm.memory <= (liveCfg?.maxMemory ?? maxMemory) {
                liveAttrs.append(attr)
                liveSteps.append(.setMemory(vm.memory, live: running))
            } else {
                restartAttrs.append(attr)
            }
        }
        // Firmware and TPM are devices of the QEMU process: any change waits for a restart. Only what the
        // manifest names is compared (libvirt fills in the rest: the loader, the NVRAM file, SMM).
        if let f = vm.firmware, f != (cfg.firmware ?? .bios) {
            restartAttrs.append(.init("firmware", before: (cfg.firmware ?? .bios).rawValue, after: f.rawValue))
        }
        if vm.firmware == .uefi {
            if let sb = vm.secureBoot, sb != cfg.secureBoot {
                restartAttrs.append(.init("firmware.secure_boot", before: cfg.secureBoot.map { String($0) }, after: String(sb)))
            }
            if let k = vm.enrolledKeys, k != cfg.enrolledKeys {
                restartAttrs.append(.init("firmware.enrolled_keys", before: cfg.enrolledKeys.map { String($0) }, after: String(k)))
            }
            // Secure-boot firmware needs SMM to guard its variables; the define turns it on.
            if vm.secureBoot == true, !cfg.smm { restartAttrs.append(.init("firmware.smm", before: "off", after: "on")) }
        }
        if let t = vm.tpm, !(cfg.tpm?.matches(t) ?? false) {
            restartAttrs.append(.init("tpm", before: cfg.tpm?.description, after: t.description))
        }
        if cfg.virtType != "test", vm.virtType.rawValue != cfg.virtType {
            restartAttrs.append(.init("virt_type", before: cfg.virtType, after: vm.virtType.rawValue))
        }
        if let m = vm.machine, !MachineType.matches(desired: m, live: cfg.machine) {
            restartAttrs.append(.init("machine", before: cfg.machine, after: m))
        }
        // The agent's virtio-serial port is defined with the domain; fleet applies it at the next boot.
        if let a = vm.guestAgent, a != cfg.guestAgent {
            restartAttrs.append(.init("guest_agent", before: String(cfg.guestAgent), after: String(a)))
        }
        if let g = vm.graphics {
            // Graphics are matched by type (as the patch does): a domain with SPICE and VNC keeps both.
            let have = cfg.graphics.first { $0.type == g.type.rawValue } ?? cfg.graphics.first
            if have?.type != g.type.rawValue || have?.listen != g.listen || (g.port != nil && have?.port != g.port) {
                restartAttrs.append(.init("graphics", before: have.map(graphicsText), after: graphicsText(g)))
            }
            if g.password != nil && have?.hasPassword != true {
                restartAttrs.append(.init("graphics.password", before: nil, after: "set", sensitive: true))
            } else if g.password != nil, let want = context.options.graphicsPasswordDigests[vm.name],
                let haveDigest = have?.passwordDigest, want != haveDigest
            {
                restartAttrs.append(.init("graphics.password", before: "set", after: "changed", sensitive: true))
            }
        }
        // Passthrough devices: USB hotplugs, PCI needs a restart (and is never hotplugged by fleet).
        let want = vm.hostdevs.map(\.kind)
        let have = cfg.hostdevs
        for d in vm.hostdevs where !have.contains(d.kind) {
            let (k, a) = (d.kind, AttributeChange("hostdev \(d.name)", before: nil, after: describe(d.kind)))
            if k.isPCI {
                restartAttrs.append(a)
            } else {
                liveAttrs.append(a)
                liveSteps.append(.attachHostdev(k, live: running))
            }
        }
        // Only devices this fleet declares are its to detach (DeviceOwnership).
        for k in have where !want.contains(k) && DeviceOwnership.isDeclaredDevice(k, in: fleet) {
            let a = AttributeChange("hostdev \(deviceName(k))", before: describe(k), after: nil)
            if k.isPCI {
                restartAttrs.append(a)
            } else {
                liveAttrs.append(a)
                liveSteps.append(.detachHostdev(k, live: running))
            }
        }
        // NICs, matched by MAC (stable: fleet derives it from the VM and NIC position).
        let haveNICs = Dictionary(cfg.nics.compactMap { n in n.mac.map { ($0, n) } }, uniquingKeysWith: { a, _ in a })
        for nic in vm.networks {
            guard let h = haveNICs[nic.mac] else {
                liveAttrs.append(.init("nic \(nic.mac)", before: nil, after: "\(nic.network) \(nic.model.rawValue)"))
                liveSteps.append(.attachInterface(nic.mac, live: running))
                continue
            }
            if h.source != .network(nic.network) {
                liveAttrs.append(.init("nic \(nic.mac)", before: sourceText(h.source), after: nic.network))
                liveSteps.append(.detachInterface(nic.mac, live: running))
                liveSteps.append(.attachInterface(nic.mac, live: running))
            } else if let m = h.model, m != nic.model.rawValue {
                restartAttrs.append(.init("nic \(nic.mac).model", before: m, after: nic.model.rawValue))
            }
        }
        for h in cfg.nics {
            guard let mac = h.mac, !vm.networks.contains(where: { $0.mac == mac }),
                DeviceOwnership.isDerivedMAC(mac, fleet: fleet.name, vm: vm.name)
            else { continue }
            liveAttrs.append(.init("nic \(mac)", before: sourceText(h.source), after: nil))
            liveSteps.append(.detachInterface(mac, live: running))
        }
        // Disks, matched by pool volume.
        let seed = vm.seedVolume?.name ?? ""
        let haveDisks = cfg.disks.filter { $0.device == .disk && $0.volume != seed }
        for (i, d) in vm.disks.enumerated() {
            let vol = d.volumeName(vm: vm.name)
            guard let h = haveDisks.first(where: { $0.pool == d.pool && $0.volume == vol }) else {
                let a = AttributeChange("disk \(i)", before: nil, after: "\(d.pool)/\(vol)")
                if i == 0 {
                    restartAttrs.append(a)
                } else {
                    liveAttrs.append(a)
                    liveSteps.append(.attachDisk(name: d.name, live: running))
                }
                continue
            }
            if let b = h.bus, b != d.bus { restartAttrs.append(.init("disk \(i).bus", before: b.rawValue, after: d.bus.rawValue)) }
            if let f = h.format, f != d.format {
                restartAttrs.append(.init("disk \(i).format", before: f.rawValue, after: d.format.rawValue))
            }
        }
        // Only a disk on a volume this fleet owns is ever removed; any other disk (a file, a device, another
        // tool's volume) is not fleet's to take away, and an update keeps it (docs/planning.md, the patch rule).
        for h in haveDisks where !vm.disks.contains(where: { $0.pool == h.pool && $0.volumeName(vm: vm.name) == h.volume }) {
            guard let p = h.pool, let v = h.volume, let lv = liveVolume(p, v), lv.owner?.kind == .volume, context.owns(lv.owner) else {
                continue
            }
            restartAttrs.append(.init("disk \(h.target)", before: h.sourceText, after: nil))
        }
        let haveCdrom = cfg.disks.first { $0.device == .cdrom && $0.volume != seed }
        if let c = vm.cdrom, haveCdrom?.path != c {
            restartAttrs.append(.init("cdrom", before: haveCdrom?.path, after: c))
        }
        restartAttrs += compareShares(vm, cfg)
        if vm.ignition != nil && cfg.ignitionFile == nil {
            restartAttrs.append(.init("ignition", before: nil, after: "fw_cfg \(IgnitionSpec.fwcfgName)"))
        } else if vm.ignition == nil, let f = cfg.ignitionFile, vm.isOwnIgnitionFile(f) {
            restartAttrs.append(.init("ignition", before: "fw_cfg \(IgnitionSpec.fwcfgName)", after: nil))
        }
        if let d = vm.description, d != (cfg.description ?? "") {
            liveAttrs.append(.init("description", before: cfg.description, after: d))
            configOnly = true
        }
        if let a = vm.autostart, a != dom.autostart {
            liveAttrs.append(.init("autostart", before: String(dom.autostart), after: String(a)))
            liveSteps.append(.setAutostart(a))
        }

        var out: [Change] = []
        if !restartAttrs.isEmpty {
            var steps: [Step] = [.defineDomain]
            steps += liveSteps.filter(\.isHotplug)
            steps += liveSteps.filter { !$0.isHotplug }
            if running {
                steps.append(.restartDomain)
                out.append(
                    Change(
                        ref, .updateRestart, attributes: liveAttrs + restartAttrs,
                        reason:
                            "takes effect at the next boot: \(restartAttrs.map(\.name).joined(separator: ", ")); apply restarts the guest only with --allow-restart",
                        steps: steps))
            } else {
                out.append(
                    Change(
                        ref, .update, attributes: liveAttrs + restartAttrs,
                        reason: "the VM is stopped: the new definition applies at its next start", steps: steps))
            }
        } else if !liveAttrs.isEmpty {
            var steps = liveSteps
            if configOnly { steps.insert(.defineDomain, at: 0) }
            out.append(
                Change(
                    ref, .update, attributes: liveAttrs,
                    reason: running ? "applied to the running guest and its config, no restart" : "applied to the config",
                    steps: steps))
        }
        switch (vm.state, running) {
        case (.running, false):
            out.append(
                Change(
                    ref, .start, attributes: [.init("state", before: dom.state.rawValue, after: "running")], reason: "state: running",
                    steps: [.startDomain]))
        case (.stopped, true):
            out.append(
                Change(
                    ref, .stop, attributes: [.init("state", before: dom.state.rawValue, after: "stopped")],
                    reason: "state: stopped (graceful shutdown, forced after a timeout)", steps: [.stopDomain]))
        default: break
        }
        out += snapshotChanges(vm, existing: dom.snapshots, bound: hostBound(dom, vm))
        return out
    }

    /// `/srv/data (virtiofs)`, `/srv/ro (9p, read-only)`.
    func shareText(_ s: ShareSpec) -> String { "\(s.source) (\(s.mode.rawValue)\(s.readonly ? ", read-only" : ""))" }

    /// What the plan says of the memory backing virtiofs needs.
    var sharedMemoryText: String { "memfd, shared (virtiofs needs guest memory shared with virtiofsd)" }

    /// Shares by mount tag. fleet applies them at the next boot: libvirt 9.0 hot-plugs virtiofs only into a
    /// guest whose memory is already shared, and 9p not at all; one rule for both keeps plans predictable.
    func compareShares(_ vm: VMSpec, _ cfg: DomainConfig) -> [AttributeChange] {
        guard let shares = vm.shares else { return [] }
        var out: [AttributeChange] = []
        for s in shares {
            let have = cfg.shares.first { $0.target == s.target }
            if have != s { out.append(.init("share \(s.target)", before: have.map(shareText), after: shareText(s))) }
        }
        for h in cfg.shares where !shares.contains(where: { $0.target == h.target }) {
            out.append(.init("share \(h.target)", before: shareText(h), after: nil))
        }
        if vm.needsSharedMemory && !cfg.sharedMemory {
            out.append(.init("memory_backing", before: "private", after: sharedMemoryText))
        }
        return out
    }
}
