/// Rules about values fleet hands to libvirt, shared by the manifest loader (which reports them with a
/// location) and by whoever resolves values the loader cannot see (secrets, at apply time).

extension ObjectName {
    /// Name prefixes fleet keeps for its own objects: the ledger (`fleet-ledger-<fleet>`) and
    /// host locks (`fleet-lock-…`). No manifest object may take such a name, or a VM could overwrite
    /// a fleet's ledger (its own or another fleet's).
    public static let reservedPrefixes = ["fleet-ledger-", "fleet-lock-"]

    /// The reserved prefix `name` starts with, if any.
    public static func reservedPrefix(of name: String) -> String? {
        reservedPrefixes.first { name.hasPrefix($0) }
    }
}

/// Literal IP addresses as libvirt parses them (`virSocketAddrParse`): dotted-quad IPv4 or textual IPv6.
public enum IPAddressText {
    public static func isValid(_ s: String) -> Bool { isIPv4(s) || isIPv6(s) }

    public static func isIPv4(_ s: String) -> Bool { IPv4Address(parsing: s) != nil }

    /// RFC 4291 text form: eight groups of 1-4 hex digits, one `::` for a run of zero groups,
    /// optionally ending in a dotted-quad IPv4 address. No brackets, zone ids or prefixes.
    public static func isIPv6(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 45 else { return false }
        let halves = s.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return false }
        func groups(_ part: Substring, allowIPv4Tail: Bool) -> Int? {
            if part.isEmpty { return 0 }
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            var n = 0
            for (i, item) in items.enumerated() {
                if allowIPv4Tail, i == items.count - 1, item.contains(".") {
                    guard IPv4Address(parsing: String(item)) != nil else { return nil }
                    n += 2
                } else {
                    guard (1...4).contains(item.count), item.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
                    n += 1
                }
            }
            return n
        }
        if halves.count == 1 {
            return groups(halves[0], allowIPv4Tail: true) == 8
        }
        guard let a = groups(halves[0], allowIPv4Tail: false), let b = groups(halves[1], allowIPv4Tail: true) else { return false }
        return a + b <= 7
    }
}

extension String {
    /// Splits at every `::` (a `:::` leaves a part starting with `:`, which then fails to parse).
    fileprivate func components(separatedByDoubleColon _: Void) -> [Substring] {
        var parts: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":", next < endIndex, self[next] == ":" {
                parts.append(self[start..<i])
                start = index(after: next)
                i = start
            } else {
                i = next
            }
        }
        parts.append(self[start..<endIndex])
        return parts
    }
}

/// DNS names as a network's `domain`: dot-separated labels of letters, digits and inner hyphens,
/// each 1-63 characters, at most 253 in all (RFC 1123 host names). libvirt writes the domain into
/// dnsmasq's configuration and its own saved XML, so nothing else may get through.
public enum DNSName {
    public static func isValid(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

extension GraphicsSpec {
    /// The longest VNC password QEMU accepts (the VNC protocol's DES key is 8 bytes).
    public static let maxVNCPasswordLength = 8

    /// Why `password` cannot be this console's password, or nil when it can. The loader never sees
    /// passwords (they come from a file or the environment), so whoever resolves the secret checks it.
    public func passwordProblem(_ password: String) -> String? {
        if password.isEmpty { return "the \(type.rawValue) password is empty" }
        if password.contains("\0") || password.contains("\n") { return "the \(type.rawValue) password contains a NUL or newline" }
        if type == .vnc, password.utf8.count > Self.maxVNCPasswordLength {
            return "a vnc password has at most \(Self.maxVNCPasswordLength) characters (this one has \(password.utf8.count))"
        }
        return nil
    }

    /// Listen values libvirt takes as written: an IP address literal, or `none` (no listening socket).
    public static func isValidListen(_ s: String) -> Bool { s == "none" || IPAddressText.isValid(s) }
}

/// Paths inside a guest, as customize `files[].dest` names them.
public enum GuestPath {
    /// Absolute and already normal: starts with `/`, no empty (`//`), `.` or `..` component, no NUL.
    /// One trailing `/` is allowed: it means "into this directory" (as `virt-copy-in`), and `/` is the root.
    public static func isNormalizedAbsolute(_ p: String) -> Bool {
        guard p.hasPrefix("/"), !p.contains("\0") else { return false }
        var body = p.dropFirst()
        if body.isEmpty { return true }
        if body.hasSuffix("/") { body = body.dropLast() }
        return body.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }
}
