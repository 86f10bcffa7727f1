import Dispatch
import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

public struct ApplyOptions: Sendable {
    public var allowRestart = false
    public var allowDestroy = false
    /// Undefining a VM keeps its UEFI variables (NVRAM file), for a VM of the same name defined later.
    public var keepNvram = false
    /// Seconds a guest gets to shut down on ACPI before it is forced off.
    public var shutdownTimeout: Double = 60
    public var connectTimeout: Double = 10
    /// Changes in flight per host, within a stage of the plan (stages run in dependency order); nil chooses:
    /// `defaultLanes` for libvirt calls, and the host's CPU count for stages that start guests (each start is a
    /// QEMU process booting). Hosts all run at once, each on its own connection.
    public var parallelism: Int?
    /// Changes in flight per host when `parallelism` is nil: libvirt calls are round trips to the daemon, which
    /// serves them on its worker threads (5 by default).
    public static let defaultLanes = 4
    /// Changes in flight per host in a stage that deletes VMs or volumes, when `parallelism` is nil (each
    /// volume deletion has a lane of its own, see Scheduler.stages). Forcing a guest off
    /// (virDomainDestroy) is mostly waiting: 1.7 s for one QEMU here, 2.3 s for ten at once. libvirtd serves 20
    /// calls at once (max_workers), and other clients need some of them.
    public static let deletionLanes = 16
    /// Changes in flight on one connection: libvirtd serves at most 5 calls of one client connection at once
    /// (max_client_requests), so wider stages open more connections to the host.
    public static let lanesPerConnection = 4
    public var secrets = SecretResolver()
    public var imageCache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/fleet/images").path
    /// Called while an image uploads: host, object (`image/NAME`), bytes sent, total bytes.
    public var uploadProgress: (@Sendable (String, String, UInt64, UInt64) -> Void)?
    public init() {}
}

/// What happened to one change.
public enum Outcome: String, Codable, Sendable {
    case applied, failed, skipped
}

public struct ApplyEvent: Codable, Sendable {
    public enum Phase: String, Codable, Sendable { case start, finish }
    public var phase: Phase
    public var host: String
    public var object: String
    public var action: String
    public var outcome: Outcome?
    /// libvirt's own message on failure, or why a change was skipped.
    public var message: String?
    public var time: Date
}

public struct ApplyReport: Codable, Sendable {
    /// Every change's events, and the readiness waits of rollout waves (action `ApplyEvent.waitAction`).
    public var results: [ApplyEvent]
    /// How each planned rollout went.
    public var rollouts: [RolloutResult] = []
    public init(results: [ApplyEvent], rollouts: [RolloutResult] = []) {
        self.results = results
        self.rollouts = rollouts
    }
    /// The changes' events (the counts are of changes, not of the waits between waves).
    var changeEvents: [ApplyEvent] { results.filter { $0.action != ApplyEvent.waitAction } }
    public var applied: Int { changeEvents.filter { $0.outcome == .applied }.count }
    public var failed: Int { changeEvents.filter { $0.outcome == .failed }.count }
    public var skipped: Int { changeEvents.filter { $0.outcome == .skipped }.count }
    public var succeeded: Bool { failed == 0 && skipped == 0 && rollouts.allSatisfy { $0.stopped == nil } }
}

/// How one rollout went: its waves run, and why it stopped if it did.
public struct RolloutResult: Codable, Sendable, Equatable {
    public var group: String
    public var waves: Int
    /// Waves whose changes applied and whose VMs were ready.
    public var completed: Int
    /// `rollout of web stopped at wave 2 of 3: …`; nil when every wave completed.
    public var stopped: String?
}

extension ApplyEvent {
    /// The action of the events of a rollout wave's readiness wait (one per VM the wave took down).
    public static let waitAction = "wait"
}

/// Why fleet itself stopped a change (libvirt's own failures stay `LibvirtError`, with libvirt's code and text).
public enum ExecutionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The plan names something the manifests do not declare (a plan of another fleet, or of other manifests).
    case notDeclared(String)
    /// Something the change needs does not exist on the host.
    case missing(String)
    /// The object is no longer the one the change was planned against (docs/ownership.md).
    case ownership(ObjectRef, String)
    /// A change fleet will not make here: a value libvirt would refuse, an unsupported operation, a foreign object.
    case refused(String)

    public var description: String {
        switch self {
        case .notDeclared(let s), .missing(let s), .refused(let s): return s
        case .ownership(let ref, let why): return "\(ref) \(why) since the plan was made; nothing was changed (run plan again)"
        }
    }
}

/// Runs a plan through libvirt. Every step is one libvirt API call (or a short sequence of them);
/// refused changes are never attempted, destructive ones only with --allow-destroy.
public final class Executor: @unchecked Sendable {
    let plan: Plan
    let options: ApplyOptions
    let emit: @Sendable (ApplyEvent) -> Void
    private let lock = NSLock()
    private var connections: [String: Connection] = [:]
    private var ledgers: [String: Ledger] = [:]
    private var memos: [String: Int] = [:]
    /// Each host's results and failures, for the whole run: a change in a later phase (a rollout's wave, what
    /// runs after the rollouts) is skipped when one it depends on did not apply in an earlier one.
    private var states: [String: RunState] = [:]
    /// Set by SIGINT handling: finish what runs, start nothing new.
    public let cancelled = ManagedFlag()

    public init(plan: Plan, options: ApplyOptions, emit: @escaping @Sendable (ApplyEvent) -> Void) {
        self.plan = plan
        self.options = options
        self.emit = emit
    }

    var fleet: Fleet { plan.desired }

    public func run() -> ApplyReport {
        // Hosts run in parallel, so with a move in the plan, image versions are deleted only once every host is
        // done: the disks on them may be leaving with a migration run from the other host (HostContext+Migration).
        let moving = plan.changes.contains { $0.action == .migrate }
        func late(_ c: Change) -> Bool { moving && c.action == .delete && c.object.kind == .image }
        // With rollouts: everything else first, then the rollouts wave by wave, then what depends on their changes.
        let phases = RolloutPhases(plan)
        func only(_ keep: (Change, RolloutPhases.Phase) -> Bool) -> [HostPlan] {
            plan.hosts.enumerated().map { h, hp in
                var out = hp
                out.changes = hp.changes.indices.filter { keep(hp.changes[$0], phases.phase[h][$0]) }.map { hp.changes[$0] }
                return out
            }
        }
        var results = runHosts(only { c, p in p == .before && !late(c) })
        var rollouts: [RolloutResult] = []
        if let planned = plan.rollouts, !planned.isEmpty {
            let (events, outcomes) = runRollouts(planned, phases: phases)
            results += events
            rollouts = outcomes
        }
        results += runHosts(only { c, p in p == .after && !late(c) })
        if moving { results += runHosts(only { c, _ in late(c) }) }
        return ApplyReport(results: results, rollouts: rollouts)
    }

    func runHosts(_ hosts: [HostPlan]) -> [ApplyEvent] {
        let box = ResultBox<[ApplyEvent]>(count: hosts.count)
        Parallel.run(hosts.count, width: hosts.count) { i in box.set(i, self.runHost(hosts[i])) }
        return box.values.flatMap { $0 ?? [] }
    }

    /// Changes in flight for one stage of a host's plan (`ApplyOptions.parallelism`).
    func lanes(for stage: [[Change]], hostCPUs: () -> Int) -> Int {
        if let p = options.parallelism { return max(1, p) }
        let starts = stage.contains { $0.contains { $0.steps.contains(.startDomain) } }
        if starts { return max(1, hostCPUs()) }
        let deletes = stage.contains { $0.contains { $0.action == .delete && ($0.object.kind == .vm || $0.object.kind == .volume) } }
        return deletes ? ApplyOptions.deletionLanes : ApplyOptions.defaultLanes
    }

    /// One ledger per host for the whole run: a move changes the ledgers of two hosts, one of them from the
    /// other host's run, and both runs must see the same entries.
    func ledger(_ host: String, conn: Connection, hypervisor: Hypervisor) -> Ledger {
        lock.lock()
        defer { lock.unlock() }
        if let l = ledgers[host] { return l }
        let l = Ledger(conn: conn, fleet: fleet.name, hypervisor: hypervisor)
        ledgers[host] = l
        return l
    }

    /// What a host's driver was found to accept (e.g. which undefine flags), so later calls skip the refusals.
    func memo(_ host: String, _ key: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return memos["\(host) \(key)"] ?? 0
    }

    func remember(_ host: String, _ key: String, _ value: Int) {
        lock.lock()
        defer { lock.unlock() }
        memos["\(host) \(key)"] = value
    }

    /// The run's connection to `host`; `slot` > 0: one of the extra connections wide stages use (opened when
    /// first needed, kept for the run).
    func connection(_ host: String, slot: Int = 0) throws -> Connection {
        lock.lock()
        defer { lock.unlock() }
        let key = slot == 0 ? host : "\(host)#\(slot)"
        if let c = connections[key] { return c }
        guard let uri = plan.hosts.first(where: { $0.host == host })?.uri else {
            throw ExecutionError.notDeclared("unknown host \(host)")
        }
        let c = try Connection(uri: uri, timeout: options.connectTimeout)
        connections[key] = c
        return c
    }

    func state(_ host: String) -> RunState {
        lock.lock()
        defer { lock.unlock() }
        if let s = states[host] { return s }
        let s = RunState()
        states[host] = s
        return s
    }

    /// Reports a host's changes as skipped, with why (a stopped rollout): they count as not applied for what
    /// depends on them.
    func skip(_ hp: HostPlan, _ message: String) -> [ApplyEvent] {
        let state = state(hp.host)
        let first = state.results.count
        for c in hp.changes where c.action != .refused {
            let e = ApplyEvent(
                phase: .finish, host: hp.host, object: c.object.description, action: c.action.rawValue, outcome: .skipped,
                message: message, time: Date())
            emit(e)
            state.record(e, failed: c.object)
        }
        return Array(state.results[first...])
    }

    func runHost(_ hp: HostPlan) -> [ApplyEvent] {
        let state = state(hp.host)
        let first = state.results.count
        guard !hp.changes.isEmpty else { return [] }
        @Sendable func finish(_ c: Change, _ outcome: Outcome, _ message: String?) {
            let e = ApplyEvent(
                phase: .finish, host: hp.host, object: c.object.description, action: c.action.rawValue,
                outcome: outcome, message: message, time: Date())
            emit(e)
            state.record(e, failed: outcome != .applied ? c.object : nil)
        }
        let conn: Connection
        do { conn = try connection(hp.host) } catch {
            for c in hp.changes where c.action != .refused { finish(c, .failed, "\(error)") }
            return Array(state.results[first...])
        }
        let ctx = HostContext(executor: self, host: hp.host, conn: conn)
        let prerecorded = ctx.prerecord(
            hp.changes.filter { c in
                !c.destructive || options.allowDestroy
            })
        defer {
            // Entries of volumes deleted in the last moments of the run; then marks recorded up front for
            // disks that were not created after all.
            try? ctx.ledger.flush()
            let unapplied = Set(state.results.filter { $0.outcome != .applied }.map(\.object))
            let notMade = prerecorded.filter { unapplied.contains("volume/\($0.0)") }
            if !notMade.isEmpty { try? ctx.ledger.removeAll(notMade) }
        }
        @Sendable func run(_ c: Change, _ ctx: HostContext) {
            if c.action == .refused { return }
            if cancelled.isSet {
                finish(c, .skipped, "interrupted before it started")
                return
            }
            if c.destructive && !options.allowDestroy {
                finish(c, .skipped, "destroys data: run with --allow-destroy")
                return
            }
            if let dep = Scheduler.dependencies(c, plan: plan).first(where: state.hasFailed) {
                finish(c, .skipped, "depends on \(dep), which did not apply")
                return
            }
            emit(ApplyEvent(phase: .start, host: hp.host, object: c.object.description, action: c.action.rawValue, time: Date()))
            do {
                try ctx.apply(c)
                finish(
                    c, .applied,
                    c.action == .updateRestart && !options.allowRestart
                        ? (c.object.kind == .network
                            ? "config written; the network runs the old config until it restarts (--allow-restart restarts it)"
                            : "config written; the guest runs the old config until it restarts (--allow-restart restarts it)") : nil)
            } catch {
                finish(c, .failed, "\(error)")
            }
        }
        // Stage by stage in plan order (pools, images, volumes, networks, VMs, snapshots; deletions in
        // reverse), lanes within a stage in parallel (Scheduler.stages).
        var cpus: Int?
        for stage in Scheduler.stages(hp.changes) {
            let width = lanes(for: stage) {
                if cpus == nil { cpus = (try? conn.nodeInfo()).map { Int($0.cpus) } ?? ApplyOptions.defaultLanes }
                return cpus!
            }
            // Lane threads share connections, `lanesPerConnection` each; a connection that cannot be opened
            // leaves its lanes on the first one.
            let slots = (width + ApplyOptions.lanesPerConnection - 1) / ApplyOptions.lanesPerConnection
            let contexts = (0..<max(1, slots)).map { slot in
                slot == 0 ? ctx : (try? connection(hp.host, slot: slot)).map { HostContext(executor: self, host: hp.host, conn: $0) } ?? ctx
            }
            Parallel.run(stage.count, width: width) { worker, i in
                let lane = contexts[worker / ApplyOptions.lanesPerConnection]
                for c in stage[i] { run(c, lane) }
            }
        }
        return Array(state.results[first...])
    }
}

/// Results and failures of one host's run, shared by its lanes.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ApplyEvent] = []
    private var failed: Set<ObjectRef> = []

    func record(_ e: ApplyEvent, failed object: ObjectRef?) {
        lock.lock()
        defer { lock.unlock() }
        events.append(e)
        if let object { failed.insert(object) }
    }

    func hasFailed(_ ref: ObjectRef) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return failed.contains(ref)
    }

    var results: [ApplyEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}

/// Work spread over threads that mostly wait for a daemon. Neither `concurrentPerform` (it runs at most as many
/// iterations at once as this machine has CPUs: 2 here, however many hosts or lanes there are) nor the global
/// dispatch queues (libdispatch adds a thread for blocked work about once a second: 20 hosts took 20 s to start)
/// fit that: these are plain threads, started at once.
public enum Parallel {
    /// Runs `body` for 0..<count on at most `width` threads (the caller's among them) and returns when all are done.
    public static func run(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
        run(count, width: width) { _, i in body(i) }
    }

    /// The same, telling `body` which of the threads runs it (0 is the caller's): `(thread, index)`.
    public static func run(_ count: Int, width: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
        guard count > 0 else { return }
        let n = max(1, min(width, count))
        let next = ManagedCounter()
        let work: @Sendable (Int) -> Void = { worker in
            while true {
                let i = next.take()
                if i >= count { return }
                body(worker, i)
            }
        }
        let done = DispatchSemaphore(value: 0)
        for worker in 1..<n {
            Thread {
                work(worker)
                done.signal()
            }.start()
        }
        work(0)
        for _ in 1..<n { done.wait() }
    }
}

/// Hands out 0, 1, 2, … to the threads of `Parallel.run`.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

public final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
    public var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
