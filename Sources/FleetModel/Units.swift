/// A size in bytes. Manifests write `512MiB`, `8GiB`, `50G` (decimal) or plain bytes;
/// libvirt reports KiB for memory and bytes for storage, so one exact integer unit serves both.
public struct ByteSize: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }
    public static func kib(_ n: UInt64) -> ByteSize { ByteSize(bytes: n * 1024) }
    public static func mib(_ n: UInt64) -> ByteSize { ByteSize(bytes: n * 1024 * 1024) }
    public static func gib(_ n: UInt64) -> ByteSize { ByteSize(bytes: n * 1024 * 1024 * 1024) }

    public var kib: UInt64 { bytes / 1024 }

    /// The size rounded down to whole KiB: how libvirt holds memory (`<memory unit='KiB'>`).
    /// The one canonical form of a memory size: the manifest loader stores memory this way and the
    /// domain renderer writes it, so what the planner compares is what libvirt reads back
    /// (`memory: 1G`, 10^9 bytes, is 976562 KiB, not 976562.5).
    public var wholeKiB: ByteSize { ByteSize(bytes: bytes / 1024 * 1024) }

    /// The least memory a VM may have: libvirt and QEMU refuse less than 1 MiB.
    public static let minimumMemory = ByteSize.mib(1)

    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }

    // Encoded as a plain number of bytes: what JSON consumers (jq, Prometheus exporters) expect.
    public init(from decoder: Decoder) throws { bytes = try decoder.singleValueContainer().decode(UInt64.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(bytes)
    }

    private static let units: [(String, UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000),
        ("T", 1_000_000_000_000), ("G", 1_000_000_000), ("M", 1_000_000), ("K", 1000),
        ("B", 1)
    ]

    /// Parses `8GiB`, `50G`, `512 MiB`, `1048576`. Returns nil on anything else or on overflow.
    public init?(parsing text: String) {
        let s = text.trimmingSpaces()
        guard !s.isEmpty else { return nil }
        var digits = Substring(s)
        var multiplier: UInt64 = 1
        for (suffix, factor) in Self.units where s.hasSuffix(suffix) {
            digits = s.dropLast(suffix.count)
            multiplier = factor
            break
        }
        let number = String(digits).trimmingSpaces()
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = UInt64(number)
        else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        self.bytes = product
    }

    /// The largest binary unit that divides the size exactly, so `8GiB` prints back as `8GiB`.
    public var description: String {
        if bytes == 0 { return "0" }
        for (suffix, factor) in [("TiB", UInt64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        return "\(bytes)"
    }
}

/// A duration in whole seconds: `30s`, `5m`, `2h`, or plain seconds.
public struct Seconds: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (a: Seconds, b: Seconds) -> Bool { a.value < b.value }

    public init?(parsing text: String) {
        let s = text.trimmingSpaces()
        var multiplier: UInt64 = 1
        var digits = Substring(s)
        if let last = s.last, !last.isNumber {
            switch last {
            case "s": multiplier = 1
            case "m": multiplier = 60
            case "h": multiplier = 3600
            case "d": multiplier = 86400
            default: return nil
            }
            digits = s.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt64(digits) else { return nil }
        let (p, o) = v.multipliedReportingOverflow(by: multiplier)
        guard !o else { return nil }
        value = p
    }

    public var description: String {
        if value != 0 && value % 3600 == 0 { return "\(value / 3600)h" }
        if value != 0 && value % 60 == 0 { return "\(value / 60)m" }
        return "\(value)s"
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
