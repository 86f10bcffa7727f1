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

    func yaml(_ t: TestFleet, big: ByteSize? = nil) -> String {
        var y = """
            fleet: \(t.fleetName)
            hosts:
              hostA: {uri: "\(hostA)"}
              hostB: {uri: "\(hostB)"}
            vms:
              \(t.prefix)web:
                count: 2
                host: auto
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
        let placed = (plan.placements ?? []).map { "\($0.vm) \($0.outcome) \($0.host)" }
        #expect(placed == ["\(t.prefix)web-1 placed hostA", "\(t.prefix)web-2 placed hostB"], "\(plan.placements ?? [])")
        let report = t.apply(plan)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try connA.domain(named: "\(t.prefix)web-1") != nil && connB.domain(named: "\(t.prefix)web-2") != nil)
        #expect(try connA.domain(named: "\(t.prefix)web-2") == nil && connB.domain(named: "\(t.prefix)web-1") == nil)

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
        #expect(c.reason.contains(" of memory free; hostB: ") && c.reason.hasSuffix("or add candidates"), "\(c.reason)")
        #expect(short.changes.filter { $0.action != .refused }.isEmpty, "\(short.changes.map { "\($0.action) \($0.object)" })")
        #expect(PlanRenderer().render(short).contains("  x vm/\(t.prefix)big  not placed\n      # no candidate host"))
    }
}
