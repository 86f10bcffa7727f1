import FleetModel
import LibvirtXML

/// One owned object recorded in a fleet's ledger. `object` names it: `pool`, `pool/volume` or `network`
/// (the mark's kind says which).
public struct LedgerEntry: Hashable, Codable, Sendable {
    public var object: String
    public var mark: OwnerMark
    public init(object: String, mark: OwnerMark) {
        self.object = object
        self.mark = mark
    }
}

/// The ledger: a defined, never-started domain per fleet and host whose `<metadata>` records the ownership
/// marks of objects that cannot carry metadata in libvirt 9.0 (networks, pools, volumes). See docs/ownership.md.
public enum LedgerMapping {
    public static let namespace = "https://fleet.dev/xmlns/ledger/1"

    public static func domainName(fleet: String) -> String { "fleet-ledger-\(fleet)" }

    static func ledgerElement(fleet: String, entries: [LedgerEntry]) -> XElement {
        let sorted = entries.sorted { ($0.object, $0.mark.kind) < ($1.object, $1.mark.kind) }
        return XElement(
            "fleet:ledger", [("xmlns:fleet", namespace), ("fleet", fleet)],
            children: sorted.map { e in
                XElement(
                    "fleet:entry", [("object", e.object), ("fleet", e.mark.fleet), ("kind", e.mark.kind.rawValue), ("name", e.mark.name)],
                    children: OwnerXML.attrElements(e.mark.attributes))
            })
    }

    /// Only the ledger element, bare (no prefix, no xmlns): what virDomainSetMetadata (key `OwnerXML.prefix`,
    /// uri `namespace`) takes to replace the entries without redefining the domain, and what virDomainGetMetadata returns.
    public static func renderMetadata(fleet: String, entries: [LedgerEntry]) -> String {
        var s = OwnerXML.bare(ledgerElement(fleet: fleet, entries: entries)).render()
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    /// The full ledger domain: minimal and valid (16 MiB, 1 vCPU, no disks, no NICs), with a description
    /// that says what it is.
    public static func render(fleet: String, entries: [LedgerEntry], hypervisor: Hypervisor, uuid: String? = nil) -> String {
        let d = DomainXML(
            type: hypervisor == .test ? "test" : "qemu", name: domainName(fleet: fleet), uuid: uuid,
            description: "fleet ownership ledger for fleet '\(fleet)': records which networks, pools and volumes fleet created. "
                + "Never start it; deleting it makes fleet treat those objects as foreign (see fleet's docs/ownership.md).",
            metadata: [ledgerElement(fleet: fleet, entries: entries)],
            memory: 16 << 20, vcpu: DomainXML.VCPU(placement: "static", count: 1),
            os: DomainXML.OS(type: "hvm", arch: "x86_64"), clockOffset: "utc",
            onPoweroff: "destroy", onReboot: "destroy", onCrash: "destroy")
        return d.xml()
    }

    /// The entries in a ledger domain's XML, or in the `<fleet:ledger>` element alone. Empty when there is no ledger.
    public static func entries(fromXML xml: String) throws -> [LedgerEntry] {
        let root = try XElement.parse(xml)
        guard let found = Namespaces.first(in: root, namespace: namespace, local: "ledger") else { return [] }
        return found.element.children.filter { $0.localName == "entry" && ($0.prefix == found.prefix || $0.prefix.isEmpty) }.compactMap {
            e in
            guard let object = e["object"], let mark = OwnerXML.mark(e, prefix: found.prefix) else { return nil }
            return LedgerEntry(object: object, mark: mark)
        }
    }
}
