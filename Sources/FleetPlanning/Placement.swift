import FleetModel

/// Where placement put one VM declared with `host: auto` or `hosts:`, and why (docs/planning.md, "Placement").
public struct PlacementDecision: Hashable, Codable, Sendable {
    public enum Outcome: String, Hashable, Codable, Sendable {
        /// It exists on a candidate host, owned by this fleet, and stays there.
        case kept
        /// New: placed on `host`.
        case placed
        /// It exists on another host (no longer a candidate, or `--rebalance` chose another): it migrates to `host`.
        case moved
        /// No candidate can take it: its change is refused and nothing of it is made.
        case refused
    }
    public var vm: String
    public var group: String
    public var outcome: Outcome
    /// The chosen host; for a refusal, the host the refusal is shown on (where it is now, or the first candidate).
    public var host: String
    /// Where the VM is now, when it exists (owned by this fleet).
    public var from: String?
    /// For people: `kvm2: fewest web VMs (0), 41GiB of memory left; kvm1: 12GiB left, 1 web VM`.
    public var reason: String
    public init(vm: String, group: String, outcome: Outcome, host: String, from: String? = nil, reason: String) {
        self.vm = vm
        self.group = group
        self.outcome = outcome
        self.host = host
        self.from = from
        self.reason = reason
    }
}

/// Capacity-aware placement: a pure function of the desired fleet, the live state of every host and the flag
/// `--rebalance`. The one home of the placement rules:
///
/// - **Stable.** A VM this fleet owns on one of its candidates stays there (whatever its capacity), unless
///   `rebalance`; one on a host that is no longer a candidate moves (a migration).
/// - **Capacity.** A host takes a VM when, after everything that already is or is placed there: the memory of
///   its domains (running or not) stays within its memory × `overcommit.memory`; their vCPUs within its CPUs ×
///   `overcommit.cpu`; a VM that would start fits in the memory free now (virNodeGetFreeMemory) minus what this
///   plan starts there before it; and each new full-copy disk fits in its pool's available space.
/// - **Choice.** Among the hosts that can take it: with `spread: true` the one with the fewest VMs of its group,
///   then the host it is on (`--rebalance`), then the most memory left; without, the most memory left, then the
///   fewest of its group; then by name.
/// - **Order.** Pinned VMs the plan makes count first; then the placed VMs in name order, each one counting for
///   the ones after it. No dictionary order leaks in: the same input gives the same output.
/// - **Refusal.** A VM no candidate can take is refused, naming each candidate and what it lacks. So is a new
///   one when a candidate could not be read: it might be there already.
public enum Placement {
    /// What the placement needs to know of one host.
    struct Load {
        let name: String
        let memory: UInt64
        let cpus: Int
        /// virNodeGetFreeMemory; nil when the driver has no such fact (test:///).
        let free: UInt64?
        var allocatedMemory: UInt64 = 0
        var allocatedVcpus: Int = 0
        /// Memory of the VMs this plan starts here, taken from `free`.
        var starting: UInt64 = 0
        /// Space the plan's new full copies take from each pool.
        var poolUsed: [String: UInt64] = [:]
        var groupCount: [String: Int] = [:]
    }

    /// - Returns: the fleet with each placed VM's `host` set, and one decision per placed VM in name order.
    public static func place(
        _ fleet: Fleet, live: LiveState, rebalance: Bool = false
    ) -> (
        fleet: Fleet, decisions: [PlacementDecision]
    ) {
        guard fleet.vms.contains(where: { $0.placement != nil }) else { return (fleet, []) }
        let policy = fleet.placementPolicy ?? PlacementPolicy()
        let groupOf = Dictionary(fleet.vms.map { ($0.name, $0.group) }, uniquingKeysWith: { a, _ in a })
        let imageByName = Dictionary(fleet.images.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let readable = live.hosts.filter { $0.error == nil }.sorted { $0.name < $1.name }
        let liveByName = Dictionary(readable.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let unreadable = Set(fleet.hosts.map(\.name)).subtracting(liveByName.keys)

        // Where each VM of this fleet is now, and what every domain takes from its host.
        var owned: [String: (host: String, domain: LiveDomain)] = [:]
        var loads: [String: Load] = [:]
        for h in readable {
            guard let info = h.info else { continue }
            var load = Load(name: h.name, memory: info.memory.bytes, cpus: info.cpus, free: h.facts.freeMemory?.bytes)
            for d in h.domains {
                let c = d.state.isActive ? (d.live ?? d.config) : d.config
                load.allocatedMemory += c.memory.bytes
                load.allocatedVcpus += c.vcpus
                if d.owner?.fleet == fleet.name, let g = groupOf[d.name] { load.groupCount[g, default: 0] += 1 }
            }
            loads[h.name] = load
        }
        for h in readable {
            for d in h.domains where d.owner?.fleet == fleet.name && owned[d.name] == nil { owned[d.name] = (h.name, d) }
        }
        func exists(_ vm: String, on host: String) -> LiveDomain? {
            liveByName[host]?.domains.first { $0.name == vm }
        }

        // Pinned VMs the plan makes (or moves) count first: they go where they are declared, whatever placement says.
        for vm in fleet.vms.sorted(by: { $0.name < $1.name }) where vm.placement == nil {
            guard var load = loads[vm.host], exists(vm.name, on: vm.host) == nil else { continue }
            load.allocatedMemory += vm.memory.bytes
            load.allocatedVcpus += vm.vcpus
            if vm.state == .running { load.starting += vm.memory.bytes }
            load.groupCount[vm.group, default: 0] += 1
            loads[vm.host] = load
        }

        var out = fleet
        var decisions: [String: PlacementDecision] = [:]
        let placed = fleet.vms.filter { $0.placement != nil }.sorted { $0.name < $1.name }

        // Stable: a VM on one of its candidates stays. With --rebalance, it is placed again as if new (its
        // current host counts without it).
        for vm in placed {
            guard let now = owned[vm.name], vm.placement!.candidates.contains(now.host) else { continue }
            if rebalance {
                if var load = loads[now.host] {
                    let c = now.domain.state.isActive ? (now.domain.live ?? now.domain.config) : now.domain.config
                    load.allocatedMemory -= min(load.allocatedMemory, c.memory.bytes)
                    load.allocatedVcpus -= min(load.allocatedVcpus, c.vcpus)
                    load.groupCount[vm.group, default: 1] -= 1
                    loads[now.host] = load
                }
                continue
            }
            decisions[vm.name] = PlacementDecision(
                vm: vm.name, group: vm.group, outcome: .kept, host: now.host, from: now.host,
                reason: "exists on \(now.host), one of its candidates: placement is stable (--rebalance places it again)")
        }

        for vm in placed where decisions[vm.name] == nil {
            let p = vm.placement!
            let now = owned[vm.name]
            let fallback = now?.host ?? p.candidates.first ?? ""
            if now == nil, let down = p.candidates.first(where: { unreadable.contains($0) }) {
                decisions[vm.name] = PlacementDecision(
                    vm: vm.name, group: vm.group, outcome: .refused, host: fallback,
                    reason: "candidate host \(down) could not be read, and \(vm.name) may be there: fleet places it once every "
                        + "candidate answers; fix: bring \(down) back, or drop it from hosts:")
                continue
            }
            var fits: [(host: String, left: UInt64)] = []
            var lacks: [String] = []
            for name in p.candidates {
                guard let load = loads[name] else {
                    lacks.append("\(name): \(unreadable.contains(name) ? "could not be read" : "no node info")")
                    continue
                }
                switch check(
                    vm, load, policy: policy, running: now?.host == name && now!.domain.state.isActive,
                    live: liveByName[name]!, images: imageByName)
                {
                case .success(let left): fits.append((name, left))
                case .failure(let why): lacks.append("\(name): \(why.text)")
                }
            }
            func count(_ h: String) -> Int { loads[h]?.groupCount[vm.group] ?? 0 }
            let ranked = fits.sorted { a, b in
                let (ca, cb) = (count(a.host), count(b.host))
                let (here, there) = (a.host == now?.host, b.host == now?.host)
                if p.spread {
                    // With --rebalance, a VM keeps its host when it spreads as well there: moves only where they must.
                    if ca != cb { return ca < cb }
                    if here != there { return here }
                }
                if a.left != b.left { return a.left > b.left }
                if ca != cb { return ca < cb }
                if here != there { return here }
                return a.host < b.host
            }
            guard let best = ranked.first else {
                decisions[vm.name] = PlacementDecision(
                    vm: vm.name, group: vm.group, outcome: .refused, host: fallback, from: now?.host,
                    reason: "no candidate host can take \(vm.name) (\(size(vm.memory.bytes)) of memory, \(vm.vcpus) vCPU"
                        + (vm.vcpus == 1 ? "" : "s") + "): " + lacks.joined(separator: "; ")
                        + "; fix: free capacity on a candidate, lower memory: or vcpus:, raise placement: overcommit:, "
                        + "or add candidates")
                continue
            }
            func vms(_ h: String) -> String { "\(count(h)) \(vm.group) VM" + (count(h) == 1 ? "" : "s") }
            let head =
                p.spread
                ? "\(best.host): fewest \(vm.group) VMs (\(count(best.host))), \(size(best.left)) of memory left"
                : "\(best.host): most memory left (\(size(best.left))), \(vms(best.host))"
            let others = ranked.dropFirst().map { "\($0.host): \(size($0.left)) left, \(vms($0.host))" } + lacks
            let why = ([head] + others).joined(separator: "; ")
            // Take its share of the chosen host.
            var load = loads[best.host]!
            load.allocatedMemory += vm.memory.bytes
            load.allocatedVcpus += vm.vcpus
            let alreadyRunning = now?.host == best.host && now!.domain.state.isActive
            if vm.state == .running && !alreadyRunning { load.starting += vm.memory.bytes }
            for (pool, bytes) in fullCopies(vm, on: liveByName[best.host]!, images: imageByName) {
                load.poolUsed[pool, default: 0] += bytes
            }
            load.groupCount[vm.group, default: 0] += 1
            loads[best.host] = load
            let outcome: PlacementDecision.Outcome =
                now == nil ? .placed : (now!.host == best.host ? .kept : .moved)
            decisions[vm.name] = PlacementDecision(
                vm: vm.name, group: vm.group, outcome: outcome, host: best.host, from: now?.host,
                reason: why)
        }

        for i in out.vms.indices where out.vms[i].placement != nil {
            if let d = decisions[out.vms[i].name] { out.vms[i].host = d.host }
        }
        return (out, placed.compactMap { decisions[$0.name] })
    }

    enum Shortage: Error {
        case memory(left: UInt64, of: UInt64, ratio: Double)
        case free(left: UInt64)
        case cpus(left: Int, of: Int, ratio: Double)
        case pool(name: String, left: UInt64, needs: UInt64)

        var text: String {
            switch self {
            case .memory(let left, let total, let ratio):
                return "\(size(left)) of memory left to allocate (\(size(total)) × \(ratioText(ratio)))"
            case .free(let left): return "\(size(left)) of memory free"
            case .cpus(let left, let cpus, let ratio): return "\(left) vCPUs left to allocate (\(cpus) CPUs × \(ratioText(ratio)))"
            case .pool(let name, let left, let needs):
                return "pool \(name) has \(size(left)) available, its full copies need \(size(needs))"
            }
        }
    }

    /// Whether `load`'s host can take the VM; on success, the memory it has for it (the smaller of what is left to
    /// allocate and, for a VM that starts, what is free).
    static func check(
        _ vm: VMSpec, _ load: Load, policy: PlacementPolicy, running: Bool, live: LiveHost, images: [String: ImageSpec]
    ) -> Result<UInt64, Shortage> {
        let memCap = UInt64(Double(load.memory) * policy.memoryOvercommit)
        let memLeft = memCap > load.allocatedMemory ? memCap - load.allocatedMemory : 0
        if vm.memory.bytes > memLeft { return .failure(.memory(left: memLeft, of: load.memory, ratio: policy.memoryOvercommit)) }
        let cpuCap = Int(Double(load.cpus) * policy.cpuOvercommit)
        let cpuLeft = max(0, cpuCap - load.allocatedVcpus)
        if vm.vcpus > cpuLeft { return .failure(.cpus(left: cpuLeft, of: load.cpus, ratio: policy.cpuOvercommit)) }
        var left = memLeft
        if vm.state == .running, !running, let free = load.free {
            let freeLeft = free > load.starting ? free - load.starting : 0
            if vm.memory.bytes > freeLeft { return .failure(.free(left: freeLeft)) }
            left = min(left, freeLeft)
        }
        let pools = Dictionary(live.pools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, bytes) in fullCopies(vm, on: live, images: images) {
            guard let pool = pools[name], pool.active else { continue }
            let used = load.poolUsed[name] ?? 0
            let avail = pool.available.bytes > used ? pool.available.bytes - used : 0
            if bytes > avail { return .failure(.pool(name: name, left: avail, needs: bytes)) }
        }
        return .success(left)
    }

    /// The space the VM's new full copies (`clone: full`) would take on a host, per pool: preflight's rule (thin
    /// overlays and blank disks grow later and are not counted). A size that is not known (no `size:`, image not on
    /// the host yet) counts nothing.
    static func fullCopies(_ vm: VMSpec, on live: LiveHost, images: [String: ImageSpec]) -> [(String, UInt64)] {
        var out: [String: UInt64] = [:]
        let volumes = Dictionary(live.volumes.map { ("\($0.pool)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        for d in vm.disks where d.clone == .full {
            guard let image = d.image.flatMap({ images[$0] }), volumes["\(d.pool)/\(d.volumeName(vm: vm.name))"] == nil
            else { continue }
            guard let bytes = (d.size ?? volumes["\(image.pool)/\(image.volumeName)"]?.capacity)?.bytes else { continue }
            out[d.pool, default: 0] += bytes
        }
        return out.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func size(_ bytes: UInt64) -> String { Preflight.size(ByteSize(bytes: bytes)) }
    static func ratioText(_ r: Double) -> String {
        r == r.rounded() ? String(Int(r)) : String(r)
    }
}
