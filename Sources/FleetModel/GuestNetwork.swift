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
