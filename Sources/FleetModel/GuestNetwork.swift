/// What a guest is told about its network through cloud-init (network-config v2), and when fleet considers a
/// started guest ready.

/// One NIC as the guest configures it: matched by MAC; a static address (with the network's prefix, gateway and
/// DNS servers) or DHCP. Derived from the manifest: a VM with a static `ip:` on a `bridge` network, where libvirt
/// serves no DHCP, gets one entry per NIC.
public struct GuestNICConfig: Hashable, Codable, Sendable {
    public var mac: MACAddress
    /// nil: DHCP.
    public var address: IPv4Address?
    public var prefix: Int?
    public var gateway: IPv4Address?
    public var dns: [IPv4Address]

    public init(
        mac: MACAddress, address: IPv4Address? = nil, prefix: Int? = nil, gateway: IPv4Address? = nil,
        dns: [IPv4Address] = []
    ) {
        self.mac = mac
        self.address = address
        self.prefix = prefix
        self.gateway = gateway
        self.dns = dns
    }
}

/// `wait:` on a VM: what apply waits for after starting it.
public enum ReadinessWait: String, Hashable, Codable, Sendable, CaseIterable {
    /// A DHCP lease from the libvirt network (NAT/isolated networks with DHCP).
    case lease
    /// The guest agent answers and reports an address.
    case agent
    /// TCP port 22 accepts connections on one of the guest's addresses.
    case sshPort = "ssh-port"
    case none
}

/// `rollout:` on a VM group (a `count:` entry, or a profile): restart- and replace-class changes of the group's
/// VMs run in waves of at most `maxUnavailable` VMs, each wave waiting for its VMs to be ready before the next
/// (docs/planning.md, "Rollouts").
public struct RolloutSpec: Hashable, Codable, Sendable {
    /// How many of the group's VMs may be down at once: a number, or a percentage of the group's size.
    public enum Budget: Hashable, Codable, Sendable, CustomStringConvertible {
        case count(Int)
        case percent(Int)

        /// VMs at once in a group of `size`: a percentage rounds down, with a minimum of 1.
        public func limit(groupSize size: Int) -> Int {
            switch self {
            case .count(let n): return max(1, n)
            case .percent(let p): return max(1, size * p / 100)
            }
        }

        public var description: String {
            switch self {
            case .count(let n): return String(n)
            case .percent(let p): return "\(p)%"
            }
        }
    }

    /// The default `timeout:` of a rollout's wave: 5 minutes.
    public static let defaultTimeout = Seconds(300)

    /// The group the rollout covers: the VM entry's name, or `profile NAME` for a profile's VMs.
    public var group: String
    public var maxUnavailable: Budget
    /// What a wave waits for; nil: each VM's own `wait:`, else none.
    public var wait: ReadinessWait?
    public var timeout: Seconds

    public init(group: String, maxUnavailable: Budget, wait: ReadinessWait? = nil, timeout: Seconds = RolloutSpec.defaultTimeout) {
        self.group = group
        self.maxUnavailable = maxUnavailable
        self.wait = wait
        self.timeout = timeout
    }
}
