internal import CLibvirt
internal import CLibvirtQemu

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
