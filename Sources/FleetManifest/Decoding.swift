import FleetModel
import Foundation
import Yams

/// The manifest file a value came from: how diagnostics name it, and where relative paths resolve.
struct FileContext {
    let display: String
    /// Absolute directory of the file.
    let directory: String

    func resolve(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : directory + "/" + path
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }
}

/// A YAML value with its origin, as the decoding functions pass it around.
struct Val {
    let node: Node
    let file: FileContext
    /// How messages name the value: the key, or `key[i]` for list items.
    let label: String
    let loc: SourceLocation
    /// The location of the key that introduced the value (the value's own for list items).
    let keyLoc: SourceLocation
}

/// A mapping's keys after merge keys (`<<`) were applied and unknown keys reported.
struct Obj {
    var fields: [String: Val]
    let loc: SourceLocation
    let file: FileContext
    subscript(_ key: String) -> Val? { fields[key] }
}

/// Collects diagnostics and bounds the work a document can cause (alias expansion).
final class DecodeSession {
    static let nodeBudget = 1_000_000
    var diagnostics: [Diagnostic] = []
    private var remaining = DecodeSession.nodeBudget
    private(set) var exhausted = false

    func error(_ message: String, at loc: SourceLocation?) { diagnostics.append(.error(message, at: loc)) }
    func warning(_ message: String, at loc: SourceLocation?) { diagnostics.append(.warning(message, at: loc)) }

    /// Counts one visited node; false once the budget is spent (reported once).
    func visit(_ count: Int = 1, at loc: SourceLocation) -> Bool {
        if exhausted { return false }
        remaining -= count
        if remaining < 0 {
            exhausted = true
            error(
                "the manifest expands to more than \(DecodeSession.nodeBudget) YAML nodes (aliases referring to aliases?); stopped reading",
                at: loc)
            return false
        }
        return true
    }

    // MARK: Structure

    func location(_ node: Node, _ file: FileContext, fallback: SourceLocation) -> SourceLocation {
        guard let m = node.mark else { return fallback }
        return SourceLocation(file: file.display, line: max(1, m.line), column: max(1, m.column))
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return isNull(node) ? "null" : "\"\(s.string.truncated(40))\""
        default: return "an alias"
        }
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain else { return false }
        return s.string.isEmpty || s.string == "~" || s.string == "null" || s.string == "Null" || s.string == "NULL"
    }

    private func child(_ node: Node, _ parent: Val, label: String, keyLoc: SourceLocation? = nil) -> Val {
        let loc = location(node, parent.file, fallback: parent.loc)
        return Val(node: node, file: parent.file, label: label, loc: loc, keyLoc: keyLoc ?? loc)
    }

    func root(_ node: Node, file: FileContext) -> Val {
        let loc = location(node, file, fallback: SourceLocation(file: file.display, line: 1, column: 1))
        return Val(node: node, file: file, label: "document", loc: loc, keyLoc: loc)
    }

    /// The pairs of a mapping with merge keys expanded (explicit keys win over merged ones, earlier merges over later).
    private func pairs(_ v: Val, what: String) -> [(key: String, keyLoc: SourceLocation, value: Val)]? {
        guard case .mapping(let m) = v.node else {
            error("\(what): expected a mapping, found \(Self.describe(v.node))", at: v.loc)
            return nil
        }
        guard visit(m.count + 1, at: v.loc) else { return nil }
        var explicit: [(String, SourceLocation, Val)] = []
        var merged: [(String, SourceLocation, Val)] = []
        for (k, value) in m {
            let keyLoc = location(k, v.file, fallback: v.loc)
            guard case .scalar(let ks) = k, !Self.isNull(k) else {
                error("\(what): keys must be strings, found \(Self.describe(k))", at: keyLoc)
                continue
            }
            if ks.string == "<<" && ks.style == .plain {
                var sources: [Node] = []
                if case .sequence(let s) = value { sources = Array(s) } else { sources = [value] }
                for src in sources {
                    let sv = child(src, v, label: "<<")
                    guard case .mapping = src else {
                        error("\(what): a merge key (<<) takes a mapping or a list of mappings, found \(Self.describe(src))", at: sv.loc)
                        continue
                    }
                    for p in pairs(sv, what: what) ?? [] where !merged.contains(where: { $0.0 == p.key }) {
                        merged.append((p.key, p.keyLoc, p.value))
                    }
                }
                continue
            }
            explicit.append((ks.string, keyLoc, child(value, v, label: ks.string, keyLoc: keyLoc)))
        }
        var result = explicit
        for m in merged where !explicit.contains(where: { $0.0 == m.0 }) { result.append(m) }
        return result.map { (key: $0.0, keyLoc: $0.1, value: $0.2) }
    }

    /// A mapping checked against a key table: unknown keys are reported with a suggestion, required keys enforced.
    func object(_ v: Val, _ table: ObjectTable, what: String) -> Obj? {
        guard let ps = pairs(v, what: what) else { return nil }
        var fields: [String: Val] = [:]
        for p in ps {
            if table.allowsExtensionKeys && p.key.hasPrefix("x-") { continue }
            guard table.key(p.key) != nil else {
                var msg = "\(what): unknown key \"\(p.key.truncated(40))\""
                if let s = EditDistance.suggestion(for: p.key, among: table.keyNames) { msg += "; did you mean \"\(s)\"?" }
                error(msg, at: p.keyLoc)
                continue
            }
            fields[p.key] = p.value
        }
        for k in table.keys where k.required && fields[k.name] == nil {
            error("\(what): missing required key \"\(k.name)\"", at: v.loc)
        }
        return Obj(fields: fields, loc: v.loc, file: v.file)
    }

    /// A mapping from names to values (a top-level section). null is an empty section.
    func entries(_ v: Val, what: String) -> [(name: String, keyLoc: SourceLocation, value: Val)] {
        if Self.isNull(v.node) { return [] }
        return (pairs(v, what: what) ?? []).map { (name: $0.key, keyLoc: $0.keyLoc, value: $0.value) }
    }

    func list(_ v: Val) -> [Val]? {
        guard case .sequence(let s) = v.node else {
            error("\(v.label): expected a list, found \(Self.describe(v.node))", at: v.loc)
            return nil
        }
        guard visit(s.count + 1, at: v.loc) else { return nil }
        return s.enumerated().map { child($0.element, v, label: "\(v.label)[\($0.offset)]") }
    }

    // MARK: Scalars

    func scalar(_ v: Val, expected: String) -> String? {
        guard case .scalar(let s) = v.node, !Self.isNull(v.node) else {
            error("\(v.label): expected \(expected), found \(Self.describe(v.node))", at: v.loc)
            return nil
        }
        return s.string
    }

    func string(_ v: Val) -> String? { scalar(v, expected: "a string") }

    func nonEmpty(_ v: Val) -> String? {
        guard let s = scalar(v, expected: "a string") else { return nil }
        if s.isEmpty {
            error("\(v.label): must not be empty", at: v.loc)
            return nil
        }
        return s
    }

    func name(_ v: Val) -> String? {
        guard let s = scalar(v, expected: "a name") else { return nil }
        guard ObjectName.isValid(s) else {
            error(
                "\(v.label): invalid name \"\(s.truncated(70))\": use letters, digits, '-', '_' and '.', start with a letter or digit, at most 63 characters",
                at: v.loc)
            return nil
        }
        return s
    }

    func int(_ v: Val, _ range: ClosedRange<Int>) -> Int? {
        guard let s = scalar(v, expected: "an integer") else { return nil }
        guard !s.isEmpty,
            s.allSatisfy({ $0.isASCII && $0.isNumber })
                || (s.first == "-" && s.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) && s.count > 1),
            let i = Int(s)
        else {
            error("\(v.label): expected an integer, found \"\(s.truncated(40))\"", at: v.loc)
            return nil
        }
        guard range.contains(i) else {
            error("\(v.label): \(i) is out of range \(range.lowerBound)...\(range.upperBound)", at: v.loc)
            return nil
        }
        return i
    }

    /// A positive decimal number up to `max` (`4`, `1.5`): an overcommit ratio.
    func ratio(_ v: Val, max: Double) -> Double? {
        guard let s = scalar(v, expected: "a number") else { return nil }
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let d = Double(s) else {
            error("\(v.label): expected a number such as 4 or 1.5, found \"\(s.truncated(40))\"", at: v.loc)
            return nil
        }
        guard d > 0, d <= max else {
            error("\(v.label): \(s) is out of range: more than 0, at most \(Int(max))", at: v.loc)
            return nil
        }
        return d
    }

    func bool(_ v: Val) -> Bool? {
        guard let s = scalar(v, expected: "true or false") else { return nil }
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            error("\(v.label): expected true or false, found \"\(s.truncated(40))\"", at: v.loc)
            return nil
        }
    }

    func size(_ v: Val) -> ByteSize? {
        guard let s = scalar(v, expected: "a size") else { return nil }
        guard let b = ByteSize(parsing: s) else {
            error("\(v.label): invalid size \"\(s.truncated(40))\" (expected e.g. 512MiB, 8GiB, 50G or a number of bytes)", at: v.loc)
            return nil
        }
        return b
    }

    /// A VM memory size: at least `ByteSize.minimumMemory`, returned rounded down to whole KiB
    /// (`ByteSize.wholeKiB`), the form libvirt holds and the renderer writes.
    func memory(_ v: Val) -> ByteSize? {
        guard let b = size(v) else { return nil }
        guard b >= ByteSize.minimumMemory else {
            error(
                "\(v.label): \(b.bytes) bytes is less than \(ByteSize.minimumMemory), the least memory a VM can have (a number without a unit is bytes)",
                at: v.loc)
            return nil
        }
        return b.wholeKiB
    }

    func enumeration<T: RawRepresentable & CaseIterable>(_ v: Val, _ type: T.Type) -> T? where T.RawValue == String {
        let all = T.allCases.map(\.rawValue)
        guard let s = scalar(v, expected: "one of " + all.joined(separator: ", ")) else { return nil }
        if let t = T(rawValue: s) { return t }
        var msg = "\(v.label): invalid value \"\(s.truncated(40))\"; expected one of " + all.joined(separator: ", ")
        if let sug = EditDistance.suggestion(for: s, among: all) { msg += " (did you mean \"\(sug)\"?)" }
        error(msg, at: v.loc)
        return nil
    }

    func ipv4(_ v: Val) -> IPv4Address? {
        guard let s = scalar(v, expected: "an IPv4 address") else { return nil }
        guard let a = IPv4Address(parsing: s) else {
            error("\(v.label): invalid IPv4 address \"\(s.truncated(40))\"", at: v.loc)
            return nil
        }
        return a
    }

    func subnet(_ v: Val) -> IPv4Subnet? {
        guard let s = scalar(v, expected: "a subnet") else { return nil }
        guard let n = IPv4Subnet(parsing: s) else {
            error(
                "\(v.label): invalid subnet \"\(s.truncated(40))\" (expected the network address in CIDR form, e.g. 192.168.150.0/24, prefix 1-30)",
                at: v.loc)
            return nil
        }
        return n
    }

    func mac(_ v: Val) -> MACAddress? {
        guard let s = scalar(v, expected: "a MAC address") else { return nil }
        guard let m = MACAddress(parsing: s) else {
            error("\(v.label): invalid MAC address \"\(s.truncated(40))\" (six hex pairs separated by ':', not multicast)", at: v.loc)
            return nil
        }
        return m
    }

    func pci(_ v: Val) -> PCIAddress? {
        guard let s = scalar(v, expected: "a PCI address") else { return nil }
        guard let a = PCIAddress(parsing: s) else {
            error(
                "\(v.label): invalid PCI address \"\(s.truncated(40))\" (expected domain:bus:slot.function, e.g. 0000:3b:00.0)", at: v.loc)
            return nil
        }
        return a
    }

    func usbID(_ v: Val) -> UInt16? {
        guard let s = scalar(v, expected: "a USB id") else { return nil }
        let lower = s.lowercased()
        var value: UInt32?
        if lower.hasPrefix("0x") {
            let hex = lower.dropFirst(2)
            if !hex.isEmpty, hex.count <= 4, hex.allSatisfy(\.isHexDigit) { value = UInt32(hex, radix: 16) }
        } else if !s.isEmpty, s.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }) {
            value = UInt32(s)
        }
        // The range is UInt16's, here and in the schema.
        guard let v32 = value, let id = UInt16(exactly: v32) else {
            error(
                "\(v.label): invalid USB id \"\(s.truncated(40))\" (expected e.g. \"0x287f\" or an integer up to \(UInt16.max))", at: v.loc)
            return nil
        }
        return id
    }

    func octalMode(_ v: Val) -> UInt32? {
        guard let s = scalar(v, expected: "an octal mode") else { return nil }
        guard (3...4).contains(s.count), s.allSatisfy({ ("0"..."7").contains($0) }), let m = UInt32(s, radix: 8) else {
            error("\(v.label): invalid mode \"\(s.truncated(40))\" (expected octal permissions such as \"0644\")", at: v.loc)
            return nil
        }
        return m
    }

    func absolutePath(_ v: Val) -> String? {
        guard let s = nonEmpty(v) else { return nil }
        guard s.hasPrefix("/") else {
            error("\(v.label): must be an absolute path, found \"\(s.truncated(60))\"", at: v.loc)
            return nil
        }
        return s
    }

    /// A path inside a guest: absolute and normalised (`GuestPath.isNormalizedAbsolute`).
    func guestPath(_ v: Val) -> String? {
        guard let s = absolutePath(v) else { return nil }
        guard GuestPath.isNormalizedAbsolute(s) else {
            error("\(v.label): \"\(s.truncated(60))\" is not a normalised absolute path (no '.', '..' or empty components)", at: v.loc)
            return nil
        }
        return s
    }

    /// A local file referenced by the manifest, resolved against the declaring file's directory; it must exist.
    func existingFile(_ v: Val) -> String? {
        guard let s = nonEmpty(v) else { return nil }
        let path = v.file.resolve(s)
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            error(
                "\(v.label): file \"\(s.truncated(80))\" does not exist (relative paths are resolved against the directory of \(v.file.display))",
                at: v.loc)
            return nil
        }
        if isDir.boolValue {
            error("\(v.label): \"\(s.truncated(80))\" is a directory, not a file", at: v.loc)
            return nil
        }
        return path
    }

    /// `{file: PATH}` or `{env: VAR}`. A literal is an error: secrets never belong in a manifest.
    func secret(_ v: Val) -> SecretRef? {
        if case .scalar = v.node, !Self.isNull(v.node) {
            error("\(v.label): secrets must not be written in the manifest; use {file: PATH} or {env: VAR}", at: v.loc)
            return nil
        }
        guard let o = object(v, Keys.secret, what: v.label) else { return nil }
        switch (o["file"], o["env"]) {
        case (let f?, nil):
            // Secret files are kept out of version control, so their existence is checked at apply time, not here.
            return nonEmpty(f).map { .file(f.file.resolve($0)) }
        case (nil, let e?):
            guard let name = scalar(e, expected: "an environment variable name") else { return nil }
            guard let first = name.unicodeScalars.first, first == "_" || (first.properties.isAlphabetic && first.isASCII),
                name.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) })
            else {
                error("\(e.label): invalid environment variable name \"\(name.truncated(40))\"", at: e.loc)
                return nil
            }
            return .env(name)
        case (_?, _?):
            error("\(v.label): give either file or env, not both", at: v.loc)
            return nil
        case (nil, nil):
            error("\(v.label): expected {file: PATH} or {env: VAR}", at: v.loc)
            return nil
        }
    }
}

extension Keys {
    /// Only for key checking; the schema renders `.secret` itself.
    static let secret = ObjectTable(
        id: "secret", doc: "A secret reference.",
        keys: [
            KeyDef(name: "file", type: .path, doc: "File holding the secret."),
            KeyDef(name: "env", type: .string, doc: "Environment variable holding the secret.")
        ])
}

extension String {
    func truncated(_ n: Int) -> String {
        count <= n ? self : String(prefix(n)) + "…"
    }
}

/// Time zone names a guest's zoneinfo has: what Foundation's time zone database knows (it needs no
/// tzdata on the host), written exactly as the database writes it, so `GMT+8` or `asia/shanghai` are refused.
enum TimeZoneName {
    static func isValid(_ tz: String) -> Bool {
        guard !tz.isEmpty, tz.utf8.count <= 64,
            tz.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_+-/".contains($0)) }),
            !tz.hasPrefix("/"), !tz.hasSuffix("/"), !tz.contains("//"),
            let zone = TimeZone(identifier: tz)
        else { return false }
        return zone.identifier == tz || TimeZone.knownTimeZoneIdentifiers.contains(tz) || ["UTC", "Etc/UTC"].contains(tz)
    }
}
