import FleetExecution
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// Placement on the two-host lab (`../shared/twohost`): a `count: 2`, `spread: true` group with `host: auto` lands one
/// VM on each host (defined, stopped: nothing boots), a re-plan is empty, and a VM asking for more memory than
/// either host has free is refused, naming both hosts and their free memory (virNodeGetFreeMemory).
@Suite(.serialized, .enabled(if: TwoHostLab.present, "the two-host lab (\(TwoHostLab.dir)/up.sh) is absent"))
struct TwoHostPlacementTests {
    let hostA = TwoHostLab.uri("hostA"), hostB = TwoHostLab.uri("hostB")

    func yaml(_ t: TestFleet, big: ByteSize? = nil, hosts: String = "host: auto") -> String {
        var y = """
            fleet: \(t.fleetName)
            hosts:
              hostA: {uri: "\(hostA)"}
              hostB: {uri: "\(hostB)"}
            vms:
              \(t.prefix)web:
                count: 2
                \(hosts)
                spread: true
                virt_type: qemu
                memory: 64MiB
                graphics: none
                cdrom: /nonexistent.iso
                state: stopped

            """
        if let big {
            y += """
                  \(t.prefix)big:
                    host: auto
                    virt_type: qemu
                    memory: \(big.bytes / 1024)KiB
                    graphics: none
                    cdrom: /nonexistent.iso

                """
        }
        return y
    }

    @Test func aSpreadGroupLandsOnBothHostsAndAShortageIsRefused() throws {
        let connA: Connection
        let connB: Connection
        do { (connA, connB) = (try Connection(uri: hostA), try Connection(uri: hostB)) } catch {
            throw TestFailure("the two-host lab is not up (run \(TwoHostLab.dir)/up.sh as root): \(error)")
        }
        let t = try TestFleet(uri: hostA)
        let hosts = [HostSpec(name: "hostA", uri: hostA), HostSpec(name: "hostB", uri: hostB)]
        defer {
            t.destroy(Fleet(name: t.fleetName, hosts: hosts))
            for conn in [connA, connB] {
                for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(t.prefix) || d.name == LedgerName.of(t.fleetName) {
                    try? d.undefine(flags: [.managedSave, .snapshotsMetadata, .nvram])
                }
            }
            try? FileManager.default.removeItem(at: t.dir)
        }

        let fleet = try t.load(yaml(t))
        let plan = t.plan(fleet)
        // Which host gets web-1 depends on the memory each has left (the lab's hosts share this machine, and other
        // tests may use them); spread puts web-2 on the other one.
        let placed = plan.placements ?? []
        #expect(placed.map(\.outcome) == [.placed, .placed] && Set(placed.map(\.host)) == ["hostA", "hostB"], "\(placed)")
        let report = t.apply(plan)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        for d in placed {
            let (there, other) = d.host == "hostA" ? (connA, connB) : (connB, connA)
            #expect(try there.domain(named: d.vm) != nil && other.domain(named: d.vm) == nil, "\(d.vm)")
        }

        // Placement is stable: the same manifest plans nothing, and the text shows no placement.
        let again = t.plan(fleet)
        #expect(again.isEmpty && !again.hasErrors, "\(again.changes.map { "\($0.action) \($0.object)" })")
        #expect((again.placements ?? []).allSatisfy { $0.outcome == .kept }, "\(again.placements ?? [])")
        #expect(!PlanRenderer().render(again).contains("placement"), "\(PlanRenderer().render(again))")

        // More memory than either host has free (both daemons run on this machine: the same free memory),
        // but less than they have in all: refused for want of free memory, nothing of it made.
        let total = try connA.nodeInfo().memoryKiB * 1024
        let free = try connA.freeMemoryBytes()
        try #require(total > free + (1 << 30), "this machine has \(free) of \(total) bytes free: no room for the test's margins")
        let big = ByteSize(bytes: (free + (total - free) / 2) / (1 << 20) * (1 << 20))
        let short = t.plan(try t.load(yaml(t, big: big)))
        let c = try #require(short.changes.first { $0.object == ObjectRef(.vm, "\(t.prefix)big") })
        #expect(c.action == .refused, "\(c)")
        #expect(c.reason.hasPrefix("no candidate host can take \(t.prefix)big ("), "\(c.reason)")
        #expect(c.reason.contains(" of memory, 1 vCPU): hostA: "), "\(c.reason)")
        // (A test on the lab at the same time may take allocation from one host: then it lacks that instead.)
        #expect(c.reason.contains("B of memory free") && c.reason.contains("; hostB: "), "\(c.reason)")
        #expect(c.reason.hasSuffix("or add candidates"), "\(c.reason)")
        #expect(short.changes.filter { $0.action != .refused }.isEmpty, "\(short.changes.map { "\($0.action) \($0.object)" })")
        #expect(PlanRenderer().render(short).contains("  x vm/\(t.prefix)big  not placed\n      # no candidate host"))
    }

    /// Both VMs of a spread group on hostA (its only candidate then); with both hosts as candidates they stay (stable),
    /// and `--rebalance` moves one to hostB: a migration (offline: they are stopped), nothing destroyed.
    @Test func rebalanceMovesOneVMOfAGroupCrowdedOnOneHost() throws {
        let connA: Connection
        let connB: Connection
        do { (connA, connB) = (try Connection(uri: hostA), try Connection(uri: hostB)) } catch {
            throw TestFailure("the two-host lab is not up (run \(TwoHostLab.dir)/up.sh as root): \(error)")
        }
        let t = try TestFleet(uri: hostA)
        let hosts = [HostSpec(name: "hostA", uri: hostA), HostSpec(name: "hostB", uri: hostB)]
        defer {
            t.destroy(Fleet(name: t.fleetName, hosts: hosts))
            for conn in [connA, connB] {
                for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(t.prefix) || d.name == LedgerName.of(t.fleetName) {
                    try? d.undefine(flags: [.managedSave, .snapshotsMetadata, .nvram])
                }
            }
            try? FileManager.default.removeItem(at: t.dir)
        }
        var report = t.apply(t.plan(try t.load(yaml(t, hosts: "hosts: [hostA]"))))
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try connA.domain(named: "\(t.prefix)web-1") != nil && connA.domain(named: "\(t.prefix)web-2") != nil)

        let fleet = try t.load(yaml(t))
        let stable = t.plan(fleet)
        #expect(stable.isEmpty && (stable.placements ?? []).allSatisfy { $0.outcome == .kept }, "\(stable.placements ?? [])")
        var options = PlanOptions()
        options.rebalance = true
        let plan = t.plan(fleet, options: options)
        #expect(
            (plan.placements ?? []).map { "\($0.vm) \($0.outcome) \($0.host)" }
                == ["\(t.prefix)web-1 kept hostA", "\(t.prefix)web-2 moved hostB"], "\(plan.placements ?? [])")
        #expect(plan.changes.map { "\($0.action) \($0.object)" } == ["migrate vm/\(t.prefix)web-2"], "\(plan.changes)")
        report = t.apply(plan)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try connA.domain(named: "\(t.prefix)web-2") == nil && connB.domain(named: "\(t.prefix)web-2") != nil)
        // Placed again without --rebalance: where it went, it stays.
        #expect(t.plan(fleet).isEmpty)
    }
}
