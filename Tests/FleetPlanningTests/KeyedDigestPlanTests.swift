import FleetModel
import Testing

@testable import FleetPlanning

/// Root-password digests salted with the fleet key: a disk recorded with the keyless digest of the same inputs
/// (made before fleet had keys) is current; one recorded with another key is rebuilt only as a visible,
/// destructive change whose reason names the key, never silently.
@Suite struct KeyedDigestPlanTests {
    func setup(recorded: String) -> (Fleet, LiveState) {
        var f = ImagePlanTests().fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        f.vms[0].customize = Customization(rootPassword: .env("PW"), hostname: true)
        var live = ImagePlanTests().live(for: f)
        live.hosts[0].volumes[1].owner?.attributes["customize"] = recorded
        return (f, live)
    }

    @Test func olderKeylessDigestIsCurrent() {
        let (f, live) = setup(recorded: "old")
        var o = PlanOptions(customizationDigests: ["vm": "new.k0123abcd"])
        #expect(Planner.plan(desired: f, live: live, options: o).change("volume/p/vm-disk0.qcow2")?.action == .replace)
        o.olderCustomizationDigests = ["vm": "old"]
        #expect(Planner.plan(desired: f, live: live, options: o).changes.isEmpty)
    }

    @Test func anotherKeyIsNamedInTheReason() {
        let (f, live) = setup(recorded: "aaaa.k11111111")
        let p = Planner.plan(desired: f, live: live, options: PlanOptions(customizationDigests: ["vm": "bbbb.k22222222"]))
        let c = p.change("volume/p/vm-disk0.qcow2")
        #expect(c?.action == .replace && c?.destructive == true)
        #expect(c?.reason.contains("customized with fleet key 11111111, the key in use is 22222222") == true, "\(c?.reason ?? "")")
        let unkeyed = Planner.plan(desired: f, live: live, options: PlanOptions(customizationDigests: ["vm": "bbbb"]))
        #expect(unkeyed.change("volume/p/vm-disk0.qcow2")?.reason.contains("the key in use is absent") == true)
        // Same key, changed password: no key note.
        let same = Planner.plan(desired: f, live: live, options: PlanOptions(customizationDigests: ["vm": "cccc.k11111111"]))
        #expect(same.change("volume/p/vm-disk0.qcow2")?.reason.contains("fleet key") == false)
    }

    @Test func olderSeedInstanceIDIsCurrent() {
        var f = ImagePlanTests().fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        f.vms[0].cloudInit = CloudInitSpec(userData: "/ud", rootPassword: .env("PW"))
        var live = ImagePlanTests().live(for: f)
        guard let (pool, name) = f.vms[0].seedVolume else {
            Issue.record("no seed volume")
            return
        }
        live.hosts[0].volumes.append(
            LiveVolume(
                pool: pool, name: name, path: "/p/\(name)", format: "raw", capacity: .mib(1), allocation: .mib(1),
                owner: OwnerMark(
                    fleet: "lab", kind: .volume, name: "vm", attributes: ["vm": "vm", "role": "seed", "instance-id": "iid-old"])))
        var o = PlanOptions(seedInstanceIDs: ["vm": "iid-new"])
        #expect(Planner.plan(desired: f, live: live, options: o).change("volume/\(pool)/\(name)")?.action == .replace)
        o.olderSeedInstanceIDs = ["vm": "iid-old"]
        #expect(Planner.plan(desired: f, live: live, options: o).changes.isEmpty)
    }
}
