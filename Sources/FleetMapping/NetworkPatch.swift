import FleetModel
import LibvirtXML

/// Updates of an existing network as a patch of its persistent definition (see `DomainPatch`).
///
/// fleet manages: the forward mode (only when the mode as fleet reads it differs), the bridge name, the DNS
/// domain name, the MTU, and the first IPv4 `<ip>`'s address, prefix and first DHCP range. Everything else
/// stays as it is: `<dns>` entries, `<portgroup>`s, `<route>`s, other `<ip>` blocks, `<nat>` port ranges,
/// the bridge's MAC and unknown elements. DHCP hosts are left alone: leases change through virNetworkUpdate
/// (the `addLease`/`removeLease` steps), never by rewriting the document.
public enum NetworkPatch {
    public static func patch(_ current: String, spec: NetworkSpec) throws -> String {
        try patch(XElement.parse(current), spec: spec).render()
    }

    /// The patched XML, or nil when the patch changes nothing.
    public static func update(_ current: String, spec: NetworkSpec) throws -> String? {
        let root = try XElement.parse(current)
        let out = try patch(root, spec: spec)
        return out == root ? nil : out.render()
    }

    public static func patch(_ current: XElement, spec: NetworkSpec) throws -> XElement {
        guard current.name == "network" else { throw PatchError("expected a <network> document, got <\(current.name)>") }
        let want = NetworkMapping.network(spec).element()
        var r = current
        let have = try NetworkMapping.spec(fromXML: current.render())
        let afterName = (r.index(of: "uuid") ?? r.index(of: "name")).map { $0 + 1 }

        if have.mode != spec.mode {
            if let f = want.child("forward") { r.replaceOrInsert(f, at: afterName) } else { r.removeAll("forward") }
            // A bridge-mode network is only a host bridge: libvirt refuses addressing on it.
            if spec.mode == .bridge { r.removeAll("ip") }
        }
        if let b = spec.bridge, r.child("bridge")?["name"] != b {
            var el = r.child("bridge") ?? XElement("bridge")
            el.set("name", b)
            if spec.mode != .bridge, r.child("bridge") == nil {
                el.set("stp", "on")
                el.set("delay", "0")
            }
            r.replaceOrInsert(el, at: r.index(of: "forward").map { $0 + 1 } ?? afterName)
        }
        if let d = spec.domain, r.child("domain")?["name"] != d {
            var el = r.child("domain") ?? XElement("domain")
            el.set("name", d)
            r.replaceOrInsert(el, at: r.index(of: "bridge").map { $0 + 1 } ?? afterName)
        }
        if let m = spec.mtu, r.child("mtu")?["size"] != String(m) {
            var el = r.child("mtu") ?? XElement("mtu")
            el.set("size", String(m))
            r.replaceOrInsert(el, at: r.index(of: "bridge").map { $0 + 1 } ?? afterName)
        }
        guard spec.mode != .bridge else { return r }

        // The first IPv4 block is fleet's; IPv6 and further IPv4 blocks are kept.
        let ipIndex = r.children.firstIndex { $0.name == "ip" && ($0["family"] ?? "ipv4") == "ipv4" }
        guard let wantIP = want.child("ip") else {
            if spec.subnet == nil, have.subnet != nil, let i = ipIndex { r.children.remove(at: i) }
            return r
        }
        guard let i = ipIndex else {
            r.insertAfterSiblings(wantIP)
            return r
        }
        var ip = r.children[i]
        let before = ip
        if have.subnet != spec.subnet || have.effectiveGateway != spec.effectiveGateway {
            ip.set("address", wantIP["address"])
            ip.set("netmask", nil)
            ip.set("prefix", wantIP["prefix"])
        }
        if have.dhcp != spec.dhcp {
            var dhcp = ip.child("dhcp") ?? XElement("dhcp")
            let wantRange = wantIP.child("dhcp")?.child("range")
            if let wr = wantRange {
                if let ri = dhcp.index(of: "range") { dhcp.children[ri] = wr } else { dhcp.children.insert(wr, at: 0) }
            } else {
                dhcp.removeAll("range")
            }
            if dhcp.children.isEmpty { ip.removeAll("dhcp") } else { ip.replaceOrInsert(dhcp) }
        }
        if ip != before { r.children[i] = ip }
        return r
    }
}
