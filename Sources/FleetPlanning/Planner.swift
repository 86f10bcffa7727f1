import FleetModel

public struct PlanOptions: Hashable, Codable, Sendable {
    /// Take declared objects whose names are taken by unmanaged ones under management.
    public var adopt: Bool
    /// Restrict the plan to these objects (and, for a VM, its volumes and snapshots). Empty: everything.
    public var targets: [ObjectRef]
    /// Per VM, the digest of its customization inputs (computed by the caller, which may read files
    /// and secrets); a disk whose recorded digest differs is rebuilt.
    public var customizationDigests: [String: String]
    /// Per VM with `cloud_init:`, the instance-id its seed content gives (computed by the caller);
    /// a seed recorded with another id is rebuilt.
    public var seedInstanceIDs: [String: String]
    /// Per VM with a graphics password, the digest of the declared password (computed by the caller, which
    /// reads secrets); compared with the digest of the one the domain holds, never printed.
    public var graphicsPasswordDigests: [String: String]
    /// Per VM, the customization digest and seed instance-id its inputs gave before fleet salted passwords
    /// with the fleet key (salted with the fleet's name): a disk or seed recorded with one is still current.
    /// Only VMs with a root password have an entry.
    public var olderCustomizationDigests: [String: String] = [:]
    public var olderSeedInstanceIDs: [String: String] = [:]
    /// Per VM with `ignition:`, the digest of its config file (computed by the caller, which reads it): the
    /// Ignition volume and the system disk (Ignition runs at first boot only) record it; another one rebuilds them.
    public var ignitionDigests: [String: String] = [:]
    /// Per VM, the share sources missing on its host (checked by the caller on local hosts; libvirt has no call
    /// to look at a remote host's directories): the VM's change is refused until they exist.
    public var missingShareSources: [String: [String]] = [:]
    /// `--rebalance`: place every VM with `host: auto` or `hosts:` again, as if new (docs/planning.md, "Placement").
    public var rebalance = false
    /// `--max-unavailable N`: every VM group's rollout budget for this run, groups without `rollout:` included.
    public var maxUnavailable: Int?
    public init(
        adopt: Bool = false, targets: [ObjectRef] = [], customizationDigests: [String: String] = [:],
        seedInstanceIDs: [String: String] = [:], graphicsPasswordDigests: [String: String] = [:]
    ) {
        self.adopt = adopt
        self.targets = targets
        self.customizationDigests = customizationDigests
        self.seedInstanceIDs = seedInstanceIDs
        self.graphicsPasswordDigests = graphicsPasswordDigests
    }
}

/// The planner: a pure function of desired and live state. This target cannot import the
/// libvirt binding, so the compiler proves it does no I/O.
public enum Planner {
    public static func plan(desired: Fleet, live: LiveState, options: PlanOptions = PlanOptions()) -> Plan {
        // Placement first: every later rule sees each VM on its host. A VM it refuses is refused on that host.
        let (desired, placements) = Placement.place(desired, live: live, rebalance: options.rebalance)
        var context = Context(desired: desired, live: live, options: options)
        for d in placements where d.outcome == .refused { context.placementRefusals[d.vm] = d.reason }
        var hosts: [HostPlan] = []
        for host in desired.hosts {
            var hp = HostPlan(host: host.name, uri: host.uri)
            guard let lh = live.host(host.name) else {
                hp.error = "host \(host.name) was not read"
                hosts.append(hp)
                continue
            }
            if let error = lh.error {
                hp.error = error
                hosts.append(hp)
                continue
            }
            var changes = HostPlanner(context: context, host: host, live: lh).changes().map { identify($0, lh, context) }
                .map { guardTree($0, context.hostIndex[lh.name] ?? HostIndex(), desired) }
            if !options.targets.isEmpty {
                changes = changes.filter { c in
                    options.targets.contains { $0 == c.object || $0 == c.parent }
                }
            }
            hp.changes = order(changes)
            if let w = context.preflight[lh.name]?.warnings, !w.isEmpty { hp.warnings = w }
            hosts.append(hp)
        }
        var plan = Plan(fleet: desired.name, hosts: hosts, desired: desired)
        if !placements.isEmpty { plan.placements = placements }
        let running = Set(context.hostIndex.values.flatMap { $0.domains.values.filter { $0.state.isActive }.map(\.name) })
        let rollouts = Rollouts.plan(plan.changes, desired: desired, running: running, override: options.maxUnavailable)
        plan.rollouts = rollouts.isEmpty ? nil : rollouts
        return plan
    }

    /// Ties a change to the live object it was planned against, by UUID (a migration: the domain on its source host).
    static func identify(_ c: Change, _ live: LiveHost, _ context: Context) -> Change {
        guard c.action != .create, c.action != .refused else { return c }
        var c = c
        switch c.object.kind {
        case .vm:
            c.uuid =
                context.hostIndex[live.name]?.domains[c.object.name]?.uuid
                ?? (c.action == .migrate ? context.ownedDomainHost[c.object.name]?.domain.uuid : nil)
        case .network: c.uuid = context.hostIndex[live.name]?.networks[c.object.name]?.uuid
        case .pool: c.uuid = context.hostIndex[live.name]?.pools[c.object.name]?.uuid
        default: break
        }
        return c
    }

    /// A deletion of an object that another manifest tree of the same fleet name made is refused, naming that
    /// tree: two checkouts that chose one `fleet:` name must not delete each other's objects.
    static func guardTree(_ c: Change, _ live: HostIndex, _ desired: Fleet) -> Change {
        guard c.action == .delete, let tree = desired.tree else { return c }
        let mark: OwnerMark?
        switch c.object.kind {
        case .vm: mark = live.domains[c.object.name]?.owner
        case .network: mark = live.networks[c.object.name]?.owner
        case .pool: mark = live.pools[c.object.name]?.owner
        case .volume, .image: mark = live.volumes[c.object.name]?.owner
        default: mark = nil
        }
        guard let other = mark?.attributes["tree"], other != tree else { return c }
        return Change(
            c.object, .refused, attributes: c.attributes,
            reason: "made by another manifest tree of fleet \(desired.name) (\(other)), not this one (\(tree)); "
                + "two trees share the fleet name: give one of them another `fleet:` name, or delete it from \(other)",
            parent: c.parent)
    }

    /// Stable order: creations and updates by kind (pools first, snapshots last), then deletions in reverse.
    static func order(_ changes: [Change]) -> [Change] {
        func phase(_ c: Change) -> Int { c.action == .delete ? 1 : 0 }
        return changes.enumerated().sorted { l, r in
            let (a, b) = (l.element, r.element)
            if phase(a) != phase(b) { return phase(a) < phase(b) }
            if a.object.kind != b.object.kind {
                return phase(a) == 0 ? a.object.kind < b.object.kind : b.object.kind < a.object.kind
            }
            if a.object.name != b.object.name { return a.object.name < b.object.name }
            return l.offset < r.offset
        }.map(\.element)
    }
}

/// Facts about the whole fleet that several hosts' plans need.
struct Context {
    let desired: Fleet
    let live: LiveState
    let options: PlanOptions
    /// Where each VM this fleet owns lives now, by domain name.
    let ownedDomainHost: [String: (host: String, domain: LiveDomain)]
    /// Lookups by name, built once per plan: a plan of N VMs looks each object up a few times, and a linear
    /// search each time made planning quadratic (0.8 s for 1,000 VMs on one host).
    let vmsByHost: [String: [VMSpec]]
    let vmByName: [String: VMSpec]
    let imageByName: [String: ImageSpec]
    let hostIndex: [String: HostIndex]
    /// Each readable host's preflight result (Preflight.check), by host name.
    let preflight: [String: PreflightResult]
    /// Per VM that placement could not place: why (docs/planning.md, "Placement").
    var placementRefusals: [String: String] = [:]

    init(desired: Fleet, live: LiveState, options: PlanOptions) {
        self.desired = desired
        self.live = live
        self.options = options
        var owned: [String: (String, LiveDomain)] = [:]
        for h in live.hosts where h.error == nil {
            for d in h.domains where d.owner?.fleet == desired.name {
                owned[d.name] = (h.name, d)
            }
        }
        ownedDomainHost = owned
        vmsByHost = Dictionary(grouping: desired.vms, by: \.host)
        vmByName = Dictionary(desired.vms.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        imageByName = Dictionary(desired.images.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        hostIndex = Dictionary(live.hosts.map { ($0.name, HostIndex($0)) }, uniquingKeysWith: { a, _ in a })
        var preflight: [String: PreflightResult] = [:]
        for h in live.hosts where h.error == nil {
            let vms = vmsByHost[h.name] ?? []
            let arriving = Set(vms.filter { v in owned[v.name].map { $0.0 != h.name } ?? false }.map(\.name))
            preflight[h.name] = Preflight.check(host: h.name, vms: vms, images: imageByName, live: h, arriving: arriving)
        }
        self.preflight = preflight
    }

    /// Why preflight refuses the VM on its host (docs/planning.md, "Preflight"); nil when it passes.
    func refusal(_ vm: VMSpec) -> String? {
        // Share sources are checked by Session on local hosts (libvirt has no call to look at a path on a host).
        let shares = (options.missingShareSources[vm.name] ?? []).map {
            "share source \($0) does not exist on host \(vm.host); fix: create it, or correct shares:"
        }
        if let placement = placementRefusals[vm.name] { return placement }
        let all = [preflight[vm.host]?.refusals[vm.name]].compactMap { $0 } + shares
        return all.isEmpty ? nil : all.joined(separator: "; ")
    }

    func owns(_ mark: OwnerMark?) -> Bool { mark?.fleet == desired.name }
}

/// One host's live objects by name (volumes by `pool/name`, and by the path of their backing file).
struct HostIndex {
    var domains: [String: LiveDomain] = [:]
    var networks: [String: LiveNetwork] = [:]
    var pools: [String: LivePool] = [:]
    var volumes: [String: LiveVolume] = [:]
    var volumesBackedBy: [String: [LiveVolume]] = [:]

    init() {}

    init(_ h: LiveHost) {
        domains = Dictionary(h.domains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        networks = Dictionary(h.networks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        pools = Dictionary(h.pools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        volumes = Dictionary(h.volumes.map { ("\($0.pool)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        for v in h.volumes { if let b = v.backingPath { volumesBackedBy[b, default: []].append(v) } }
    }
}

struct HostPlanner {
    let context: Context
    let host: HostSpec
    let live: LiveHost
    var fleet: Fleet { context.desired }

    var vms: [VMSpec] { context.vmsByHost[host.name] ?? [] }
    var index: HostIndex { context.hostIndex[host.name] ?? HostIndex() }

    func placed(_ hosts: [String]?) -> Bool { fleet.placement(hosts).contains(host.name) }

    func changes() -> [Change] {
        var out: [Change] = []
        out += pools()
        out += images()
        out += volumes()
        out += networks()
        out += domains()
        return out
    }

    // MARK: Ownership

    /// A declared object whose name is taken: fine when this fleet owns it, adoptable with --adopt, refused otherwise.
    func conflict(_ ref: ObjectRef, _ mark: OwnerMark?) -> Change? {
        if context.owns(mark) { return nil }
        if context.options.adopt && mark == nil {
            return Change(ref, .adopt, reason: "exists unmanaged; --adopt takes it under fleet \(fleet.name)", steps: [.writeOwnerMark])
        }
        let who = mark.map { "fleet \($0.fleet)" } ?? "nobody (unmanaged)"
        return Change(
            ref, .refused,
            reason: "\(ref) exists on \(host.name) and is managed by \(who); fleet never modifies objects it does not own"
                + (mark == nil ? " (use --adopt to take it over)" : ""))
    }
}

extension Array where Element == Change {
    /// Gives the changes to `ref` from index `start` on (all but refusals) the spec they bring about, so the
    /// executor never looks it up by name. Called by each kind's loop as it leaves a declared object.
    mutating func carry(_ subject: Subject, for ref: ObjectRef, from start: Int) {
        for i in start..<count where self[i].object == ref && self[i].action != .refused { self[i].subject = subject }
    }
}

// MARK: Display helpers

func describe(_ k: DeviceKind) -> String { k.description }

func vcpuText(_ n: Int, _ max: Int?) -> String { max.map { "\(n) (max \($0))" } ?? String(n) }
func memText(_ m: ByteSize, _ max: ByteSize?) -> String { max.map { "\(m) (max \($0))" } ?? m.description }
func graphicsText(_ g: GraphicsSpec) -> String { "\(g.type.rawValue) \(g.listen):\(g.port.map(String.init) ?? "auto")" }
func graphicsText(_ g: LiveGraphics) -> String { "\(g.type) \(g.listen ?? "?"):\(g.port.map(String.init) ?? "auto")" }
func sourceText(_ s: InterfaceSource) -> String { s.description }
func normalisePath(_ p: String) -> String {
    var s = p
    while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
    return s
}

extension Step {
    /// Steps that plug a device into the running guest.
    var isHotplug: Bool {
        switch self {
        case .attachDisk, .attachInterface, .detachInterface, .attachHostdev, .detachHostdev: return true
        default: return false
        }
    }
}
/// `uefi`, `uefi, secure boot, enrolled keys`, `uefi, no secure boot`.
func firmwareText(_ vm: VMSpec) -> String {
    var parts = [(vm.firmware ?? .bios).rawValue]
    if let s = vm.secureBoot { parts.append(s ? "secure boot" : "no secure boot") }
    if let k = vm.enrolledKeys { parts.append(k ? "enrolled keys" : "no enrolled keys") }
    return parts.joined(separator: ", ")
}
