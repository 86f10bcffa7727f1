import FleetModel

/// What one host's preflight found: the VMs fleet will not create, start or change there, and the risks that
/// do not block. docs/planning.md, "Preflight".
public struct PreflightResult: Hashable, Sendable {
    /// Per VM name: why it is refused and how to fix it (`…; fix: …`).
    public var refusals: [String: String] = [:]
    /// Risks that do not block, one sentence each (thin volumes that may outgrow their pool, …).
    public var warnings: [String] = []
    public init(refusals: [String: String] = [:], warnings: [String] = []) {
        self.refusals = refusals
        self.warnings = warnings
    }
}

/// Preflight checks: what a host must have before the plan's VMs can be made and run there, checked against the
/// facts the live-state reader gathered from libvirt (node info and free memory, pool info and `<permissions>`,
/// the capabilities' IOMMU and DAC label, node devices). Pure, and the one home of each of these rules: the planner
/// turns each refusal into the VM's `refused` change (nothing of the VM is made) and prints the warnings.
public enum Preflight {
    /// Drivers that leave a PCI function free for passthrough, or that belong to a bridge, which an IOMMU group may
    /// hold without harm (libvirt's virPCIDeviceIsAssignable and the kernel's vfio group viability).
    static let passthroughDrivers: Set<String> = ["vfio-pci", "pci-stub", "pcieport"]

    /// - Parameters:
    ///   - vms: the VMs declared on this host, in any order (checked in name order).
    ///   - images: the fleet's images by name (for a full copy's size).
    ///   - arriving: VMs whose domain this fleet owns on another host (a move brings their disks along).
    public static func check(
        host: String, vms: [VMSpec], images: [String: ImageSpec], live: LiveHost, arriving: Set<String> = []
    )
        -> PreflightResult
    {
        var reasons: [String: [String]] = [:]
        var warnings: [String] = []
        let domains = Dictionary(live.domains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let volumes = Set(live.volumes.map { "\($0.pool)/\($0.name)" })
        let volumeByName = Dictionary(live.volumes.map { ("\($0.pool)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        let pools = Dictionary(live.pools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let sorted = vms.sorted { $0.name < $1.name }

        for vm in sorted {
            let dom = domains[vm.name]
            let active = dom?.state.isActive ?? false
            let willRun = vm.state == .running
            var why: [String] = []
            why += devices(vm, host: host, live: live, starting: willRun && !active)
            // A running guest keeps what it has: only a start, or a change that grows it, is checked.
            let current = dom.map { ($0.live ?? $0.config) }
            if willRun, let info = live.info {
                if vm.memory > info.memory && (!active || vm.memory.bytes > (current?.memory.bytes ?? 0)) {
                    why.append(
                        "\(vm.name) asks for \(Self.size(vm.memory)) of memory and host \(host) has \(Self.size(info.memory)) in all (virNodeGetInfo); "
                            + "fix: lower its memory:, or declare it on a host with more memory")
                }
                if vm.vcpus > info.cpus && (!active || vm.vcpus > (current?.vcpus ?? 0)) {
                    why.append(
                        "\(vm.name) asks for \(vm.vcpus) vCPUs and host \(host) has \(info.cpus) CPUs (virNodeGetInfo); "
                            + "fix: lower its vcpus: to at most \(info.cpus), or declare it on a bigger host")
                }
            }
            // QEMU must reach the disks: the pools of its disks (and of the images its overlays read) are checked
            // for every VM that is not running now and would run.
            if willRun && !active, let user = live.facts.qemuUser {
                var checked: Set<String> = []
                let poolNames = vm.disks.map(\.pool) + vm.disks.compactMap { $0.image.flatMap { images[$0]?.pool } }
                for name in poolNames where checked.insert(name).inserted {
                    guard let pool = pools[name], let perms = pool.permissions, let path = pool.spec.path else { continue }
                    switch reachable(perms, by: user) {
                    case true?: break
                    case false?:
                        why.append(
                            "pool \(name)'s directory \(path) is \(perms.description) and QEMU runs as \(user.uid):\(user.gid) "
                                + "(libvirt's DAC label): it cannot enter it to open the disks of \(vm.name); "
                                + "fix: chmod o+x \(path) (or chown it to \(user.uid)), or use a pool in another directory")
                    case nil:
                        warnings.append(
                            "pool \(name)'s directory \(path) is \(perms.description): QEMU (\(user.uid):\(user.gid)) enters it "
                                + "only if group \(perms.group) is one of its groups")
                    }
                }
            }
            if !why.isEmpty { reasons[vm.name] = why }
        }

        // Memory: what the VMs this plan starts, or grows while running, take from what the host has free now.
        // Admitted in name order; the first that does not fit, and every later one that does not, is refused.
        if let free = live.facts.freeMemory {
            var used: UInt64 = 0
            for vm in sorted where vm.state == .running && reasons[vm.name] == nil {
                let dom = domains[vm.name]
                let now = dom.flatMap { $0.state.isActive ? ($0.live ?? $0.config).memory.bytes : nil } ?? 0
                guard vm.memory.bytes > now else { continue }
                let need = vm.memory.bytes - now
                if used + need > free.bytes {
                    reasons[vm.name] = [
                        "host \(host) has \(Self.size(free)) of memory free (virNodeGetFreeMemory) and "
                            + (used > 0
                                ? "the VMs this plan starts or grows before \(vm.name) take \(Self.size(ByteSize(bytes: used))); " : "")
                            + "\(vm.name) needs \(Self.size(ByteSize(bytes: need))) more; "
                            + "fix: free memory on \(host), lower memory:, or declare the VM stopped or on another host"
                    ]
                } else {
                    used += need
                }
            }
        }

        // Pool space: the new volumes of the VMs not refused, against each pool's available space. Full copies
        // take their whole capacity at once (refused when they do not fit); overlays and blank disks are thin and
        // grow later (a warning).
        var full: [String: UInt64] = [:]
        var thin: [String: UInt64] = [:]
        for vm in sorted where reasons[vm.name] == nil && !arriving.contains(vm.name) {
            for d in vm.disks where !volumes.contains("\(d.pool)/\(d.volumeName(vm: vm.name))") {
                guard let pool = pools[d.pool], pool.active else { continue }
                let image = d.image.flatMap { images[$0] }
                let imageVolume = image.flatMap { volumeByName["\($0.pool)/\($0.volumeName)"] }
                guard let size = (d.size ?? imageVolume?.capacity)?.bytes else { continue }
                if image != nil && d.clone == .full {
                    let after = full[d.pool, default: 0] + size
                    if after > pool.available.bytes {
                        reasons[vm.name, default: []].append(
                            "pool \(d.pool) on \(host) has \(Self.size(pool.available)) available (pool info) and the full copy "
                                + "\(d.volumeName(vm: vm.name)) needs \(Self.size(ByteSize(bytes: size)))"
                                + (after > size ? " after the full copies before it (\(Self.size(ByteSize(bytes: after - size))))" : "")
                                + "; fix: free space in \(d.pool), use clone: overlay, or put the disk in another pool")
                        break
                    }
                    full[d.pool] = after
                } else {
                    thin[d.pool, default: 0] += size
                }
            }
        }
        for (name, t) in thin.sorted(by: { $0.key < $1.key }) {
            guard let pool = pools[name] else { continue }
            let total = t + full[name, default: 0]
            if total > pool.available.bytes {
                warnings.append(
                    "pool \(name): the new thin volumes may grow to \(Self.size(ByteSize(bytes: t)))"
                        + (full[name].map { " beside \(Self.size(ByteSize(bytes: $0))) of full copies" } ?? "")
                        + " and the pool has \(Self.size(pool.available)) available")
            }
        }
        return PreflightResult(refusals: reasons.mapValues { $0.joined(separator: "; ") }, warnings: warnings)
    }

    /// Whether a process running as `user` may enter (search) a directory: true, false, or nil when it depends on
    /// supplementary groups, which libvirt does not report.
    public static func reachable(_ p: PathPermissions, by user: ProcessLabel) -> Bool? {
        if user.uid == 0 { return true }
        if p.owner == user.uid { return p.mode & 0o100 != 0 }
        if p.group == user.gid { return p.mode & 0o010 != 0 }
        if p.mode & 0o001 != 0 { return true }
        return p.mode & 0o010 != 0 ? nil : false
    }

    /// Passthrough preconditions of the VM's devices: present on the host (node devices); for PCI, when the VM is to
    /// start (defining a domain needs none of it; a running one passed them when it started), the IOMMU on, the
    /// function in an IOMMU group whose other members are free for passthrough too, and no other running domain
    /// holding it.
    static func devices(_ vm: VMSpec, host: String, live: LiveHost, starting: Bool) -> [String] {
        var out: [String] = []
        let declared = Set(vm.hostdevs.compactMap { d -> PCIAddress? in if case .pci(let a) = d.kind { return a } else { return nil } })
        for d in vm.hostdevs {
            if let present = live.nodeDevices, !present.contains(where: { same($0, d.kind) }) {
                out.append("device \(d.name) (\(d.kind)) is not present on host \(host)")
                continue
            }
            guard case .pci(let address) = d.kind, starting else { continue }
            let fix = "fix: enable VT-d or AMD-Vi in the host's firmware and boot it with intel_iommu=on or amd_iommu=on"
            if live.facts.iommu == false {
                out.append(
                    "device \(d.name) (\(d.kind)): the IOMMU is off on host \(host) (libvirt's capabilities: <iommu support='no'/>), "
                        + "so PCI passthrough cannot work; \(fix)")
                continue
            }
            if let pci = live.facts.pciDevices?.first(where: { $0.address == address }) {
                guard let group = pci.iommuGroup else {
                    out.append("device \(d.name) (\(d.kind)) is in no IOMMU group on host \(host) (node device XML); \(fix)")
                    continue
                }
                let others = pci.iommuGroupMembers.filter { $0 != address && !declared.contains($0) }.compactMap { a in
                    live.facts.pciDevices?.first { $0.address == a }
                }.filter { o in o.driver.map { !passthroughDrivers.contains($0) } ?? false }
                if !others.isEmpty {
                    let names = others.map { "\($0.address) (bound to \($0.driver ?? "-"))" }.joined(separator: ", ")
                    out.append(
                        "device \(d.name) (\(d.kind)): its IOMMU group \(group) is not viable: it also holds \(names), "
                            + "which the host keeps; fix: pass every function of group \(group) to \(vm.name), or bind them to vfio-pci")
                }
            }
            for other in live.domains where other.name != vm.name && other.state.isActive {
                let devices = (other.live ?? other.config).hostDevices
                if devices.contains(where: { $0.type == "pci" && $0.source == address.description }) {
                    out.append(
                        "device \(d.name) (\(d.kind)) is held by running domain \(other.name) on host \(host); "
                            + "fix: detach it from \(other.name) first, or pass another device")
                }
            }
        }
        return out
    }

    /// A size as the refusals print it: exact when a binary unit divides it (`16GiB`), else to a tenth of a GiB or
    /// MiB (`13.5GiB`): free memory and pool space are rarely round.
    static func size(_ b: ByteSize) -> String {
        let d = b.description
        if d.hasSuffix("TiB") || d.hasSuffix("GiB") || d.hasSuffix("MiB") { return d }
        let (unit, factor): (String, UInt64) = b.bytes >= 1 << 30 ? ("GiB", 1 << 30) : ("MiB", 1 << 20)
        let tenths = b.bytes * 10 / factor
        return "\(tenths / 10).\(tenths % 10)\(unit)"
    }

    static func same(_ a: DeviceKind, _ b: DeviceKind) -> Bool {
        switch (a, b) {
        case (.pci(let x), .pci(let y)): return x == y
        case (.usb(let v1, let p1), .usb(let v2, let p2)): return v1 == v2 && p1 == p2
        default: return false
        }
    }
}
