import FleetImages
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

/// The one pipeline from a loaded fleet to a plan and its execution: image inputs → host locks → live
/// state → planner → executor. `plan`, `apply`, `destroy`, `drift`, the benchmarks and the
/// system tests all run this, so they run what users run.
public struct Session: Sendable {
    /// The fleet as loaded from the manifests.
    public var fleet: Fleet
    /// Its hosts, with `--connect` overrides applied.
    public var hosts: [HostSpec]
    /// Seconds to wait for a host to answer.
    public var timeout: Double
    public var secrets: SecretResolver

    public init(fleet: Fleet, hosts: [HostSpec]? = nil, timeout: Double = 10, secrets: SecretResolver = SecretResolver()) {
        self.fleet = fleet
        self.hosts = hosts ?? fleet.hosts
        self.timeout = timeout
        self.secrets = secrets
    }

    /// Reads the hosts and plans. `warn` receives inputs that could not be read (apply reports them per disk).
    public func plan(_ options: PlanOptions = PlanOptions(), warn: (String) -> Void = { _ in }) -> (Plan, LiveState) {
        let live = StateReader(fleet: fleet.name, timeout: timeout).read(hosts: hosts)
        var placed = fleet
        placed.hosts = hosts  // with --connect overrides: which hosts are local decides the share-source check
        // The planner places VMs with host: auto or hosts: itself; the share-source check needs their hosts first.
        placed = Placement.place(placed, live: live, rebalance: options.rebalance).fleet
        let inputs = ImageInputs.compute(placed, secrets: secrets)
        var desired = inputs.apply(to: fleet)
        desired.hosts = hosts
        var options = options
        options.customizationDigests = inputs.digests
        options.seedInstanceIDs = inputs.seedIDs
        options.graphicsPasswordDigests = inputs.graphicsPasswordDigests
        options.olderCustomizationDigests = inputs.olderDigests
        options.olderSeedInstanceIDs = inputs.olderSeedIDs
        options.ignitionDigests = inputs.ignitionDigests
        options.missingShareSources = inputs.missingShareSources
        for w in inputs.warnings { warn(w) }
        return (Planner.plan(desired: desired, live: live, options: options), live)
    }

    /// Takes every host's lock, in host-name order so that two runs over overlapping hosts cannot deadlock.
    /// A host that cannot be reached is not locked: its read fails too, and the plan reports it. On any
    /// other failure the locks already taken are released.
    public func lock(command: String, timeout: Double, waiting: (String, LockHolder) -> Void = { _, _ in }) throws -> HostLocks {
        var held: [HostLock] = []
        do {
            for h in hosts.sorted(by: { $0.name < $1.name }) {
                guard let conn = try? Connection(uri: h.uri, timeout: self.timeout) else { continue }
                held.append(
                    try HostLock.acquire(
                        host: h.name, conn: conn, fleet: fleet.name, command: command, timeout: timeout,
                        waiting: { waiting(h.name, $0) }))
            }
        } catch {
            for lock in held { lock.release() }
            throw error
        }
        return HostLocks(held)
    }

    /// The executor for a plan of this session.
    public func executor(_ plan: Plan, options: ApplyOptions, emit: @escaping @Sendable (ApplyEvent) -> Void) -> Executor {
        var options = options
        options.secrets = secrets
        return Executor(plan: plan, options: options, emit: emit)
    }

    /// sha256 of each file, keyed by the path given: what a saved plan records of its manifests.
    public static func digests(of files: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for f in files { out[f] = (try? ImageSource.sha256(ofFile: f)) ?? "unreadable" }
        return out
    }
}

/// The locks of one run; released together.
public final class HostLocks: @unchecked Sendable {
    public let locks: [HostLock]
    init(_ locks: [HostLock]) { self.locks = locks }
    public func release() { for lock in locks { lock.release() } }
}
