import FleetModel
import Testing

@testable import FleetPlanning

/// The waves a plan cuts: only the group's VMs with a change that takes them down, in name order, at most the
/// budget per wave, across hosts; nothing without rollout: unless --max-unavailable asks for it.
@Suite struct RolloutPlanTests {
    static func vm(_ name: String, group: String, host: String = "a", rollout: RolloutSpec? = nil) -> VMSpec {
        var v = VMSpec(name: name, group: group, host: host, memory: .mib(64))
        v.rollout = rollout
        return v
    }

    static func restart(_ name: String) -> Change {
        Change(ObjectRef(.vm, name), .updateRestart, reason: "", steps: [.defineDomain, .restartDomain])
    }

    static let web = RolloutSpec(group: "web", maxUnavailable: .count(2), wait: .agent)

    @Test func wavesFollowNameOrderAndTheBudgetAcrossHosts() {
        let names = ["web-1", "web-2", "web-3", "web-10", "web-11"]
        let vms = names.enumerated().map { i, n in Self.vm(n, group: "web", host: i % 2 == 0 ? "a" : "b", rollout: Self.web) }
        let fleet = Fleet(name: "f", vms: vms + [Self.vm("db", group: "db")])
        // web-3 changes only live: it stays up and is in no wave; db has no rollout.
        let changes =
            ["web-11", "web-2", "web-10", "web-1"].map(Self.restart) + [
                Change(ObjectRef(.vm, "web-3"), .update, reason: "", steps: [.setAutostart(true)]), Self.restart("db")
            ]
        let r = Rollouts.plan(changes, desired: fleet, running: Set(names + ["db"]))
        #expect(r.count == 1)
        #expect(r.first?.waves == [["web-1", "web-2"], ["web-10", "web-11"]])
        #expect(r.first?.size == 5 && r.first?.maxUnavailable == 2 && r.first?.wait == .agent && r.first?.timeout == 300)
        // --max-unavailable recuts the group, and gives db (no rollout:) a rollout of its own.
        let o = Rollouts.plan(changes, desired: fleet, running: Set(names + ["db"]), override: 3)
        #expect(o.map(\.group) == ["db", "web"])
        #expect(o.last?.waves == [["web-1", "web-2", "web-10"], ["web-11"]] && o.last?.budget == "--max-unavailable 3")
        #expect(o.first?.waves == [["db"]] && o.first?.wait == ReadinessWait.none)
        // The same inputs, the same waves.
        #expect(Rollouts.plan(changes.reversed(), desired: fleet, running: Set(names + ["db"])) == r)
    }

    @Test func onlyChangesThatTakeTheGuestDownCount() {
        let fleet = Fleet(
            name: "f", vms: ["web-1", "web-2", "web-3", "web-4"].map { Self.vm($0, group: "web", rollout: Self.web) })
        let reimage = { (vm: String) in
            Change(
                ObjectRef(.volume, "p/\(vm)-disk0.qcow2"), .replace, reason: "", steps: [.deleteVolume, .createVolume],
                destructive: true, parent: ObjectRef(.vm, vm))
        }
        let seed = Change(
            ObjectRef(.volume, "p/web-3-cidata.img"), .replace, reason: "", steps: [.deleteVolume, .createSeed],
            parent: ObjectRef(.vm, "web-3"))
        let migrate = Change(ObjectRef(.vm, "web-4"), .migrate, reason: "", steps: [.migrate(toHost: "b", live: true)])
        // web-1's disk is reimaged while it runs; web-2's while it is stopped (nothing to take down).
        let r = Rollouts.plan([reimage("web-1"), reimage("web-2"), seed, migrate], desired: fleet, running: ["web-1", "web-3", "web-4"])
        #expect(r.map(\.waves) == [[["web-1"]]])
        #expect(Rollouts.plan([seed, migrate], desired: fleet, running: ["web-3", "web-4"]).isEmpty)
        // A refused change is never made.
        var refused = Self.restart("web-1")
        refused.action = .refused
        #expect(Rollouts.plan([refused], desired: fleet, running: ["web-1"]).isEmpty)
    }

    @Test func aPercentageIsOfTheWholeGroup() {
        let spec = RolloutSpec(group: "profile cache", maxUnavailable: .percent(50))
        let fleet = Fleet(name: "f", vms: (1...4).map { Self.vm("c\($0)", group: "c\($0)", rollout: spec) })
        let r = Rollouts.plan([Self.restart("c1"), Self.restart("c4"), Self.restart("c3")], desired: fleet, running: ["c1", "c3", "c4"])
        #expect(r.first?.group == "profile cache" && r.first?.maxUnavailable == 2 && r.first?.size == 4)
        #expect(r.first?.waves == [["c1", "c3"], ["c4"]])
    }

    @Test func namesCompareNumbersAsNumbers() {
        let sorted = ["web-10", "web-2", "web-1", "web-02", "db", "web-1a"].sorted(by: Rollouts.naturalOrder)
        #expect(sorted == ["db", "web-1", "web-1a", "web-2", "web-02", "web-10"])
    }

    @Test func thePlannerCarriesTheWavesAndSavedPlansCompareThem() {
        var fleet = Fixture.fleet()
        fleet.vms = fleet.vms.map { v in
            var v = v
            v.rollout = RolloutSpec(group: v.group, maxUnavailable: .count(1))
            return v
        }
        let live = Fixture.live(fleet)
        var want = fleet
        want.vms = want.vms.map { v in
            var v = v
            if v.name == "web-1" { v.maxVcpus = 8 }
            return v
        }
        let plan = Planner.plan(desired: want, live: live)
        #expect(plan.rollouts?.map(\.waves) == [[["web-1"]]], "\(String(describing: plan.rollouts))")
        #expect(Planner.plan(desired: fleet, live: live).rollouts == nil)
        var other = plan
        other.rollouts?[0].waves = [["web-1"], []]
        #expect(SavedPlan.differences(saved: other, now: plan).contains { $0.hasPrefix("rollouts:") })
        #expect(SavedPlan.differences(saved: plan, now: plan).isEmpty)
    }
}
