import Dispatch
import FleetMapping
import FleetModel
import Foundation
import Libvirt

/// Why a host's lock could not be taken.
public enum HostLockError: Error, CustomStringConvertible, Sendable {
    /// Another run holds it and is alive.
    case held(host: String, by: LockHolder)
    /// Its holder is dead or its lease expired: `fleet unlock` removes it.
    case stale(host: String, by: LockHolder, why: String)
    case libvirt(host: String, LibvirtError)

    public var description: String {
        switch self {
        case .held(let host, let h):
            return "host \(host) is locked by \(h) since \(LockInfo.time(h.started)); wait for it, or pass --lock-timeout SECONDS"
        case .stale(let host, let h, let why):
            return "host \(host) has a stale lock from \(h) since \(LockInfo.time(h.started)) (\(why)); "
                + "if no fleet run is working on it, remove the lock with `fleet unlock \(host)`"
        case .libvirt(let host, let e):
            return "cannot lock host \(host): \(e.message)"
        }
    }
}

enum LockInfo {
    static func time(_ t: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))
    }
}

/// One run's hold on one host (docs/ownership.md, "The host lock"): the lock domain defined by this run,
/// renewed while held, undefined on release. Only the run whose token is in the lock ever removes it.
public final class HostLock: @unchecked Sendable {
    /// How long a lock lives without renewal, and how often the holder renews it.
    public static let leaseSeconds: Double = 120
    static let renewSeconds: Double = 30

    public let host: String
    let conn: Connection
    private(set) var holder: LockHolder
    private var uuid: String
    private var timer: DispatchSourceTimer?
    private let mutex = NSLock()

    private init(host: String, conn: Connection, holder: LockHolder, uuid: String) {
        self.host = host
        self.conn = conn
        self.holder = holder
        self.uuid = uuid
    }

    deinit { timer?.cancel() }

    /// Takes the lock of `host`, waiting up to `timeout` seconds while another run holds it. A stale lock is
    /// never taken over here: it is waited on, then reported, and `fleet unlock` removes it.
    public static func acquire(
        host: String, conn: Connection, fleet: String, command: String, timeout: Double,
        waiting: (LockHolder) -> Void = { _ in }
    ) throws -> HostLock {
        var announced = false
        let hypervisor: Hypervisor = ((try? conn.hypervisorType) ?? "") == "TEST" ? .test : .qemu
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let now = Date().timeIntervalSince1970
            let me = LockHolder(
                machine: ProcessInfo.processInfo.hostName, pid: getpid(), fleet: fleet, command: command,
                started: now, expires: now + leaseSeconds, token: UUID().uuidString)
            do {
                // No UUID in the XML: if the name exists, libvirt refuses ("already exists with uuid …").
                let d = try conn.defineDomain(xml: LockMapping.render(me, hypervisor: hypervisor))
                let lock = HostLock(host: host, conn: conn, holder: me, uuid: try d.uuidString)
                lock.startRenewing()
                return lock
            } catch let e as LibvirtError {
                guard let current = try? holder(conn) else {
                    // Not a lock conflict (or the holder released it in between): try once more, then report.
                    if (try? conn.domain(named: LockMapping.domainName)) == nil, Date() < deadline { continue }
                    throw HostLockError.libvirt(host: host, e)
                }
                // A stale lock is never taken over: it is waited on like a live one (an operator may be removing
                // it), and reported as stale when the time is up.
                if Date() >= deadline {
                    if let why = staleness(current.holder) { throw HostLockError.stale(host: host, by: current.holder, why: why) }
                    throw HostLockError.held(host: host, by: current.holder)
                }
                if !announced {
                    waiting(current.holder)
                    announced = true
                }
                usleep(250_000)
            }
        }
    }

    /// The lock as it stands on a host, nil when nobody holds it.
    public static func holder(_ conn: Connection) throws -> (holder: LockHolder, uuid: String)? {
        guard let d = try conn.domain(named: LockMapping.domainName) else { return nil }
        guard let h = LockMapping.holder(fromXML: try d.xmlDesc(flags: .inactive)) else {
            // A lock domain without a readable holder (hand-made, or written by a newer fleet): treat as held
            // by an unknown run that expired at once, so it is reported as stale, never taken silently.
            return (LockHolder(machine: "?", pid: 0, fleet: "?", command: "?", started: 0, expires: 0, token: ""), try d.uuidString)
        }
        return (h, try d.uuidString)
    }

    /// Why a holder no longer holds its lock, nil while it is alive: its lease expired, or it ran on this
    /// machine and its process is gone.
    public static func staleness(_ h: LockHolder, now: Double = Date().timeIntervalSince1970) -> String? {
        if h.expires < now { return "its lease expired at \(LockInfo.time(h.expires))" }
        if h.machine == ProcessInfo.processInfo.hostName, h.pid > 0, kill(h.pid, 0) != 0, errno == ESRCH {
            return "process \(h.pid) is no longer running"
        }
        return nil
    }

    /// `fleet unlock`: removes a host's lock. A live holder's lock is removed only with `force`.
    /// Returns the holder that was removed, nil when there was no lock.
    public static func breakLock(conn: Connection, host: String, force: Bool) throws -> LockHolder? {
        guard let (h, uuid) = try holder(conn) else { return nil }
        if !force && staleness(h) == nil { throw HostLockError.held(host: host, by: h) }
        // Only the lock we looked at: a lock taken by a new run in between has another UUID.
        guard let d = try conn.domain(uuid: uuid) else { return h }
        try d.undefine()
        return h
    }

    /// `breakLock` on a host given by its URI.
    public static func breakLock(uri: String, host: String, force: Bool, timeout: Double) throws -> LockHolder? {
        try breakLock(conn: Connection(uri: uri, timeout: timeout), host: host, force: force)
    }

    func startRenewing() {
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + Self.renewSeconds, repeating: Self.renewSeconds)
        t.setEventHandler { [weak self] in self?.renew() }
        t.resume()
        timer = t
    }

    /// Pushes the expiry forward, if the lock is still ours.
    func renew() {
        mutex.lock()
        defer { mutex.unlock() }
        guard let d = try? conn.domain(uuid: uuid) else { return }
        holder.expires = Date().timeIntervalSince1970 + Self.leaseSeconds
        try? d.setMetadata(LockMapping.metadataElement(holder), key: OwnerXML.prefix, uri: LockMapping.namespace, flags: .config)
    }

    /// Removes the lock if it is still the one this run defined.
    public func release() {
        timer?.cancel()
        timer = nil
        mutex.lock()
        defer { mutex.unlock() }
        guard let d = try? conn.domain(uuid: uuid), d.name == LockMapping.domainName else { return }
        try? d.undefine()
    }
}
