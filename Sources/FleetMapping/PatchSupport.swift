import LibvirtXML

/// Small in-place edits on an `XElement` tree that keep everything they do not touch: attribute order,
/// unknown attributes, unknown children and their order. Used by the domain and network patches.
extension XElement {
    /// Sets (or, with nil, removes) one attribute, keeping its position when it exists; a new one goes last.
    mutating func set(_ name: String, _ value: String?) {
        var a = attributes
        if let i = a.firstIndex(where: { $0.0 == name }) {
            if let value { a[i].1 = value } else { a.remove(at: i) }
        } else if let value {
            a.append((name, value))
        } else {
            return
        }
        attributes = a
    }

    /// Index of the first child with this name.
    func index(of name: String) -> Int? { children.firstIndex { $0.name == name } }

    /// Replaces the first child with this name, or inserts `el` at `position` (default: the end).
    mutating func replaceOrInsert(_ el: XElement, at position: Int? = nil) {
        if let i = index(of: el.name) { children[i] = el } else { children.insert(el, at: min(position ?? children.count, children.count)) }
    }

    /// Removes every child with this name.
    mutating func removeAll(_ name: String) { children.removeAll { $0.name == name } }

    /// The element with its trimmed text replaced, keeping attributes and children.
    func withText(_ t: String) -> XElement {
        var e = self
        e.text = t
        return e
    }

    /// Inserts `el` after the last child with the same name, or at `fallback` when there is none.
    mutating func insertAfterSiblings(_ el: XElement, fallback: Int? = nil) {
        if let last = children.lastIndex(where: { $0.name == el.name }) {
            children.insert(el, at: last + 1)
        } else {
            children.insert(el, at: min(fallback ?? children.count, children.count))
        }
    }
}

/// Why a document cannot be patched (it is not a domain or network fleet can read).
public struct PatchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}
