import FleetModel
import FleetPlanning
import Foundation
import Libvirt

/// An address of a guest, as libvirt reports it (virDomainInterfaceAddresses), and where it came from.
public struct GuestAddress: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Source: String, Codable, Sendable, CaseIterable {
        /// The libvirt network's DHCP lease.
        case lease
        /// The guest agent (guest-network-get-interfaces).
        case agent
        /// The host's ARP table.
        case arp

        var libvirt: InterfaceAddressSource {
            switch self {
            case .lease: return .lease
            case .agent: return .agent
            case .arp: return .arp
            }
        }
        /// As `fleet show` and the apply summary print it.
        public var label: String {
            switch self {
            case .lease: return "DHCP lease"
            case .agent: return "guest agent"
            case .arp: return "ARP"
            }
        }
    }

    public var mac: String?
    public var address: String
    public var prefix: UInt32
    public var source: Source

    public var description: String { "\(address)/\(prefix) (\(source.label))" }

    /// A guest's IPv4 addresses from each source that answers, in the order lease, agent, ARP; an address a
    /// source already gave is not repeated. Loopback and link-local addresses (which the agent reports) are left
    /// out. A source that fails (no agent, no lease) contributes nothing: this is a read-only probe.
    public static func read(_ domain: Domain, sources: [Source] = Source.allCases) -> [GuestAddress] {
        var out: [GuestAddress] = []
        for source in sources {
            guard let ifaces = try? domain.interfaceAddresses(source: source.libvirt) else { continue }
            for iface in ifaces where iface.name != "lo" {
                for a in iface.addresses where !a.isIPv6 && !a.address.hasPrefix("127.") && !a.address.hasPrefix("169.254.") {
                    guard !out.contains(where: { $0.address == a.address }) else { continue }
                    out.append(GuestAddress(mac: iface.mac, address: a.address, prefix: a.prefix, source: source))
                }
            }
        }
        return out
    }
}

/// Why a started VM did not become ready.
public enum ReadinessError: Error, CustomStringConvertible, Equatable, Sendable {
    case timedOut(vm: String, host: String, wait: ReadinessWait, seconds: Int, last: String)
    case unreachable(vm: String, host: String, reason: String)

    public var description: String {
        switch self {
        case .timedOut(let vm, let host, let wait, let seconds, let last):
            return "vm \(vm) on \(host) was not ready (wait: \(wait.rawValue)) within \(seconds) s; last seen: \(last)"
        case .unreachable(let vm, let host, let reason):
            return "vm \(vm) on \(host): cannot check readiness: \(reason)"
        }
    }
}

/// Waiting for started guests to be ready (`wait:` on a VM, `fleet apply --wait`), and what they are ready with.
public enum Readiness {
    /// One VM to wait for.
    public struct Target: Hashable, Sendable {
        public var host: String
        public var uri: String
        public var vm: String
        public var wait: ReadinessWait
        public init(host: String, uri: String, vm: String, wait: ReadinessWait) {
            self.host = host
            self.uri = uri
            self.vm = vm
            self.wait = wait
        }
    }

    /// How it went for one VM.
    public struct Outcome: Sendable {
        public var target: Target
        public var addresses: [GuestAddress]
        public var seconds: Double
        public var error: ReadinessError?
    }

    /// The VMs apply started (created running, started, restarted or replaced) whose every change on that host
    /// was applied, with their `wait:`; `override` is the mode for VMs that declare none (`--wait=MODE`), else
    /// `none` (waiting for `none` returns at once, with the addresses seen so far).
    public static func targets(plan: Plan, report: ApplyReport, override: ReadinessWait? = nil) -> [Target] {
        var out: [Target] = []
        for hp in plan.hosts {
            for c in hp.changes {
                let starts = c.steps.contains {
                    if case .startDomain = $0 { return true }
                    if case .restartDomain = $0 { return true }
                    return false
                }
                // A VM's own start, or the reimage of one of its disks (the executor stops and starts the VM around it).
                let name: String? =
                    c.object.kind == .vm && starts
                    ? c.object.name
                    : c.object.kind == .volume && c.action == .replace && c.parent?.kind == .vm ? c.parent?.name : nil
                guard let name else { continue }
                let events = report.results.filter { $0.host == hp.host && $0.object == c.object.description && $0.phase == .finish }
                guard !events.isEmpty, events.allSatisfy({ $0.outcome == .applied }) else { continue }
                guard let vm = plan.desired.vms.first(where: { $0.name == name }), vm.state == .running else { continue }
                let mode = vm.wait ?? override ?? .none
                guard !out.contains(where: { $0.host == hp.host && $0.vm == vm.name }) else { continue }
                out.append(Target(host: hp.host, uri: hp.uri, vm: vm.name, wait: mode))
            }
        }
        return out
    }

    /// Waits for every target at once (each on its own connection), until each is ready or `timeout` seconds have
    /// passed. `progress` receives a line per VM and state change (e.g. "waiting for a DHCP lease").
    public static func wait(
        for targets: [Target], timeout: Double, connectTimeout: Double = 10, poll: Double = 2,
        progress: @escaping @Sendable (Target, String) -> Void = { _, _ in }
    ) -> [Outcome] {
        let results = LockedBox<[Int: Outcome]>([:])
        // Plain threads, all at once (up to 64): concurrentPerform runs as many at a time as the machine has
        // CPUs, so waiting for 20 guests on 2 cores would wait for them 2 at a time.
        Parallel.run(targets.count, width: 64) { i in
            let o = waitOne(targets[i], timeout: timeout, connectTimeout: connectTimeout, poll: poll, progress: progress)
            results.withLock { $0[i] = o }
        }
        let r = results.withLock { $0 }
        return targets.indices.compactMap { r[$0] }
    }

    static func waitOne(
        _ t: Target, timeout: Double, connectTimeout: Double, poll: Double,
        progress: @Sendable (Target, String) -> Void
    ) -> Outcome {
        let start = Date()
        func outcome(_ addrs: [GuestAddress], _ error: ReadinessError?) -> Outcome {
            Outcome(target: t, addresses: addrs, seconds: Date().timeIntervalSince(start), error: error)
        }
        let domain: Domain
        do {
            let conn = try Connection(uri: t.uri, timeout: connectTimeout)
            guard let d = try conn.domain(named: t.vm) else {
                return outcome([], .unreachable(vm: t.vm, host: t.host, reason: "the domain does not exist"))
            }
            domain = d
        } catch {
            return outcome([], .unreachable(vm: t.vm, host: t.host, reason: "\(error)"))
        }
        var last = ""
        func say(_ s: String) {
            if s != last { progress(t, s) }
            last = s
        }
        while true {
            let (ready, state, addrs) = check(domain, t.wait)
            if ready { return outcome(addrs, nil) }
            say(state)
            if !((try? domain.isActive) ?? false) {
                return outcome(addrs, .unreachable(vm: t.vm, host: t.host, reason: "the guest is no longer running"))
            }
            if Date().timeIntervalSince(start) + poll > timeout {
                return outcome(addrs, .timedOut(vm: t.vm, host: t.host, wait: t.wait, seconds: Int(timeout), last: state))
            }
            Thread.sleep(forTimeInterval: poll)
        }
    }

    /// One look: whether the guest is ready for `wait`, what it is doing if not, and every address seen.
    static func check(_ domain: Domain, _ wait: ReadinessWait) -> (Bool, String, [GuestAddress]) {
        switch wait {
        case .none:
            return (true, "", GuestAddress.read(domain))
        case .lease:
            let leases = GuestAddress.read(domain, sources: [.lease])
            return (!leases.isEmpty, "waiting for a DHCP lease", GuestAddress.read(domain))
        case .agent:
            let fromAgent = GuestAddress.read(domain, sources: [.agent])
            if !fromAgent.isEmpty { return (true, "", GuestAddress.read(domain)) }
            let answers = (try? domain.qemuAgentCommand(#"{"execute":"guest-ping"}"#, timeout: .seconds(3))) != nil
            return (
                false, answers ? "the guest agent answers, waiting for it to report an address" : "waiting for the guest agent",
                GuestAddress.read(domain, sources: [.lease, .arp])
            )
        case .sshPort:
            let addrs = GuestAddress.read(domain)
            if addrs.isEmpty { return (false, "waiting for an address (lease, agent or ARP)", addrs) }
            for a in addrs where tcpConnects(a.address, port: 22, timeout: 2) { return (true, "", addrs) }
            return (false, "waiting for port 22 on \(addrs.map(\.address).joined(separator: ", "))", addrs)
        }
    }

    /// Whether a TCP connection to `address:port` is accepted within `timeout` seconds.
    static func tcpConnects(_ address: String, port: UInt16, timeout: Double) -> Bool {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let r = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
    }
}

/// A value behind a lock (Foundation's NSLock; Synchronization's Mutex needs newer platforms' availability).
final class LockedBox<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
