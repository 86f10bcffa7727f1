internal import CLibvirt
import Foundation

/// `virNetworkUpdateCommand`.
public enum NetworkUpdateCommand: Sendable, Hashable {
    case modify, delete, addLast, addFirst
    /// Same as `.addLast`.
    public static let add = NetworkUpdateCommand.addLast

    var raw: UInt32 {
        switch self {
        case .modify: VIR_NETWORK_UPDATE_COMMAND_MODIFY.rawValue
        case .delete: VIR_NETWORK_UPDATE_COMMAND_DELETE.rawValue
        case .addLast: VIR_NETWORK_UPDATE_COMMAND_ADD_LAST.rawValue
        case .addFirst: VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST.rawValue
        }
    }
}

/// `virNetworkUpdateSection`: which part of the network XML an update edits.
public enum NetworkUpdateSection: Sendable, Hashable {
    case bridge, domain, ip, ipDHCPHost, ipDHCPRange, forward, forwardInterface, forwardPF,
        portGroup, dnsHost, dnsTXT, dnsSRV

    var raw: UInt32 {
        switch self {
        case .bridge: VIR_NETWORK_SECTION_BRIDGE.rawValue
        case .domain: VIR_NETWORK_SECTION_DOMAIN.rawValue
        case .ip: VIR_NETWORK_SECTION_IP.rawValue
        case .ipDHCPHost: VIR_NETWORK_SECTION_IP_DHCP_HOST.rawValue
        case .ipDHCPRange: VIR_NETWORK_SECTION_IP_DHCP_RANGE.rawValue
        case .forward: VIR_NETWORK_SECTION_FORWARD.rawValue
        case .forwardInterface: VIR_NETWORK_SECTION_FORWARD_INTERFACE.rawValue
        case .forwardPF: VIR_NETWORK_SECTION_FORWARD_PF.rawValue
        case .portGroup: VIR_NETWORK_SECTION_PORTGROUP.rawValue
        case .dnsHost: VIR_NETWORK_SECTION_DNS_HOST.rawValue
        case .dnsTXT: VIR_NETWORK_SECTION_DNS_TXT.rawValue
        case .dnsSRV: VIR_NETWORK_SECTION_DNS_SRV.rawValue
        }
    }
}

/// `virNetworkUpdateFlags`.
public struct NetworkUpdateFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let current = NetworkUpdateFlags([])
    public static let live = NetworkUpdateFlags(rawValue: VIR_NETWORK_UPDATE_AFFECT_LIVE.rawValue)
    public static let config = NetworkUpdateFlags(rawValue: VIR_NETWORK_UPDATE_AFFECT_CONFIG.rawValue)
}

/// One DHCP lease handed out by a libvirt network's dnsmasq.
public struct DHCPLeaseInfo: Sendable, Equatable {
    public var interface: String
    public var mac: String
    public var ip: String
    public var isIPv6: Bool
    public var prefix: UInt32
    public var hostname: String?
    public var clientID: String?
    /// Expiry time, seconds since the epoch.
    public var expiry: Int64
}

/// A libvirt virtual network. Freed with `virNetworkFree`.
/// `@unchecked Sendable`: libvirt object handles are thread-safe (libvirt.org/threadsafety.html).
public final class Network: @unchecked Sendable {
    let ptr: OpaquePointer
    public let connection: Connection

    init(ptr: OpaquePointer, connection: Connection) {
        self.ptr = ptr
        self.connection = connection
    }

    deinit { virNetworkFree(ptr) }

    public var name: String { borrowString(virNetworkGetName(ptr)) ?? "" }

    public var uuidString: String {
        get throws { try readUUID { virNetworkGetUUIDString(ptr, $0) } }
    }

    public func xmlDesc(inactive: Bool = false) throws -> String {
        try checkPtr(
            "virNetworkGetXMLDesc",
            takeString(virNetworkGetXMLDesc(ptr, inactive ? VIR_NETWORK_XML_INACTIVE.rawValue : 0)))
    }

    public var isActive: Bool {
        get throws { try check("virNetworkIsActive", virNetworkIsActive(ptr)) == 1 }
    }

    public var isPersistent: Bool {
        get throws { try check("virNetworkIsPersistent", virNetworkIsPersistent(ptr)) == 1 }
    }

    public func autostart() throws -> Bool {
        var v: Int32 = 0
        try check("virNetworkGetAutostart", virNetworkGetAutostart(ptr, &v))
        return v != 0
    }

    public func setAutostart(_ on: Bool) throws {
        try check("virNetworkSetAutostart", virNetworkSetAutostart(ptr, on ? 1 : 0))
    }

    /// The Linux bridge device name ("virbr0"), for networks that have one.
    public func bridgeName() throws -> String {
        try checkPtr("virNetworkGetBridgeName", takeString(virNetworkGetBridgeName(ptr)))
    }

    /// Starts the defined network.
    public func create() throws {
        try check("virNetworkCreate", virNetworkCreate(ptr))
    }

    public func destroy() throws {
        try check("virNetworkDestroy", virNetworkDestroy(ptr))
    }

    public func undefine() throws {
        try check("virNetworkUndefine", virNetworkUndefine(ptr))
    }

    /// Edits one section of a network in place (virNetworkUpdate), e.g. add a DHCP host:
    /// `update(command: .add, section: .ipDHCPHost, xml: "<host mac='…' ip='…'/>", flags: [.live, .config])`.
    /// `parentIndex` selects which `<ip>` element (-1: the first/only relevant one).
    public func update(
        command: NetworkUpdateCommand, section: NetworkUpdateSection, parentIndex: Int = -1,
        xml: String, flags: NetworkUpdateFlags = .current
    ) throws {
        let index = Int32(clamping: parentIndex)
        try check("virNetworkUpdate", virNetworkUpdate(ptr, command.raw, section.raw, index, xml, flags.rawValue))
    }

    /// The DHCP leases currently held on this network (only for active networks with DHCP).
    public func dhcpLeases(mac: String? = nil) throws -> [DHCPLeaseInfo] {
        var leases: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
        let n = try check("virNetworkGetDHCPLeases", virNetworkGetDHCPLeases(ptr, mac, &leases, 0))
        guard let leases else { return [] }
        defer {
            for i in 0..<Int(n) { if let l = leases[i] { virNetworkDHCPLeaseFree(l) } }
            free(leases)
        }
        var out: [DHCPLeaseInfo] = []
        for i in 0..<Int(n) {
            guard let l = leases[i]?.pointee else { continue }
            out.append(
                DHCPLeaseInfo(
                    interface: borrowString(l.iface) ?? "", mac: borrowString(l.mac) ?? "",
                    ip: borrowString(l.ipaddr) ?? "",
                    isIPv6: l.type == Int32(VIR_IP_ADDR_TYPE_IPV6.rawValue),
                    prefix: l.prefix, hostname: borrowString(l.hostname),
                    clientID: borrowString(l.clientid), expiry: l.expirytime))
        }
        return out
    }
}
