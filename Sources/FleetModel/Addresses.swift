/// An IPv4 address. fleet manages IPv4 subnets only (the NAT/isolated networks libvirt's dnsmasq serves).
public struct IPv4Address: Hashable, Comparable, TextCodable, Sendable {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }

    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let octet = UInt32(p), octet <= 255 else {
                return nil
            }
            v = v << 8 | octet
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }

    public static let textKind = "an IPv4 address"
}

/// An IPv4 subnet in CIDR form, `192.168.150.0/24`.
public struct IPv4Subnet: Hashable, TextCodable, Sendable {
    public var network: IPv4Address
    public var prefix: Int

    public init(network: IPv4Address, prefix: Int) {
        self.prefix = prefix
        self.network = IPv4Address(network.value & IPv4Subnet.mask(prefix))
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(parsing: String(parts[0])),
            parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(parts[1]), (1...30).contains(p)
        else { return nil }
        // A host address with a prefix (192.168.1.5/24) is a common typo for the network: reject it.
        guard a.value & IPv4Subnet.mask(p) == a.value else { return nil }
        self.init(network: a, prefix: p)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }
    public var netmask: IPv4Address { IPv4Address(Self.mask(prefix)) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~Self.mask(prefix)) }
    /// The first usable address: libvirt's gateway by convention.
    public var firstHost: IPv4Address { IPv4Address(network.value + 1) }
    public var lastHost: IPv4Address { IPv4Address(broadcast.value - 1) }

    public func contains(_ a: IPv4Address) -> Bool { a.value & Self.mask(prefix) == network.value }
    /// A usable host address: inside, and neither the network nor the broadcast address.
    public func containsHost(_ a: IPv4Address) -> Bool { contains(a) && a != network && a != broadcast }

    public var description: String { "\(network)/\(prefix)" }

    public static let textKind = "a subnet"
}

/// A MAC address, kept lower-case as libvirt prints it.
public struct MACAddress: Hashable, Comparable, TextCodable, Sendable {
    public var description: String

    public init?(parsing text: String) {
        // Six pairs of hex digits separated by colons, read byte by byte (every NIC of every domain read goes
        // through here).
        var bytes = Array(text.utf8)
        guard bytes.count == 17 else { return nil }
        for k in 0..<17 {
            let c = bytes[k]
            if k % 3 == 2 {
                guard c == UInt8(ascii: ":") else { return nil }
            } else if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F") {
                bytes[k] = c + 0x20
            } else {
                guard (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
                else { return nil }
            }
        }
        // libvirt refuses multicast MACs (low bit of the first octet).
        let low = bytes[1]
        let nibble = low <= UInt8(ascii: "9") ? low - UInt8(ascii: "0") : low - UInt8(ascii: "a") + 10
        guard nibble & 1 == 0 else { return nil }
        description = String(decoding: bytes, as: UTF8.self)
    }

    /// A stable locally-administered MAC under QEMU's 52:54 prefix, derived from a key (fleet, VM,
    /// NIC index), so re-planning never sees a new random MAC. 32 bits of hash rather than the 24
    /// after libvirt's 52:54:00: collisions (resolved by the loader in name order, which can move a
    /// MAC when a VM is added) stay below one in ten thousand for a thousand NICs.
    public static func stable(for key: String) -> MACAddress {
        let h = StableHash.fnv1a64(key)
        let b = [UInt8(h >> 24 & 0xff), UInt8(h >> 16 & 0xff), UInt8(h >> 8 & 0xff), UInt8(h & 0xff)]
        let s =
            "52:54:"
            + b.map { byte in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }.joined(separator: ":")
        return MACAddress(parsing: s)!
    }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.description < b.description }

    public static let textKind = "a MAC address"
}

/// A PCI address `domain:bus:slot.function`, e.g. `0000:3b:00.0`.
public struct PCIAddress: Hashable, Comparable, TextCodable, Sendable {
    public var domain: UInt16
    public var bus: UInt8
    public var slot: UInt8
    public var function: UInt8

    public init(domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8) {
        self.domain = domain
        self.bus = bus
        self.slot = slot
        self.function = function
    }

    public init?(parsing text: String) {
        // Accept the short form `3b:00.0` too (domain 0), as lspci prints it.
        var t = Substring(text.lowercased())
        var dom: UInt16 = 0
        let colons = t.filter { $0 == ":" }.count
        if colons == 2 {
            let d = t.prefix { $0 != ":" }
            guard d.count == 4, let v = UInt16(d, radix: 16) else { return nil }
            dom = v
            t = t.dropFirst(d.count + 1)
        } else if colons != 1 {
            return nil
        }
        let busS = t.prefix { $0 != ":" }
        t = t.dropFirst(busS.count + 1)
        let slotS = t.prefix { $0 != "." }
        let fnS = t.dropFirst(slotS.count + 1)
        guard busS.count == 2, slotS.count == 2, fnS.count == 1,
            let b = UInt8(busS, radix: 16), let s = UInt8(slotS, radix: 16), let f = UInt8(fnS, radix: 16),
            s <= 0x1f, f <= 7
        else { return nil }
        self.init(domain: dom, bus: b, slot: s, function: f)
    }

    public var description: String {
        func hex(_ v: UInt64, _ width: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(hex(UInt64(domain), 4)):\(hex(UInt64(bus), 2)):\(hex(UInt64(slot), 2)).\(hex(UInt64(function), 1))"
    }

    public static func < (a: PCIAddress, b: PCIAddress) -> Bool { a.description < b.description }

    public static let textKind = "a PCI address"
}

public enum StableHash {
    /// FNV-1a: tiny, deterministic across runs and platforms (Swift's Hasher is seeded per process).
    public static func fnv1a64(_ s: String) -> UInt64 { fnv1a64(bytes: s.utf8) }

    public static func fnv1a64<S: Sequence<UInt8>>(bytes: S) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}

/// A value encoded as its text (`description`) and decoded by `init?(parsing:)`, as manifests and libvirt write it.
public protocol TextCodable: Codable, CustomStringConvertible {
    init?(parsing text: String)
    /// What a value is, for a decoding error: "a MAC address".
    static var textKind: String { get }
}

extension TextCodable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = Self(parsing: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not \(Self.textKind): \(s)"))
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
