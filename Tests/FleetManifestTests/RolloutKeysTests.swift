import FleetModel
import Foundation
import Testing

@testable import FleetManifest

/// `rollout:` on a VM group or a profile: what it decodes to, and each bad value reported where it is.
@Suite struct RolloutKeysTests {
    static func manifest(_ rollout: String) -> String {
        """
        fleet: f
        profiles:
          cache: {memory: 256MiB, cdrom: /x.iso, rollout: {max_unavailable: 50%, wait: lease}}
        vms:
          web: {count: 3, memory: 256MiB, cdrom: /x.iso, rollout: \(rollout)}
          cache-a: {profile: cache}
          cache-b: {profile: cache, rollout: {timeout: 90s}}
          solo: {memory: 256MiB, cdrom: /x.iso}
        """
    }

    @Test func aGroupOrAProfileDeclaresItsRollout() throws {
        let (fleet, diags) = try load(Self.manifest("{max_unavailable: 2, wait: agent, timeout: 2m}"))
        #expect(diags.isEmpty, "\(diags)")
        let vms = try #require(fleet?.vms)
        let web = RolloutSpec(group: "web", maxUnavailable: .count(2), wait: .agent, timeout: Seconds(120))
        #expect(vms.filter { $0.group == "web" }.map(\.rollout) == [web, web, web])
        // Inherited from the profile: the profile's VMs are the group; declared on the entry: the entry is.
        #expect(
            vms.first { $0.name == "cache-a" }?.rollout == RolloutSpec(group: "profile cache", maxUnavailable: .percent(50), wait: .lease))
        #expect(
            vms.first { $0.name == "cache-b" }?.rollout == RolloutSpec(group: "cache-b", maxUnavailable: .count(1), timeout: Seconds(90)))
        #expect(vms.first { $0.name == "solo" }?.rollout == nil)
    }

    @Test(arguments: [
        ("{max_unavailable: 0}", "max_unavailable: 0 is out of range 1...1000"),
        ("{max_unavailable: \"0%\"}", "max_unavailable: \"0%\" is not a percentage from 1% to 100%"),
        ("{max_unavailable: 101%}", "max_unavailable: \"101%\" is not a percentage from 1% to 100%"),
        ("{max_unavailable: many}", "max_unavailable: expected an integer, found \"many\""),
        ("{wait: agnet}", "wait: invalid value \"agnet\"; expected one of lease, agent, ssh-port, none"),
        ("{timeout: 5 minutes}", "timeout: invalid duration \"5 minutes\" (expected e.g. 90s, 5m, 1h or a number of seconds)"),
        ("{timeout: 0s}", "timeout: invalid duration \"0s\""),
        ("{max_unavailble: 1}", "unknown key \"max_unavailble\"; did you mean \"max_unavailable\"?")
    ])
    func badValuesAreReportedWhereTheyAre(_ rollout: String, _ message: String) throws {
        let (fleet, diags) = try load(Self.manifest(rollout))
        #expect(fleet == nil)
        #expect(diags.count == 1 && diags[0].hasPrefix("fleet.yaml:5:") && diags[0].contains(message), "\(diags)")
    }

    @Test func percentagesRoundDownWithAMinimumOfOne() {
        #expect(RolloutSpec.Budget.percent(25).limit(groupSize: 3) == 1)
        #expect(RolloutSpec.Budget.percent(25).limit(groupSize: 8) == 2)
        #expect(RolloutSpec.Budget.percent(50).limit(groupSize: 5) == 2)
        #expect(RolloutSpec.Budget.percent(100).limit(groupSize: 7) == 7)
        #expect(RolloutSpec.Budget.count(4).limit(groupSize: 2) == 4)
    }
}
