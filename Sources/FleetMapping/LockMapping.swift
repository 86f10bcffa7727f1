import FleetModel
import LibvirtXML

/// The per-host lock: a defined, never-started domain named `fleet-lock-host`. libvirt's names are unique per
/// host, so defining it (without a UUID) succeeds for exactly one client however the URI is spelled and
/// wherever the client runs; the loser gets "already exists".
public enum LockMapping {
    public static let namespace = "https://fleet.dev/xmlns/lock/1"
    public static let domainName = "fleet-lock-host"

    static func element(_ h: LockHolder) -> XElement {
        XElement(
            "fleet:lock",
            [
                ("xmlns:fleet", namespace), ("machine", h.machine), ("pid", String(h.pid)), ("fleet", h.fleet),
                ("command", h.command), ("started", String(h.started)), ("expires", String(h.expires)),
                ("token", h.token)
            ])
    }

    /// The bare element `virDomainSetMetadata` takes (key `fleet`, uri `namespace`), to renew the expiry in place.
    public static func metadataElement(_ h: LockHolder) -> String {
        var s = OwnerXML.bare(element(h)).render()
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    public static func render(_ h: LockHolder, hypervisor: Hypervisor) -> String {
        DomainXML(
            type: hypervisor == .test ? "test" : "qemu", name: domainName,
            description: "fleet's lock for this host, held by \(h). Never start it. If its holder is gone, "
                + "`fleet unlock` removes it (see fleet's docs/ownership.md).",
            metadata: [element(h)], memory: 16 << 20, vcpu: DomainXML.VCPU(placement: "static", count: 1),
            os: DomainXML.OS(type: "hvm", arch: "x86_64"), clockOffset: "utc",
            onPoweroff: "destroy", onReboot: "destroy", onCrash: "destroy"
        ).xml()
    }

    /// The holder recorded in a lock domain's XML (or the bare element); nil when absent or malformed.
    public static func holder(fromXML xml: String) -> LockHolder? {
        guard let root = try? XElement.parse(xml),
            let el = Namespaces.first(in: root, namespace: namespace, local: "lock")?.element,
            let machine = el["machine"], let pid = el["pid"].flatMap({ Int32($0) }), let fleet = el["fleet"],
            let command = el["command"], let started = el["started"].flatMap({ Double($0) }),
            let expires = el["expires"].flatMap({ Double($0) }), let token = el["token"]
        else { return nil }
        return LockHolder(machine: machine, pid: pid, fleet: fleet, command: command, started: started, expires: expires, token: token)
    }
}
