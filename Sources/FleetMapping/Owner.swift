import FleetModel
import LibvirtXML

/// Which libvirt driver a document is rendered for.
public enum Hypervisor: String, Sendable {
    /// QEMU/KVM: `<domain type='kvm|qemu'>` as the spec says.
    case qemu
    /// libvirt's test driver: `<domain type='test'>`, without what the test driver rejects (see docs/libvirt-defaults.md).
    case test
}

/// fleet's ownership element, carried in a domain's `<metadata>` (docs/ownership.md).
public struct OwnerXML {
    public static let namespace = "https://fleet.dev/xmlns/owner/1"
    /// The prefix fleet writes; readers resolve the namespace URI, not the prefix.
    public static let prefix = "fleet"

    static func element(_ mark: OwnerMark) -> XElement {
        XElement(
            "fleet:owner", [("xmlns:fleet", namespace), ("fleet", mark.fleet), ("kind", mark.kind.rawValue), ("name", mark.name)],
            children: attrElements(mark.attributes))
    }

    static func attrElements(_ attributes: [String: String]) -> [XElement] {
        attributes.keys.sorted().map { XElement("fleet:attr", [("name", $0), ("value", attributes[$0])]) }
    }

    /// `<fleet:owner xmlns:fleet='…' fleet='lab' kind='vm' name='web'><fleet:attr name='k' value='v'/>…</fleet:owner>`,
    /// attributes sorted by name. The string virDomainSetMetadata takes (with key `fleet` and `namespace`).
    public static func render(_ mark: OwnerMark) -> String {
        var s = element(mark).render()
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    /// The element without prefix or namespace declaration: the form `virDomainSetMetadata` takes (with key
    /// `prefix` and uri `namespace`; libvirt puts every descendant in the namespace itself and refuses an element
    /// that declares it). `virDomainGetMetadata` returns this same bare form.
    public static func metadataElement(_ mark: OwnerMark) -> String {
        var s = bare(element(mark)).render()
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    /// Strips the prefix and the namespace declaration from an element and its descendants.
    static func bare(_ el: XElement) -> XElement {
        XElement(
            el.localName, el.attributes.filter { !$0.0.hasPrefix("xmlns") }.map { ($0.0, Optional($0.1)) },
            children: el.children.map(bare), text: el.text)
    }

    /// The mark in the element alone (as virDomainGetMetadata returns it) or in a whole domain's `<metadata>`.
    /// nil when there is none, or when the XML is malformed or the mark incomplete.
    public static func parse(_ xml: String) -> OwnerMark? {
        guard let root = try? XElement.parse(xml) else { return nil }
        return find(in: root)
    }

    static func find(in root: XElement) -> OwnerMark? {
        guard let el = Namespaces.first(in: root, namespace: namespace, local: "owner") else { return nil }
        return mark(el.element, prefix: el.prefix)
    }

    static func mark(_ el: XElement, prefix: String) -> OwnerMark? {
        guard let fleet = el["fleet"], let k = el["kind"], let kind = ObjectKind(rawValue: k), let name = el["name"] else { return nil }
        var attrs: [String: String] = [:]
        for a in el.children where a.localName == "attr" && (a.prefix == prefix || a.prefix.isEmpty) {
            if let n = a["name"], let v = a["value"] { attrs[n] = v }
        }
        return OwnerMark(fleet: fleet, kind: kind, name: name, attributes: attrs)
    }
}

/// Minimal namespace resolution: libvirt keeps metadata elements with whatever prefix they were written
/// with (or `virDomainSetMetadata`'s key), so fleet matches on the URI.
enum Namespaces {
    struct Found {
        var element: XElement
        var prefix: String
    }

    static func first(in el: XElement, namespace: String, local: String, scope: [String: String] = [:], depth: Int = 0) -> Found? {
        var scope = scope
        for (k, v) in el.attributes {
            if k == "xmlns" { scope[""] = v } else if k.hasPrefix("xmlns:") { scope[String(k.dropFirst(6))] = v }
        }
        if el.localName == local, scope[el.prefix] == namespace { return Found(element: el, prefix: el.prefix) }
        // virDomainGetMetadata returns the element bare (no prefix, no xmlns): the caller asked by namespace.
        if depth == 0, el.name == local, scope[""] == nil { return Found(element: el, prefix: "") }
        guard depth < 4 else { return nil }  // <domain><metadata><fleet:owner>: never deeper.
        for c in el.children {
            if let f = first(in: c, namespace: namespace, local: local, scope: scope, depth: depth + 1) { return f }
        }
        return nil
    }
}
