import FleetModel
import LibvirtXML

/// NetworkSpec <-> network XML.
public enum NetworkMapping {
    public static func network(_ spec: NetworkSpec, uuid: String? = nil) -> NetworkXML {
        var n = NetworkXML(name: spec.name, uuid: uuid)
        switch spec.mode {
        case .bridge:
            // An existing host bridge: libvirt only attaches guests to it; no addressing, no DHCP.
            n.forwardMode = "bridge"
            n.bridge = NetworkXML.Bridge(name: spec.bridge)
            n.mtu = spec.mtu
            return n
        case .nat: n.forwardMode = "nat"
        case .route: n.forwardMode = "route"
        case .isolated: n.forwardMode = nil
        case .other(let m): n.forwardMode = m
        }
        if let b = spec.bridge { n.bridge = NetworkXML.Bridge(name: b, stp: true, delay: 0) }
        n.domainName = spec.domain
        n.mtu = spec.mtu
        if let subnet = spec.subnet, let gw = spec.effectiveGateway {
            var ip = NetworkXML.IP(address: gw.description, prefix: subnet.prefix)
            if let d = spec.dhcp { ip.ranges = [NetworkXML.Range(start: d.start.description, end: d.end.description)] }
            ip.hosts = spec.leases.sorted().map(hostValue)
            n.ips = [ip]
        }
        return n
    }

    static func hostValue(_ l: DHCPLease) -> NetworkXML.DHCPHost {
        NetworkXML.DHCPHost(mac: l.mac.description, name: l.name, ip: l.ip.description)
    }

    public static func render(_ spec: NetworkSpec, uuid: String? = nil) -> String { network(spec, uuid: uuid).xml() }

    /// `<host mac= name= ip=/>`, the section virNetworkUpdate (IP_DHCP_HOST) takes.
    public static func leaseXML(_ lease: DHCPLease) -> String {
        var s = hostValue(lease).xml()
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    /// The network as a spec. `hosts` and `autostart` are nil (autostart comes from the API). The gateway is the
    /// address libvirt holds (compare `effectiveGateway`); a netmask is read as a prefix. Forward modes fleet
    /// does not create (open, private, vepa, passthrough, hostdev) read as themselves: `.other(mode)`.
    public static func spec(fromXML xml: String) throws -> NetworkSpec { try read(fromXML: xml).spec }

    /// The spec and the devices under `<forward>` (see `LiveNetwork.forwardDevices`), from one parse.
    public static func read(fromXML xml: String) throws -> (spec: NetworkSpec, forwardDevices: [String]) {
        let n = try NetworkXML(xml: xml)
        let mode: NetworkMode = n.forwardMode.map(NetworkMode.init(libvirt:)) ?? .isolated
        let devices = (n.forwardDev.map { [$0] } ?? []) + n.forwardDevices.filter { $0 != n.forwardDev }
        return (try spec(n, mode: mode), devices)
    }

    static func spec(_ n: NetworkXML, mode: NetworkMode) throws -> NetworkSpec {
        var spec = NetworkSpec(name: n.name, mode: mode, bridge: n.bridge?.name, domain: n.domainName, mtu: n.mtu)
        if let ip = n.ips.first(where: { ($0.family ?? "ipv4") == "ipv4" }) {
            guard let addr = IPv4Address(parsing: ip.address) else { throw XMLError("<ip>: not an IPv4 address: \(ip.address)") }
            var prefix = ip.prefix
            if prefix == nil, let m = ip.netmask {
                guard let mask = IPv4Address(parsing: m), let p = prefixLength(mask) else { throw XMLError("<ip>: bad netmask \(m)") }
                prefix = p
            }
            if let p = prefix, (0...32).contains(p) {
                spec.subnet = IPv4Subnet(network: addr, prefix: p)
            }
            spec.gateway = addr
            if let r = ip.ranges.first, let s = IPv4Address(parsing: r.start), let e = IPv4Address(parsing: r.end) {
                spec.dhcp = DHCPSpec(start: s, end: e)
            }
            spec.leases = ip.hosts.compactMap { h in
                guard let m = h.mac.flatMap(MACAddress.init(parsing:)), let name = h.name, let a = h.ip.flatMap(IPv4Address.init(parsing:))
                else { return nil }
                return DHCPLease(mac: m, name: name, ip: a)
            }.sorted()
        }
        return spec
    }

    /// The prefix length of a contiguous netmask; nil for a non-contiguous one.
    static func prefixLength(_ mask: IPv4Address) -> Int? {
        let v = mask.value
        let p = v.nonzeroBitCount
        let expected: UInt32 = p == 0 ? 0 : UInt32.max << UInt32(32 - p)
        return expected == v ? p : nil
    }
}
