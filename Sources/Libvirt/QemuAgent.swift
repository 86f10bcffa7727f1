internal import CLibvirt
internal import CLibvirtQemu
import Foundation

/// How long `qemuAgentCommand` waits for the guest agent's reply.
public enum AgentTimeout: Sendable, Equatable {
    /// Wait until the agent answers (VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK).
    case block
    /// libvirt's default (VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT).
    case `default`
    /// Do not wait for a reply (VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT).
    case noWait
    /// At most this many seconds.
    case seconds(Int32)

    var raw: Int32 {
        switch self {
        case .block: return VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK.rawValue
        case .default: return VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT.rawValue
        case .noWait: return VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT.rawValue
        case .seconds(let s): return max(1, s)
        }
    }
}

extension Domain {
    /// Sends one JSON command to the qemu-guest-agent of a running domain through libvirt
    /// (virDomainQemuAgentCommand, libvirt-qemu) and returns the agent's JSON reply, e.g.
    /// `{"execute":"guest-ping"}` → `{"return":{}}`. The domain needs the `org.qemu.guest_agent.0`
    /// channel and a running agent; otherwise libvirt's error (VIR_ERR_AGENT_UNRESPONSIVE,
    /// VIR_ERR_OPERATION_INVALID, …) is thrown. libvirt documents this API as unsupported for
    /// management: fleet uses it for tests, read-only probes, and to grow a guest's filesystem after
    /// growing its disk (guest-exec of growpart and resize2fs/xfs_growfs, see FleetExecution's GuestGrowth).
    public func qemuAgentCommand(_ json: String, timeout: AgentTimeout = .seconds(5)) throws -> String {
        try checkPtr("virDomainQemuAgentCommand", takeString(virDomainQemuAgentCommand(ptr, json, timeout.raw, 0)))
    }
}

/// A client of a running domain's qemu-guest-agent: JSON commands, and programs run inside the guest
/// (guest-exec with captured output, then guest-exec-status until they exit). Used by fleet to grow a guest's
/// filesystem (FleetExecution's GuestGrowth), and by the tests to look inside booted guests.
public struct GuestAgent: Sendable {
    public let domain: Domain

    public init(domain: Domain) { self.domain = domain }

    /// What the agent could not do, in its words or in fleet's.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// A program's exit code and output (guest-exec-status).
    public struct Result: CustomStringConvertible, Sendable {
        public var exitCode: Int
        public var stdout: String
        public var stderr: String
        public var description: String { "exit \(exitCode), stdout \(stdout.debugDescription), stderr \(stderr.debugDescription)" }
    }

    /// Sends `{"execute": …, "arguments": …}` and returns the reply's `return` value (JSONSerialization types).
    public func command(_ execute: String, _ arguments: [String: Any]? = nil, timeout: Int32 = 10) throws -> Any? {
        var cmd: [String: Any] = ["execute": execute]
        if let arguments { cmd["arguments"] = arguments }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: cmd), as: UTF8.self)
        let reply = try domain.qemuAgentCommand(json, timeout: .seconds(timeout))
        let obj = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
        return obj?["return"]
    }

    /// Runs `path args` in the guest and waits (polling every `poll` seconds) until it exits.
    public func exec(_ path: String, _ args: [String], timeout: TimeInterval = 300, poll: TimeInterval = 0.5) throws -> Result {
        guard let r = try command("guest-exec", ["path": path, "arg": args, "capture-output": true]) as? [String: Any],
            let pid = r["pid"] as? Int
        else { throw Failure(description: "guest-exec \(path): the agent returned no pid") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let s = try command("guest-exec-status", ["pid": pid]) as? [String: Any], s["exited"] as? Bool == true {
                func text(_ k: String) -> String {
                    (s[k] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
                }
                return Result(exitCode: s["exitcode"] as? Int ?? -1, stdout: text("out-data"), stderr: text("err-data"))
            }
            Thread.sleep(forTimeInterval: poll)
        }
        throw Failure(description: "\(path) \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s")
    }

    /// Polls guest-ping until the agent answers (the guest is booting meanwhile); fails when the domain stops.
    public func waitForPing(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            do {
                _ = try command("guest-ping", timeout: 5)
                return
            } catch { last = "\(error)" }
            guard try domain.isActive else { throw Failure(description: "the guest stopped while booting") }
            Thread.sleep(forTimeInterval: 3)
        }
        throw Failure(description: "no guest agent after \(Int(timeout)) s: \(last)")
    }
}
