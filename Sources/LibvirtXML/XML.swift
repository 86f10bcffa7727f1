/// A tiny XML element tree with a hand-written parser and a deterministic writer.
///
/// libvirt documents are small, namespace-light and never mixed-content in the parts fleet reads, so a
/// byte-level parser over UTF-8 is enough, and it avoids FoundationXML (and libxml2) entirely. Measured in a
/// release build on this 2-core host, 1,000 parses of a 5.3 KB libvirtd domain XML: FoundationXML `XMLDocument`
/// 212 ms, `XMLParser` SAX with an empty delegate (no tree) 165 ms, `XElement.parse` 67 ms, typed
/// `DomainXML(xml:)` 50–85 ms depending on load (LibvirtXMLTests `SpeedTests` checks < 200 ms in release).
/// Unknown elements are kept in the tree and simply ignored by the typed documents, which is how libvirt's
/// additions are tolerated. No DTD processing: entities other than the five predefined and character
/// references are errors, so there is no entity expansion to abuse.

/// A malformed or unexpected document. `message` says what and, for syntax errors, where (byte offset).
public struct XMLError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One element: its qualified name as written (`fleet:owner`), attributes in document order,
/// child elements, and the concatenated character data directly inside it.
public struct XElement: Hashable, Sendable {
    public var name: String
    public var attributes: [(String, String)] {
        get { attrs.map { ($0.name, $0.value) } }
        set { attrs = newValue.map { Attr(name: $0.0, value: $0.1) } }
    }
    public var children: [XElement]
    public var text: String

    struct Attr: Hashable, Sendable {
        var name: String
        var value: String
    }
    var attrs: [Attr]
    /// Mixed content (`<a>x<b/>y</a>`, allowed in other applications' `<metadata>`): the text before each child
    /// and after the last, as parsed. Empty unless some of it is more than whitespace; used by the writer only
    /// while it still matches `children` and `text`, so a rewritten document keeps the text where it was.
    var textRuns: [String] = []

    public init(_ name: String, _ attributes: [(String, String?)] = [], children: [XElement] = [], text: String = "") {
        self.name = name
        self.attrs = attributes.compactMap { k, v in v.map { Attr(name: k, value: $0) } }
        self.children = children
        self.text = text
    }

    /// The value of an attribute, by qualified name.
    public subscript(attr: String) -> String? {
        for a in attrs where a.name == attr { return a.value }
        return nil
    }

    /// The first child element with this name.
    public func child(_ name: String) -> XElement? { children.first { $0.name == name } }
    /// Every child element with this name, in order.
    public func all(_ name: String) -> [XElement] { children.filter { $0.name == name } }
    /// Follows a path of child names: `el.at("os", "type")`.
    public func at(_ path: String...) -> XElement? {
        var cur = self
        for p in path {
            guard let c = cur.child(p) else { return nil }
            cur = c
        }
        return cur
    }
    /// The trimmed text of a child, nil when the child is absent.
    public func childText(_ name: String) -> String? { child(name).map { $0.text.trimmedXMLSpace() } }

    /// The local part of the name (`owner` for `fleet:owner`).
    public var localName: String {
        if let i = name.lastIndex(of: ":") { return String(name[name.index(after: i)...]) }
        return name
    }
    /// The prefix of the name, "" when unprefixed.
    public var prefix: String {
        if let i = name.firstIndex(of: ":") { return String(name[..<i]) }
        return ""
    }

    // MARK: Parse

    /// Parses a whole document and returns its root element.
    public static func parse(_ xml: String) throws -> XElement {
        var s = xml
        return try s.withUTF8 { buf in
            var p = Parser(buf)
            return try p.document()
        }
    }

    // MARK: Render

    /// The element as indented XML (2 spaces), attributes in stored order, single-quoted like libvirt.
    /// Same value, same bytes.
    public func render(indent: Int = 0) -> String {
        var out = ""
        out.reserveCapacity(256)
        write(into: &out, level: indent)
        return out
    }

    /// Whether the parsed mixed-content runs still describe this element.
    var hasMixedContent: Bool {
        !children.isEmpty && textRuns.count == children.count + 1 && textRuns.joined() == text
    }

    /// Writes the element without adding whitespace anywhere (inside mixed content, whitespace is data).
    func writeInline(into out: inout String) {
        out += "<"
        out += name
        for a in attrs {
            out += " "
            out += a.name
            out += "='"
            out += XElement.escape(a.value, attribute: true)
            out += "'"
        }
        if children.isEmpty && text.isEmpty {
            out += "/>"
            return
        }
        out += ">"
        if children.isEmpty {
            out += XElement.escape(text, attribute: false)
        } else if hasMixedContent {
            for (i, c) in children.enumerated() {
                out += XElement.escape(textRuns[i], attribute: false)
                c.writeInline(into: &out)
            }
            out += XElement.escape(textRuns[children.count], attribute: false)
        } else {
            for c in children { c.writeInline(into: &out) }
        }
        out += "</"
        out += name
        out += ">"
    }

    func write(into out: inout String, level: Int) {
        for _ in 0..<level { out += "  " }
        if hasMixedContent {
            writeInline(into: &out)
            out += "\n"
            return
        }
        out += "<"
        out += name
        for a in attrs {
            out += " "
            out += a.name
            out += "='"
            out += XElement.escape(a.value, attribute: true)
            out += "'"
        }
        let t = text.trimmedXMLSpace().isEmpty ? "" : text
        if children.isEmpty && t.isEmpty {
            out += "/>\n"
            return
        }
        out += ">"
        if children.isEmpty {
            out += XElement.escape(t, attribute: false)
        } else {
            out += "\n"
            for c in children { c.write(into: &out, level: level + 1) }
            for _ in 0..<level { out += "  " }
        }
        out += "</"
        out += name
        out += ">\n"
    }

    /// Escapes markup characters, and drops the control characters XML 1.0 cannot represent at all
    /// (libvirt would refuse the whole document).
    public static func escape(_ s: String, attribute: Bool) -> String {
        var needs = false
        for b in s.utf8
        where b == 0x26 || b == 0x3C || b == 0x3E || (b < 0x20 && b != 0x0A && b != 0x09 && b != 0x0D)
            || (attribute && (b == 0x27 || b == 0x22 || b == 0x0A || b == 0x09 || b == 0x0D))
        {
            needs = true
            break
        }
        if !needs { return s }
        var r = ""
        r.reserveCapacity(s.utf8.count + 16)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "'" where attribute: r += "&apos;"
            case "\"" where attribute: r += "&quot;"
            case "\n" where attribute: r += "&#10;"
            case "\t" where attribute: r += "&#9;"
            case "\r" where attribute: r += "&#13;"
            case _ where ch.value < 0x20 && ch != "\n" && ch != "\t" && ch != "\r": break
            case "\u{FFFE}", "\u{FFFF}": break
            default: r.unicodeScalars.append(ch)
            }
        }
        return r
    }

    public static func == (a: XElement, b: XElement) -> Bool {
        a.name == b.name && a.attrs == b.attrs && a.children == b.children && a.text == b.text
    }
    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(attrs)
        h.combine(children)
        h.combine(text)
    }
}

extension String {
    /// Trims XML whitespace (space, tab, CR, LF).
    public func trimmedXMLSpace() -> String {
        let u = utf8
        var start = u.startIndex
        var end = u.endIndex
        func ws(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        while start < end, ws(u[start]) { start = u.index(after: start) }
        while end > start, ws(u[u.index(before: end)]) { end = u.index(before: end) }
        if start == u.startIndex && end == u.endIndex { return self }
        return String(self[start..<end])
    }
}

/// Recursive-descent parser over UTF-8 bytes. Every failure is a thrown `XMLError`; depth is bounded
/// so hostile input cannot overflow the stack.
struct Parser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    static let maxDepth = 256

    init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    func fail(_ what: String) -> XMLError { XMLError("malformed XML at byte \(i): \(what)") }

    @inline(__always) func peek(_ off: Int = 0) -> UInt8? { i + off < b.count ? b[i + off] : nil }
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
    @inline(__always) static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39)
            || c == 0x5F || c == 0x3A || c == 0x2D || c == 0x2E || c >= 0x80
    }

    mutating func skipSpace() { while i < b.count, Parser.isSpace(b[i]) { i += 1 } }

    func startsWith(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        let p = s.utf8Start
        for k in 0..<n where b[i + k] != p[k] { return false }
        return true
    }

    /// Skips to just past the terminator, or fails.
    mutating func skip(past end: StaticString, _ what: String) throws {
        while i < b.count {
            if startsWith(end) {
                i += end.utf8CodeUnitCount
                return
            }
            i += 1
        }
        throw fail("unterminated \(what)")
    }

    /// Prolog, comments, processing instructions and DOCTYPE before and after the root.
    mutating func misc() throws {
        while true {
            skipSpace()
            if startsWith("<?") {
                try skip(past: "?>", "processing instruction")
            } else if startsWith("<!--") {
                try skip(past: "-->", "comment")
            } else if startsWith("<!DOCTYPE") {
                // Internal subsets are not supported (libvirt never emits them); skip a simple DOCTYPE.
                try skip(past: ">", "DOCTYPE")
            } else {
                return
            }
        }
    }

    mutating func document() throws -> XElement {
        // A UTF-8 byte order mark is allowed.
        if startsWith("\u{FEFF}") { i += 3 }
        try misc()
        guard peek() == 0x3C else { throw fail(i >= b.count ? "empty document" : "expected '<'") }
        let root = try element(depth: 0)
        try misc()
        guard i == b.count else { throw fail("content after the root element") }
        return root
    }

    mutating func name() throws -> String {
        let start = i
        while i < b.count, Parser.isNameByte(b[i]) { i += 1 }
        guard i > start else { throw fail("expected a name") }
        return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
    }

    mutating func element(depth: Int) throws -> XElement {
        guard depth < Parser.maxDepth else { throw fail("elements nested too deeply") }
        i += 1  // '<'
        var el = XElement(try name())
        // Attributes.
        while true {
            let hadSpace = i < b.count && Parser.isSpace(b[i])
            skipSpace()
            guard let c = peek() else { throw fail("unterminated start tag <\(el.name)>") }
            if c == 0x2F {  // '/>'
                guard peek(1) == 0x3E else { throw fail("expected '>' after '/'") }
                i += 2
                return el
            }
            if c == 0x3E {
                i += 1
                break
            }
            guard hadSpace else { throw fail("expected whitespace before attribute") }
            let an = try name()
            skipSpace()
            guard peek() == 0x3D else { throw fail("expected '=' after attribute \(an)") }
            i += 1
            skipSpace()
            guard let q = peek(), q == 0x27 || q == 0x22 else { throw fail("expected a quoted value for \(an)") }
            i += 1
            let v = try chars(until: q, attribute: true)
            i += 1
            if el.attrs.contains(where: { $0.name == an }) { throw fail("duplicate attribute \(an)") }
            el.attrs.append(.init(name: an, value: v))
        }
        // Content.
        var text = ""
        // Byte offsets in `text` where each child starts; turned into runs only for mixed content.
        var breaks: [Int] = []
        while true {
            guard i < b.count else { throw fail("unterminated element <\(el.name)>") }
            if b[i] == 0x3C {
                if peek(1) == 0x2F {
                    i += 2
                    let n = try name()
                    guard n == el.name else { throw fail("</\(n)> closes <\(el.name)>") }
                    skipSpace()
                    guard peek() == 0x3E else { throw fail("expected '>' in end tag") }
                    i += 1
                    el.text = text
                    if !el.children.isEmpty, !text.trimmedXMLSpace().isEmpty {
                        let bytes = Array(text.utf8)
                        var runs: [String] = []
                        var from = 0
                        for b in breaks + [bytes.count] {
                            runs.append(String(decoding: bytes[from..<b], as: UTF8.self))
                            from = b
                        }
                        el.textRuns = runs
                    }
                    return el
                } else if startsWith("<!--") {
                    try skip(past: "-->", "comment")
                } else if startsWith("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>", "CDATA section")
                    text += String(decoding: UnsafeBufferPointer(rebasing: b[start..<(i - 3)]), as: UTF8.self)
                } else if startsWith("<?") {
                    try skip(past: "?>", "processing instruction")
                } else {
                    breaks.append(text.utf8.count)
                    el.children.append(try element(depth: depth + 1))
                }
            } else {
                text += try chars(until: 0x3C, attribute: false)
            }
        }
    }

    /// Character data up to (not including) `end`, with entity references decoded.
    mutating func chars(until end: UInt8, attribute: Bool) throws -> String {
        let start = i
        var hasEntity = false
        while i < b.count, b[i] != end {
            if b[i] == 0x26 { hasEntity = true }
            if attribute && b[i] == 0x3C { throw fail("'<' in attribute value") }
            i += 1
        }
        if attribute && i >= b.count { throw fail("unterminated attribute value") }
        let raw = UnsafeBufferPointer(rebasing: b[start..<i])
        if !hasEntity { return String(decoding: raw, as: UTF8.self) }
        return try Parser.decodeEntities(raw, at: start)
    }

    static func decodeEntities(_ raw: UnsafeBufferPointer<UInt8>, at offset: Int) throws -> String {
        var out = [UInt8]()
        out.reserveCapacity(raw.count)
        var k = 0
        while k < raw.count {
            let c = raw[k]
            if c != 0x26 {
                out.append(c)
                k += 1
                continue
            }
            guard let semi = raw[k...].firstIndex(of: 0x3B), semi - k <= 12 else {
                throw XMLError("malformed XML at byte \(offset + k): unterminated entity reference")
            }
            let ent = String(decoding: UnsafeBufferPointer(rebasing: raw[(k + 1)..<semi]), as: UTF8.self)
            switch ent {
            case "lt": out.append(0x3C)
            case "gt": out.append(0x3E)
            case "amp": out.append(0x26)
            case "quot": out.append(0x22)
            case "apos": out.append(0x27)
            default:
                var code: UInt32?
                if ent.hasPrefix("#x") || ent.hasPrefix("#X") {
                    code = UInt32(ent.dropFirst(2), radix: 16)
                } else if ent.hasPrefix("#") {
                    code = UInt32(ent.dropFirst(1))
                }
                guard let cp = code, let scalar = Unicode.Scalar(cp), cp != 0 else {
                    throw XMLError("malformed XML at byte \(offset + k): unknown entity &\(ent);")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            k = semi + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: Helpers shared by the typed documents

/// A size with libvirt's `unit` attribute, kept in bytes.
public enum XMLSize {
    /// Multiplier for a libvirt unit name (formatdomain "Memory Allocation"/formatstorage units).
    public static func factor(_ unit: String) -> UInt64? {
        switch unit {
        case "b", "bytes", "B": return 1
        case "KB": return 1000
        case "k", "K", "KiB", "kib": return 1 << 10
        case "MB": return 1_000_000
        case "m", "M", "MiB", "mib": return 1 << 20
        case "GB": return 1_000_000_000
        case "g", "G", "GiB", "gib": return 1 << 30
        case "TB": return 1_000_000_000_000
        case "t", "T", "TiB", "tib": return 1 << 40
        case "PB": return 1_000_000_000_000_000
        case "p", "P", "PiB", "pib": return 1 << 50
        case "EB": return 1_000_000_000_000_000_000
        case "e", "E", "EiB", "eib": return 1 << 60
        default: return nil
        }
    }

    /// Bytes of an element like `<memory unit='KiB'>1024</memory>`; `defaultUnit` when the attribute is absent.
    public static func bytes(_ el: XElement, defaultUnit: String) throws -> UInt64 {
        let unit = el["unit"] ?? defaultUnit
        guard let f = factor(unit) else { throw XMLError("<\(el.name)>: unknown unit '\(unit)'") }
        let t = el.text.trimmedXMLSpace()
        guard let n = UInt64(t) else { throw XMLError("<\(el.name)>: not a size: '\(t)'") }
        let (p, o) = n.multipliedReportingOverflow(by: f)
        guard !o else { throw XMLError("<\(el.name)>: size overflows: \(t) \(unit)") }
        return p
    }
}

/// Numeric attribute parsing that accepts libvirt's `0x`-prefixed hex and decimal.
public enum XMLNumber {
    public static func parse<T: FixedWidthInteger>(_ s: String?, as: T.Type = T.self) -> T? {
        guard let s = s?.trimmedXMLSpace(), !s.isEmpty else { return nil }
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return T(s.dropFirst(2), radix: 16) }
        return T(s, radix: 10)
    }
    public static func hex<T: FixedWidthInteger>(_ v: T, width: Int) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, width - s.count)) + s
    }
    public static func bool(_ s: String?) -> Bool? {
        switch s {
        case "yes", "on": return true
        case "no", "off": return false
        default: return nil
        }
    }
}

extension XElement {
    /// Appends a child only when it is present.
    mutating func add(_ c: XElement?) { if let c { children.append(c) } }
    /// Appends a text child only when the text is present.
    mutating func addText(_ name: String, _ t: String?, _ attrs: [(String, String?)] = []) {
        if let t { children.append(XElement(name, attrs, text: t)) }
    }
    /// Requires an attribute or a child's text.
    func require(_ name: String, _ value: String?) throws -> String {
        guard let v = value, !v.isEmpty else { throw XMLError("<\(self.name)> lacks \(name)") }
        return v
    }
    func expectRoot(_ name: String) throws {
        guard self.name == name else { throw XMLError("expected a <\(name)> document, got <\(self.name)>") }
    }
}
