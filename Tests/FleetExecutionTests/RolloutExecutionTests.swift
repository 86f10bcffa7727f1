import FleetExecution
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// Rollouts run by the executor on libvirt's test driver (`test:///default`: one state per process, which the
/// executor's and the readiness wait's connections share while one is open): waves one after another, and a wave that fails or is
/// not ready stops its rollout with the rest of the group untouched.
@Suite(.serialized) struct RolloutExecutionTests {
    let uri = "test:///default"

    /// A group of three running VMs, applied; `grow` raises their maximum vCPUs (a restart-class change).
    struct Group {
        let prefix = uniquePrefix()
        var fleet: Fleet
        var names: [String] { fleet.vms.map(\.name) }

        init(uri: String, rollout: RolloutSpec? = nil) {
            let fleetName = "ft" + prefix.dropFirst(3).prefix(8)
            let group = "\(prefix)web"
            let vms = (1...3).map { i in
                var v = VMSpec(name: "\(group)-\(i)", group: group, host: "h", vcpus: 1, maxVcpus: 2, memory: .mib(64))
                v.cdrom = "/iso/boot.iso"
                v.rollout = rollout.map { RolloutSpec(group: group, maxUnavailable: $0.maxUnavailable, wait: $0.wait, timeout: $0.timeout) }
                return v
            }
            fleet = Fleet(name: fleetName, hosts: [HostSpec(name: "h", uri: uri)], vms: vms)
        }

        func grown() -> Fleet {
            var f = fleet
            for i in f.vms.indices { f.vms[i].maxVcpus = 4 }
            return f
        }

        func plan(_ f: Fleet) -> Plan { Session(fleet: f).plan().0 }

        func apply(_ plan: Plan, events: LockedEvents? = nil) -> ApplyReport {
            var o = ApplyOptions()
            o.allowRestart = true
            o.shutdownTimeout = 1
            return Executor(plan: plan, options: o) { e in events?.append(e) }.run()
        }

        func maxVcpus(_ name: String) throws -> Int? {
            let conn = try Connection(uri: "test:///default")
            guard let d = try conn.domain(named: name) else { return nil }
            let xml = try d.xmlDesc(flags: [.inactive])
            guard let r = xml.range(of: #"<vcpu[^>]*>(\d+)</vcpu>"#, options: .regularExpression) else { return nil }
            return Int(xml[r].split(separator: ">")[1].split(separator: "<")[0])
        }

        func destroy() {
            let empty = Fleet(name: fleet.name, hosts: fleet.hosts)
            var o = ApplyOptions()
            o.allowDestroy = true
            _ = Executor(plan: plan(empty), options: o) { _ in }.run()
        }
    }

    final class LockedEvents: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [ApplyEvent] = []
        func append(_ e: ApplyEvent) {
            lock.lock()
            events.append(e)
            lock.unlock()
        }
        var all: [ApplyEvent] {
            lock.lock()
            defer { lock.unlock() }
            return events
        }
    }

    @Test func wavesRunOneAfterAnother() throws {
        let g = Group(uri: uri, rollout: RolloutSpec(group: "", maxUnavailable: .count(1), wait: ReadinessWait.none))
        let keepAlive = try Connection(uri: uri)  // the test driver's state lasts while a connection is open
        defer {
            g.destroy()
            _ = keepAlive
        }
        let made = g.apply(g.plan(g.fleet))
        #expect(made.failed == 0 && made.skipped == 0, "\(made.results.filter { $0.outcome != .applied })")
        let plan = g.plan(g.grown())
        #expect(plan.rollouts?.first?.waves == g.names.map { [$0] }, "\(String(describing: plan.rollouts))")
        let events = LockedEvents()
        let report = g.apply(plan, events: events)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied }) \(report.rollouts)")
        #expect(report.rollouts.map(\.completed) == [3] && report.rollouts.first?.stopped == nil)
        // Each VM's change and readiness wait are done before the next VM's change starts.
        let order = events.all.filter { $0.object.hasPrefix("vm/\(g.prefix)") }.map {
            "\($0.phase.rawValue) \($0.object.dropFirst(3 + g.prefix.count)) \($0.action)"
        }
        var want: [String] = []
        for n in 1...3 {
            want += ["start web-\(n) update-restart", "finish web-\(n) update-restart", "start web-\(n) wait", "finish web-\(n) wait"]
        }
        #expect(order == want, "\(order)")
        for n in g.names { #expect(try g.maxVcpus(n) == 4, "\(n)") }
        #expect(g.plan(g.grown()).changes.isEmpty)
    }

    @Test func aFailedChangeInWaveTwoStopsTheRolloutAndLeavesWaveThreeUntouched() throws {
        let g = Group(uri: uri, rollout: RolloutSpec(group: "", maxUnavailable: .count(1), wait: ReadinessWait.none))
        let keepAlive = try Connection(uri: uri)  // the test driver's state lasts while a connection is open
        defer {
            g.destroy()
            _ = keepAlive
        }
        #expect(g.apply(g.plan(g.fleet)).failed == 0)
        let plan = g.plan(g.grown())
        // The failure: web-2 is replaced behind fleet's back after the plan (another domain of the same name), so
        // the executor refuses to touch it (docs/ownership.md).
        let conn = try Connection(uri: uri)
        let old = try #require(try conn.domain(named: g.names[1]))
        try old.destroy()
        try old.undefine()
        _ = try conn.defineDomain(
            xml: "<domain type='test'><name>\(g.names[1])</name><memory>65536</memory><os><type>hvm</type></os></domain>")
        defer { try? conn.domain(named: g.names[1])?.undefine() }
        let report = g.apply(plan)
        let outcome = { (n: Int) in report.results.first { $0.object == "vm/\(g.names[n])" && $0.action == "update-restart" } }
        #expect(outcome(0)?.outcome == .applied)
        #expect(outcome(1)?.outcome == .failed, "\(String(describing: outcome(1)))")
        #expect(outcome(2)?.outcome == .skipped)
        let stopped = report.rollouts.first?.stopped ?? ""
        #expect(stopped.hasPrefix("rollout of \(g.prefix)web stopped at wave 2 of 3: vm/\(g.names[1]) on h failed:"), "\(stopped)")
        #expect(outcome(2)?.message == "not started: \(stopped)")
        #expect(!report.succeeded && report.rollouts.first?.completed == 1)
        #expect(try g.maxVcpus(g.names[0]) == 4)
        #expect(try g.maxVcpus(g.names[2]) == 2, "wave 3 untouched")
    }

    @Test func aWaveNotReadyInTimeStopsTheRollout() throws {
        // The test driver's guests never get a DHCP lease: wave 1 times out (after one look: the timeout is shorter
        // than the poll interval).
        let g = Group(uri: uri, rollout: RolloutSpec(group: "", maxUnavailable: .count(2), wait: .lease, timeout: Seconds(1)))
        let keepAlive = try Connection(uri: uri)  // the test driver's state lasts while a connection is open
        defer {
            g.destroy()
            _ = keepAlive
        }
        #expect(g.apply(g.plan(g.fleet)).failed == 0)
        let plan = g.plan(g.grown())
        #expect(plan.rollouts?.first?.waves == [[g.names[0], g.names[1]], [g.names[2]]])
        let report = g.apply(plan)
        let stopped = report.rollouts.first?.stopped ?? ""
        #expect(stopped.hasPrefix("rollout of \(g.prefix)web stopped at wave 1 of 2: vm \(g.prefix)web-"), "\(stopped)")
        #expect(stopped.contains("was not ready (wait: lease) within 1 s"), "\(stopped)")
        #expect(report.results.filter { $0.action == ApplyEvent.waitAction && $0.outcome == .failed }.count == 2)
        #expect(report.results.first { $0.object == "vm/\(g.names[2])" }?.outcome == .skipped)
        #expect(report.failed == 0 && report.skipped == 1 && !report.succeeded)
        #expect(try g.maxVcpus(g.names[2]) == 2)
    }
}
