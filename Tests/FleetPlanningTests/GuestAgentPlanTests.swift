import FleetModel
import Testing

@testable import FleetPlanning

/// `guest_agent:` is a channel in the domain definition: a change waits for the next boot, and an unset key
/// leaves whatever channel the live domain has.
@Suite struct GuestAgentPlanTests {
    let fleet = Fixture.fleet()

    func plan(_ live: LiveState, fleet: Fleet) -> Plan { Planner.plan(desired: fleet, live: live) }

    @Test func addingTheAgentToARunningVMNeedsARestart() throws {
        let f = fleet.with { f in f.vms[1].guestAgent = true }
        let c = try #require(plan(Fixture.live(fleet), fleet: f).change("vm/web-1"))
        #expect(c.action == .updateRestart)
        #expect(c.attributes == [AttributeChange("guest_agent", before: "false", after: "true")])
        #expect(c.steps == [.defineDomain, .restartDomain])
    }

    @Test func removingItFromAStoppedVMIsAnUpdate() throws {
        var live = Fixture.live(fleet)
        let i = try #require(live.hosts[0].domains.firstIndex { $0.name == "db" })
        live.hosts[0].domains[i].config.guestAgent = true
        #expect(plan(live, fleet: fleet).change("vm/db") == nil, "unset: the live channel is left alone")
        let f = fleet.with { f in f.vms[0].guestAgent = false }
        let c = try #require(plan(live, fleet: f).change("vm/db"))
        #expect(c.action == .update && c.steps == [.defineDomain])
        #expect(c.attributes == [AttributeChange("guest_agent", before: "true", after: "false")])
    }

    @Test func inSyncWhenBothHaveIt() {
        var live = Fixture.live(fleet)
        for i in live.hosts[0].domains.indices { live.hosts[0].domains[i].config.guestAgent = true }
        let f = fleet.with { f in for i in f.vms.indices { f.vms[i].guestAgent = true } }
        #expect(plan(live, fleet: f).changes.isEmpty)
    }

    @Test func createListsIt() throws {
        let f = fleet.with { f in f.vms[1].guestAgent = true }
        var live = Fixture.live(fleet)
        live.hosts[0].domains.removeAll { $0.name == "web-1" }
        let c = try #require(plan(live, fleet: f).change("vm/web-1", .create))
        #expect(c.attributes.contains(AttributeChange("guest_agent", before: nil, after: "true")))
    }
}
