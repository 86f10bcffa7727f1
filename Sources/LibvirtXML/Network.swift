/// The parts of libvirt's network XML (formatnetwork.html) that fleet manages or shows.
public struct NetworkXML: Hashable, Sendable {
    public var name: String
    public var uuid: String?
    /// `<forward mode=>`; nil: no `<forward>` (an isolated network). A `<forward>` without mode is `nat`.
    public var forwardMode: String?
    /// `<forward dev=>`: the host interface a nat/route network forwards through, or a direct network's first device.
    public var forwardDev: String?
    /// The devices under `<forward>`: `<interface dev=>` names, `<pf dev=>` (as `pf DEV`) and PCI `<address>`es
    /// (hostdev pools of SR-IOV functions), in document order.
    public var forwardDevices: [String]
    public var bridge: Bridge?
    public var mac: String?
    public var domainName: String?
    public var mtu: Int?
    public var ips: [IP]

    public init(
        name: String, uuid: String? = nil, forwardMode: String? = nil, forwardDev: String? = nil, forwardDevices: [String] = [],
        bridge: Bridge? = nil, mac: String? = nil, domainName: String? = nil, mtu: Int? = nil, ips: [IP] = []
    ) {
        self.name = name
        self.uuid = uuid
        self.forwardMode = forwardMode
        self.forwardDev = forwardDev
        self.forwardDevices = forwardDevices
        self.bridge = bridge
        self.mac = mac
        self.domainName = domainName
        self.mtu = mtu
        self.ips = ips
    }

    public struct Bridge: Hashable, Sendable {
        public var name: String?
        public var stp: Bool?
        public var delay: Int?
        public init(name: String? = nil, stp: Bool? = nil, delay: Int? = nil) {
            self.name = name
            self.stp = stp
            self.delay = delay
        }
    }

    public struct DHCPHost: Hashable, Sendable {
        public var mac: String?
        public var name: String?
        public var ip: String?
        public init(mac: String? = nil, name: String? = nil, ip: String? = nil) {
            self.mac = mac
            self.name = name
            self.ip = ip
        }
        public func element() -> XElement { XElement("host", [("mac", mac), ("name", name), ("ip", ip)]) }
        public func xml() -> String { element().render() }
    }

    public struct Range: Hashable, Sendable {
        public var start: String
        public var end: String
        public init(start: String, end: String) {
            self.start = start
            self.end = end
        }
    }

    public struct IP: Hashable, Sendable {
        public var family: String?
        public var address: String
        public var netmask: String?
        public var prefix: Int?
        public var ranges: [Range]
        public var hosts: [DHCPHost]
        public init(
            family: String? = nil, address: String, netmask: String? = nil, prefix: Int? = nil,
            ranges: [Range] = [], hosts: [DHCPHost] = []
        ) {
            self.family = family
            self.address = address
            self.netmask = netmask
            self.prefix = prefix
            self.ranges = ranges
            self.hosts = hosts
        }
    }

    public init(xml: String) throws { try self.init(element: XElement.parse(xml)) }

    public init(element r: XElement) throws {
        try r.expectRoot("network")
        name = try r.require("<name>", r.childText("name"))
        uuid = r.childText("uuid")
        let fw = r.child("forward")
        forwardMode = fw.map { $0["mode"] ?? "nat" }
        forwardDev = fw?["dev"]
        forwardDevices =
            fw?.children.compactMap { c -> String? in
                switch c.name {
                case "interface": return c["dev"]
                case "pf": return c["dev"].map { "pf " + $0 }
                case "address": return DomainXML.pciText(c)
                default: return nil
                }
            } ?? []
        bridge = r.child("bridge").map {
            Bridge(name: $0["name"], stp: XMLNumber.bool($0["stp"]), delay: XMLNumber.parse($0["delay"]))
        }
        mac = r.child("mac")?["address"]
        domainName = r.child("domain")?["name"]
        mtu = XMLNumber.parse(r.child("mtu")?["size"])
        ips = try r.all("ip").map { ip in
            guard let a = ip["address"] else { throw XMLError("<ip> lacks address") }
            let dhcp = ip.child("dhcp")
            return IP(
                family: ip["family"], address: a, netmask: ip["netmask"], prefix: XMLNumber.parse(ip["prefix"]),
                ranges: dhcp?.all("range").compactMap { r in
                    guard let s = r["start"], let e = r["end"] else { return nil }
                    return Range(start: s, end: e)
                } ?? [],
                hosts: dhcp?.all("host").map { DHCPHost(mac: $0["mac"], name: $0["name"], ip: $0["ip"]) } ?? [])
        }
    }

    public func xml() -> String { element().render() }

    public func element() -> XElement {
        var r = XElement("network")
        r.addText("name", name)
        r.addText("uuid", uuid)
        if let f = forwardMode {
            var e = XElement("forward", [("dev", forwardDev), ("mode", f)])
            for d in forwardDevices {
                if d.hasPrefix("pf ") {
                    e.children.append(XElement("pf", [("dev", String(d.dropFirst(3)))]))
                } else if let pci = DomainXML.pciParts(d) {
                    e.children.append(
                        XElement("address", [("type", "pci"), ("domain", pci.0), ("bus", pci.1), ("slot", pci.2), ("function", pci.3)]))
                } else {
                    e.children.append(XElement("interface", [("dev", d)]))
                }
            }
            r.children.append(e)
        }
        if let b = bridge {
            r.children.append(
                XElement(
                    "bridge",
                    [
                        ("name", b.name), ("stp", b.stp.map { $0 ? "on" : "off" }),
                        ("delay", b.delay.map(String.init))
                    ]))
        }
        if let m = mac { r.children.append(XElement("mac", [("address", m)])) }
        if let d = domainName { r.children.append(XElement("domain", [("name", d)])) }
        if let m = mtu { r.children.append(XElement("mtu", [("size", String(m))])) }
        for ip in ips {
            var e = XElement(
                "ip",
                [
                    ("family", ip.family), ("address", ip.address), ("netmask", ip.netmask),
                    ("prefix", ip.prefix.map(String.init))
                ])
            if !ip.ranges.isEmpty || !ip.hosts.isEmpty {
                var d = XElement("dhcp")
                for rg in ip.ranges { d.children.append(XElement("range", [("start", rg.start), ("end", rg.end)])) }
                for h in ip.hosts { d.children.append(h.element()) }
                e.children.append(d)
            }
            r.children.append(e)
        }
        return r
    }
}
