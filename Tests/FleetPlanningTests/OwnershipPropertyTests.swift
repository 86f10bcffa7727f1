import FleetModel
import Testing

@testable import FleetPlanning

/// Generated manifests against generated live states, with unmanaged look-alikes, other fleets' objects and
/// stale marks: the planner never traps, never plans a change to an object without this fleet's mark, never
/// plans a create over an existing name, and is deterministic.
@Suite struct OwnershipPropertyTests {
    /// SplitMix64: a seeded generator, so a failure names the seed that reproduces it.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func owner(_ g: inout Generator, _ kind: ObjectKind, _ name: String) -> OwnerMark? {
        switch Int.random(in: 0..<4, using: &g) {
        case 0: return nil
        case 1: return OwnerMark(fleet: "other", kind: kind, name: name)
        default: return OwnerMark(fleet: "lab", kind: kind, name: name)
        }
    }

    static func generate(seed: UInt64) -> (Fleet, LiveState, PlanOptions) {
        var g = Generator(state: seed)
        var fleet = Fixture.fleet()
        var live = Fixture.live(fleet)
        // Desired side: drop objects, change sizes, add VMs whose names may be taken live.
        if Bool.random(using: &g) { fleet.vms.removeAll { _ in Bool.random(using: &g) } }
        if Int.random(in: 0..<4, using: &g) == 0 { fleet.networks = [] }
        for i in fleet.vms.indices where Bool.random(using: &g) { fleet.vms[i].memory = .mib(UInt64.random(in: 64...2048, using: &g)) }
        for i in fleet.vms.indices where Bool.random(using: &g) { fleet.vms[i].vcpus = Int.random(in: 1...2, using: &g) }
        for i in fleet.networks.indices where Bool.random(using: &g) { fleet.networks[i].autostart = Bool.random(using: &g) }
        for i in fleet.networks.indices where Bool.random(using: &g) { fleet.networks[i].domain = "gen.example" }
        for i in fleet.pools.indices where Bool.random(using: &g) { fleet.pools[i].autostart = Bool.random(using: &g) }
        for i in fleet.vms.indices where Bool.random(using: &g) && !fleet.vms[i].disks.isEmpty {
            fleet.vms[i].disks[0].size = .gib(UInt64.random(in: 5...20, using: &g))
        }
        for n in 0..<Int.random(in: 0...3, using: &g) {
            fleet.vms.append(
                VMSpec(
                    name: "gen-\(n)", host: "kvm1", vcpus: 1, memory: .mib(128), virtType: .qemu,
                    disks: [DiskSpec(name: "disk0", size: .gib(1), pool: "vmdisk")],
                    state: Bool.random(using: &g) ? .running : .stopped, snapshots: Bool.random(using: &g) ? ["s1"] : []))
        }
        // Live side: re-own or disown what is there, add look-alikes and stale objects.
        var h = live.hosts[0]
        for i in h.domains.indices where Bool.random(using: &g) { h.domains[i].config.owner = owner(&g, .vm, h.domains[i].name) }
        for i in h.networks.indices where Bool.random(using: &g) { h.networks[i].owner = owner(&g, .network, h.networks[i].name) }
        for i in h.pools.indices where Bool.random(using: &g) { h.pools[i].owner = owner(&g, .pool, h.pools[i].name) }
        for i in h.volumes.indices where Bool.random(using: &g) {
            h.volumes[i].owner = owner(&g, .volume, h.volumes[i].name).map {
                var m = $0
                m.attributes["vm"] = "web-1"
                return m
            }
        }
        for n in 0..<Int.random(in: 0...3, using: &g) {
            let name = Bool.random(using: &g) ? "gen-\(n)" : "stray-\(n)"
            var cfg = Fixture.config(fleet.vms.first ?? Fixture.fleet().vms[0], devices: [])
            cfg.owner = owner(&g, .vm, name)
            h.domains.append(
                LiveDomain(
                    name: name, uuid: "u-\(name)", state: Bool.random(using: &g) ? .running : .shutoff, autostart: false,
                    config: cfg, live: nil, snapshots: [LiveSnapshot(name: "s\(n)", fleet: Bool.random(using: &g) ? "lab" : nil)]))
            h.volumes.append(
                LiveVolume(
                    pool: "vmdisk", name: "\(name)-disk0.qcow2", path: "/data/vmfs/\(name)-disk0.qcow2", format: "qcow2",
                    capacity: .gib(1), allocation: .mib(1), owner: owner(&g, .volume, name)))
        }
        if Bool.random(using: &g) {
            h.networks.append(
                LiveNetwork(
                    name: "stray-net", uuid: "u-sn", active: true, autostart: false,
                    spec: NetworkSpec(name: "stray-net", mode: .isolated), owner: owner(&g, .network, "stray-net")))
        }
        if Bool.random(using: &g) { h.domains.removeAll { _ in Int.random(in: 0..<4, using: &g) == 0 } }
        live.hosts[0] = h
        let options = PlanOptions(adopt: Int.random(in: 0..<3, using: &g) == 0)
        return (fleet, live, options)
    }

    /// What a change acts on, and whether it is this fleet's on the host where it runs.
    static func ownedOnHost(_ c: Change, _ h: LiveHost) -> Bool? {
        switch c.object.kind {
        case .vm: return h.domains.first { $0.name == c.object.name }.map { $0.owner?.fleet == "lab" }
        case .network: return h.networks.first { $0.name == c.object.name }.map { $0.owner?.fleet == "lab" }
        case .pool: return h.pools.first { $0.name == c.object.name }.map { $0.owner?.fleet == "lab" }
        case .volume, .image:
            return h.volumes.first { "\($0.pool)/\($0.name)" == c.object.name }.map { $0.owner?.fleet == "lab" }
        case .snapshot:
            let parts = c.object.name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let d = h.domains.first(where: { $0.name == parts[0] }) else { return nil }
            if c.action == .delete { return d.owner?.fleet == "lab" && d.snapshots.contains { $0.name == parts[1] && $0.fleet == "lab" } }
            return d.owner?.fleet == "lab"
        case .device: return nil
        }
    }

    @Test(arguments: 0..<400)
    func thePlannerNeverTouchesWhatIsNotItsOwn(seed: Int) throws {
        let (fleet, live, options) = Self.generate(seed: UInt64(seed))
        let plan = Planner.plan(desired: fleet, live: live, options: options)
        #expect(plan == Planner.plan(desired: fleet, live: live, options: options), "deterministic (seed \(seed))")
        for hp in plan.hosts {
            guard let h = live.host(hp.host) else { continue }
            for c in hp.changes {
                switch c.action {
                case .refused:
                    #expect(c.steps.isEmpty, "a refused change has no steps (seed \(seed)): \(c.object)")
                case .create:
                    // A new image version or volume is named afresh; anything else must not exist yet.
                    #expect(
                        Self.ownedOnHost(c, h) == nil || c.object.kind == .snapshot,
                        "create over an existing object (seed \(seed)): \(c.object)")
                case .adopt:
                    #expect(options.adopt, "adopt without --adopt (seed \(seed)): \(c.object)")
                    #expect(Self.ownedOnHost(c, h) == false, "adopt of an owned or missing object (seed \(seed)): \(c.object)")
                case .migrate:
                    let elsewhere = live.hosts.contains {
                        $0.name != h.name && $0.domains.contains { $0.name == c.object.name && $0.owner?.fleet == "lab" }
                    }
                    #expect(elsewhere, "migration of a VM this fleet does not own (seed \(seed)): \(c.object)")
                default:
                    if c.action == .start, Self.ownedOnHost(c, h) == nil { continue }  // the VM created in the same plan
                    let adoptedNow = options.adopt && hp.changes.contains { $0.object == c.object && $0.action == .adopt }
                    let parentAdopted =
                        c.parent.map { p in options.adopt && hp.changes.contains { $0.object == p && $0.action == .adopt } } ?? false
                    #expect(
                        Self.ownedOnHost(c, h) == true || adoptedNow || parentAdopted,
                        "\(c.action.rawValue) of an object without this fleet's mark (seed \(seed)): \(c.object)")
                }
            }
        }
    }
}

/// Two manifest trees that chose the same fleet name never delete each other's objects.
@Suite struct ManifestTreeTests {
    @Test func aDeletionOfAnotherTreesObjectIsRefusedNamingThatTree() throws {
        var fleet = Fixture.fleet()
        var live = Fixture.live(fleet)
        live.hosts[0].domains = live.hosts[0].domains.map { d in
            var d = d
            d.config.owner?.attributes["tree"] = "git:teamA/infra#web"
            return d
        }
        fleet.tree = "git:teamB/infra#web"
        fleet.vms = []
        let plan = Planner.plan(desired: fleet, live: live)
        let web = try #require(plan.change("vm/web-1"))
        #expect(web.action == .refused)
        #expect(web.reason.contains("git:teamA/infra#web") && web.steps.isEmpty, "\(web.reason)")
        // The same tree deletes as before.
        fleet.tree = "git:teamA/infra#web"
        #expect(Planner.plan(desired: fleet, live: live).change("vm/web-1")?.action == .delete)
    }
}
