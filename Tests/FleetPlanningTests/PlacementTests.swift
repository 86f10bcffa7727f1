import FleetModel
import Testing

@testable import FleetPlanning

/// `Placement.place` on generated fleets and host capacities (seeded): it never fills a host beyond its capacity
/// with the declared overcommit, gives the same answer for the same input in any order, spreads a group when
/// capacity allows, and changes nothing when placing again against what it placed.
@Suite struct PlacementTests {
    typealias Generator = OwnershipPropertyTests.Generator

    static func info(cpus: Int, memory: ByteSize) -> HostInfo {
        HostInfo(
            hostname: "h", cpuModel: "x86_64", cpus: cpus, mhz: 2000, sockets: 1, cores: cpus, threads: 1, memory: memory,
            libvirtVersion: "9.0.0", hypervisor: "QEMU", hypervisorVersion: "7.2.0")
    }

    static func domain(_ name: String, memory: ByteSize, vcpus: Int, running: Bool, owner: OwnerMark?) -> LiveDomain {
        let c = DomainConfig(vcpus: vcpus, maxVcpus: vcpus, memory: memory, maxMemory: memory, owner: owner)
        return LiveDomain(
            name: name, uuid: "u-\(name)", id: running ? 1 : nil, state: running ? .running : .shutoff, config: c,
            live: running ? c : nil)
    }

    /// 1–5 hosts of random size with foreign domains on them, 1–4 groups of placed VMs (some spread, some
    /// with a subset of candidates, some stopped), a pinned VM, and a random overcommit.
    static func generate(seed: UInt64) -> (Fleet, LiveState) {
        var g = Generator(state: seed)
        let hostCount = Int.random(in: 1...5, using: &g)
        let names = (1...hostCount).map { "kvm\($0)" }
        var live: [LiveHost] = []
        for n in names {
            let memory = ByteSize.gib(UInt64.random(in: 2...32, using: &g))
            var h = LiveHost(name: n, uri: "test:///\(n)", info: info(cpus: Int.random(in: 1...16, using: &g), memory: memory))
            for i in 0..<Int.random(in: 0...3, using: &g) {
                h.domains.append(
                    domain(
                        "other-\(n)-\(i)", memory: .mib(UInt64.random(in: 1...8, using: &g) * 512), vcpus: Int.random(in: 1...4, using: &g),
                        running: Bool.random(using: &g), owner: nil))
            }
            if Bool.random(using: &g) { h.facts.freeMemory = ByteSize(bytes: UInt64.random(in: 0...memory.bytes, using: &g)) }
            live.append(h)
        }
        var vms: [VMSpec] = []
        for gi in 0..<Int.random(in: 1...4, using: &g) {
            let group = "g\(gi)"
            let memory = ByteSize.mib(UInt64.random(in: 1...16, using: &g) * 256)
            let vcpus = Int.random(in: 1...4, using: &g)
            let candidates = Bool.random(using: &g) ? names : names.filter { _ in Bool.random(using: &g) }
            let placement = VMPlacement(
                candidates: candidates.isEmpty ? [names[0]] : candidates, auto: candidates == names, spread: Bool.random(using: &g))
            let running = Bool.random(using: &g)
            for i in 1...Int.random(in: 1...8, using: &g) {
                var vm = VMSpec(name: "\(group)-\(i)", group: group, host: "", vcpus: vcpus, memory: memory)
                vm.placement = placement
                vm.state = running ? .running : .stopped
                vms.append(vm)
            }
        }
        vms.append(VMSpec(name: "pinned", host: names[0], vcpus: 1, memory: .gib(1)))
        var fleet = Fleet(name: "lab", hosts: names.map { HostSpec(name: $0, uri: "test:///\($0)") }, vms: vms)
        fleet.placementPolicy = PlacementPolicy(
            cpuOvercommit: [1, 2, 4].randomElement(using: &g)!, memoryOvercommit: [1.0, 1.5].randomElement(using: &g)!)
        return (fleet, LiveState(hosts: live))
    }

    /// The live state after an apply of the placement: each placed VM exists on its host, owned by the fleet,
    /// and takes the memory it runs with from what was free.
    static func applied(_ fleet: Fleet, _ live: LiveState, _ decisions: [PlacementDecision]) -> LiveState {
        var out = live
        let byName = Dictionary(uniqueKeysWithValues: fleet.vms.map { ($0.name, $0) })
        for d in decisions where d.outcome != .refused {
            let vm = byName[d.vm]!
            let i = out.hosts.firstIndex { $0.name == d.host }!
            out.hosts[i].domains.append(
                domain(
                    vm.name, memory: vm.memory, vcpus: vm.vcpus, running: vm.state == .running,
                    owner: OwnerMark(fleet: fleet.name, kind: .vm, name: vm.group)))
            if vm.state == .running, let free = out.hosts[i].facts.freeMemory {
                out.hosts[i].facts.freeMemory = ByteSize(bytes: free.bytes - vm.memory.bytes)
            }
        }
        return out
    }

    @Test(arguments: 0..<300)
    func neverOverCapacityDeterministicAndStable(seed: Int) throws {
        let (fleet, live) = Self.generate(seed: UInt64(seed))
        let policy = fleet.placementPolicy!
        let (placed, decisions) = Placement.place(fleet, live: live)
        #expect(decisions.map(\.vm) == fleet.vms.filter { $0.placement != nil }.map(\.name).sorted(), "seed \(seed)")

        // Never over capacity: a host that got a VM holds, with it, no more than its capacity allows.
        let byName = Dictionary(uniqueKeysWithValues: fleet.vms.map { ($0.name, $0) })
        for h in live.hosts {
            let new = decisions.filter { $0.outcome == .placed && $0.host == h.name }.map { byName[$0.vm]! }
            guard !new.isEmpty, let info = h.info else { continue }
            let pinned = fleet.vms.filter { $0.placement == nil && $0.host == h.name }
            let memory = h.domains.reduce(0) { $0 + $1.config.memory.bytes } + (new + pinned).reduce(0) { $0 + $1.memory.bytes }
            let vcpus = h.domains.reduce(0) { $0 + $1.config.vcpus } + (new + pinned).reduce(0) { $0 + $1.vcpus }
            #expect(Double(memory) <= Double(info.memory.bytes) * policy.memoryOvercommit, "memory on \(h.name), seed \(seed)")
            #expect(Double(vcpus) <= Double(info.cpus) * policy.cpuOvercommit, "vCPUs on \(h.name), seed \(seed)")
            // Free memory: taken only by VMs that start; checked when one of them was placed here.
            if let free = h.facts.freeMemory, new.contains(where: { $0.state == .running }) {
                let starting = (new + pinned).filter { $0.state == .running }.reduce(0) { $0 + $1.memory.bytes }
                #expect(starting <= free.bytes, "free memory on \(h.name), seed \(seed)")
            }
        }
        // Every placed VM is on one of its candidates; a refused one names every candidate.
        for d in decisions {
            let vm = byName[d.vm]!
            if d.outcome == .refused {
                for c in vm.placement!.candidates { #expect(d.reason.contains("\(c): "), "seed \(seed): \(d.reason)") }
            } else {
                #expect(vm.placement!.candidates.contains(d.host), "seed \(seed): \(d.vm) on \(d.host)")
                #expect(placed.vms.first { $0.name == d.vm }?.host == d.host, "seed \(seed)")
            }
        }

        // Deterministic, whatever the order of VMs, hosts and domains.
        var g = Generator(state: UInt64(seed) &+ 99)
        var shuffledFleet = fleet
        shuffledFleet.vms.shuffle(using: &g)
        var shuffledLive = live
        shuffledLive.hosts.shuffle(using: &g)
        for i in shuffledLive.hosts.indices { shuffledLive.hosts[i].domains.shuffle(using: &g) }
        #expect(Placement.place(fleet, live: live).decisions == decisions, "seed \(seed)")
        #expect(Placement.place(shuffledFleet, live: shuffledLive).decisions == decisions, "order, seed \(seed)")

        // Stable: placing again against what was placed keeps every VM where it is, and places no refused one.
        let again = Placement.place(fleet, live: Self.applied(fleet, live, decisions)).decisions
        for (a, b) in zip(decisions, again) {
            if a.outcome == .refused {
                #expect(b.outcome == .refused, "seed \(seed): \(a.vm) \(b.reason)")
            } else {
                #expect(b.outcome == .kept && b.host == a.host, "seed \(seed): \(a.vm) \(a.host) → \(b.host) \(b.outcome)")
            }
        }
    }

    /// With room everywhere, N instances of a spread group over H candidate hosts: the counts differ by at most one,
    /// whatever already runs on the hosts.
    @Test(arguments: 0..<100)
    func spreadsWhenCapacityAllows(seed: Int) throws {
        var g = Generator(state: UInt64(seed))
        let names = (1...Int.random(in: 2...5, using: &g)).map { "kvm\($0)" }
        let live = LiveState(
            hosts: names.map { n in
                var h = LiveHost(
                    name: n, uri: "test:///\(n)",
                    info: Self.info(cpus: 64, memory: .gib(UInt64.random(in: 64...512, using: &g))))
                h.domains = (0..<Int.random(in: 0...4, using: &g)).map {
                    Self.domain("other-\(n)-\($0)", memory: .gib(2), vcpus: 2, running: true, owner: nil)
                }
                return h
            })
        let count = Int.random(in: 1...20, using: &g)
        let vms = (1...count).map { i in
            VMSpec(name: "web-\(i)", group: "web", host: "", vcpus: 1, memory: .gib(1)).with {
                $0.placement = VMPlacement(candidates: names, auto: true, spread: true)
            }
        }
        let fleet = Fleet(name: "lab", hosts: names.map { HostSpec(name: $0, uri: "test:///\($0)") }, vms: vms)
        let decisions = Placement.place(fleet, live: live).decisions
        let counts = names.map { n in decisions.filter { $0.host == n && $0.outcome == .placed }.count }
        #expect(counts.reduce(0, +) == count, "seed \(seed): \(decisions.map(\.reason))")
        #expect(counts.max()! - counts.min()! <= 1, "seed \(seed): \(counts)")
    }

    static func twoHosts(free1: ByteSize? = nil, free2: ByteSize? = nil) -> LiveState {
        var a = LiveHost(name: "kvm1", uri: "test:///1", info: info(cpus: 8, memory: .gib(16)))
        var b = LiveHost(name: "kvm2", uri: "test:///2", info: info(cpus: 8, memory: .gib(16)))
        a.facts.freeMemory = free1
        b.facts.freeMemory = free2
        return LiveState(hosts: [a, b])
    }

    static func group(_ name: String, count: Int, memory: ByteSize, spread: Bool = true) -> [VMSpec] {
        (1...count).map { i in
            VMSpec(name: "\(name)-\(i)", group: name, host: "", vcpus: 1, memory: memory).with {
                $0.placement = VMPlacement(candidates: ["kvm1", "kvm2"], auto: true, spread: spread)
            }
        }
    }

    static func fleet(_ vms: [VMSpec]) -> Fleet {
        Fleet(name: "lab", hosts: [HostSpec(name: "kvm1", uri: "test:///1"), HostSpec(name: "kvm2", uri: "test:///2")], vms: vms)
    }

    @Test func aShortageRefusesNamingEachHostAndWhatItHasFree() {
        let f = Self.fleet(Self.group("big", count: 1, memory: .gib(8)))
        let d = Placement.place(f, live: Self.twoHosts(free1: .gib(2), free2: .gib(3))).decisions
        #expect(
            d == [
                PlacementDecision(
                    vm: "big-1", group: "big", outcome: .refused, host: "kvm1",
                    reason: "no candidate host can take big-1 (8GiB of memory, 1 vCPU): kvm1: 2GiB of memory free; "
                        + "kvm2: 3GiB of memory free; fix: free capacity on a candidate, lower memory: or vcpus:, "
                        + "raise placement: overcommit:, or add candidates")
            ], "\(d)")
    }

    @Test func theReasonSaysWhyTheHostWasChosen() {
        let f = Self.fleet(Self.group("web", count: 2, memory: .gib(1)) + Self.group("db", count: 1, memory: .gib(4), spread: false))
        let d = Placement.place(f, live: Self.twoHosts(free1: .gib(10), free2: .gib(12))).decisions
        // db-1 first (name order), then web-1 and web-2, each counting what was placed before it.
        #expect(d.map(\.host) == ["kvm2", "kvm1", "kvm2"], "\(d)")
        #expect(d[0].reason == "kvm2: most memory left (12GiB), 0 db VMs; kvm1: 10GiB left, 0 db VMs", "\(d[0].reason)")
        #expect(d[1].reason == "kvm1: fewest web VMs (0), 10GiB of memory left; kvm2: 8GiB left, 0 web VMs", "\(d[1].reason)")
        #expect(d[2].reason == "kvm2: fewest web VMs (0), 8GiB of memory left; kvm1: 9GiB left, 1 web VM", "\(d[2].reason)")
    }

    @Test func overcommitRaisesWhatAHostTakes() {
        // 16 GiB hosts, 10 GiB VMs: one per host without memory overcommit, two with 1.5 (24 GiB; no free-memory fact).
        var f = Self.fleet(Self.group("big", count: 4, memory: .gib(10)))
        #expect(Placement.place(f, live: Self.twoHosts()).decisions.map(\.outcome) == [.placed, .placed, .refused, .refused])
        f.placementPolicy = PlacementPolicy(memoryOvercommit: 1.5)
        #expect(Placement.place(f, live: Self.twoHosts()).decisions.map(\.outcome) == [.placed, .placed, .placed, .placed])
        // vCPUs: 8 CPUs × 1 = 8 vCPUs per host.
        var c = Self.fleet(Self.group("cpu", count: 3, memory: .mib(256)).map { $0.with { $0.vcpus = 6 } })
        c.placementPolicy = PlacementPolicy(cpuOvercommit: 1)
        let d = Placement.place(c, live: Self.twoHosts()).decisions
        #expect(d.map(\.outcome) == [.placed, .placed, .refused], "\(d)")
        #expect(d[2].reason.contains("kvm1: 2 vCPUs left to allocate (8 CPUs × 1)"), "\(d[2].reason)")
    }

    @Test func aVMOnANonCandidateMovesAndRebalanceMovesOnlyWhatItMust() {
        // web-1 and web-2 both run on kvm1 (placed when kvm2 was full): stable keeps them, --rebalance moves one.
        var live = Self.twoHosts()
        for n in ["web-1", "web-2"] {
            live.hosts[0].domains.append(
                Self.domain(n, memory: .gib(1), vcpus: 1, running: true, owner: OwnerMark(fleet: "lab", kind: .vm, name: "web")))
        }
        let f = Self.fleet(Self.group("web", count: 2, memory: .gib(1)))
        #expect(Placement.place(f, live: live).decisions.map(\.outcome) == [.kept, .kept])
        let r = Placement.place(f, live: live, rebalance: true).decisions
        #expect(r.map(\.outcome) == [.kept, .moved] && r.map(\.host) == ["kvm1", "kvm2"], "\(r)")
        // A VM whose host is no longer a candidate moves to one.
        let only2 = Fleet(
            name: "lab", hosts: f.hosts, vms: f.vms.map { $0.with { $0.placement = VMPlacement(candidates: ["kvm2"]) } })
        #expect(Placement.place(only2, live: live).decisions.map(\.outcome) == [.moved, .moved])
    }

    @Test func aNewVMIsNotPlacedWhileACandidateCannotBeRead() {
        var live = Self.twoHosts()
        live.hosts[1].error = "cannot connect"
        let d = Placement.place(Self.fleet(Self.group("web", count: 1, memory: .gib(1))), live: live).decisions
        #expect(d.map(\.outcome) == [.refused] && d[0].reason.hasPrefix("candidate host kvm2 could not be read"), "\(d)")
    }

    /// In the planner: a placed VM is created on its host, a refused one is refused there and nothing of it is made;
    /// the plan carries every decision.
    @Test func thePlannerCreatesWherePlacementSaysAndMakesNothingOfARefusedVM() {
        let pool = PoolSpec(name: "p", type: .dir, path: "/p")
        var vms = Self.group("web", count: 2, memory: .gib(1)) + Self.group("big", count: 1, memory: .gib(64))
        for i in vms.indices { vms[i].disks = [DiskSpec(name: "disk0", size: .gib(1), pool: "p")] }
        var f = Self.fleet(vms)
        f.pools = [pool]
        var live = Self.twoHosts()
        for i in live.hosts.indices {
            live.hosts[i].pools = [
                LivePool(
                    name: "p", uuid: "u-p\(i)", active: true, autostart: false, spec: pool, available: .gib(100),
                    owner: OwnerMark(fleet: "lab", kind: .pool, name: "p"))
            ]
        }
        let plan = Planner.plan(desired: f, live: live)
        #expect(plan.placements?.map(\.host) == ["kvm1", "kvm1", "kvm2"], "\(String(describing: plan.placements))")
        #expect(plan.hosts[0].changes.contains { $0.object == ObjectRef(.vm, "web-1") && $0.action == .create })
        #expect(plan.hosts[1].changes.contains { $0.object == ObjectRef(.vm, "web-2") && $0.action == .create })
        let big = plan.changes.filter { $0.object.name.hasPrefix("big") || $0.object.name.contains("big-1") }
        #expect(big.map(\.action) == [.refused] && big[0].reason.hasPrefix("no candidate host can take big-1"), "\(big)")
        #expect(plan.desired.vms.first { $0.name == "web-2" }?.host == "kvm2")
        let text = PlanRenderer().render(plan)
        #expect(text.contains("placement (host: auto, hosts:)\n  x vm/big-1  not placed\n      # no candidate host"), "\(text)")
        #expect(text.contains("→ vm/web-1  placed on kvm1\n      # kvm1: fewest web VMs (0)"), "\(text)")
        #expect(MarkdownPlanRenderer().render(plan).contains("#### Placement"))
    }
}
