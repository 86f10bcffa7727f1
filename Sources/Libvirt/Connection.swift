internal import CLibvirt
import Foundation

/// Host facts from `virNodeGetInfo`.
public struct NodeInfo: Sendable, Equatable {
    /// CPU model, e.g. "x86_64".
    public var model: String
    public var memoryKiB: UInt64
    /// Active CPUs.
    public var cpus: UInt32
    public var mhz: UInt32
    public var nodes: UInt32
    public var sockets: UInt32
    public var cores: UInt32
    public var threads: UInt32
}

/// Node device capabilities usable as a listing filter.
public enum NodeDeviceCapability: Sendable, Hashable {
    case pciDevice, usbDevice, usbInterface, net, scsiHost, storage, mdev

    var flag: UInt32 {
        switch self {
        case .pciDevice: VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV.rawValue
        case .usbDevice: VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV.rawValue
        case .usbInterface: VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE.rawValue
        case .net: VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET.rawValue
        case .scsiHost: VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST.rawValue
        case .storage: VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE.rawValue
        case .mdev: VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV.rawValue
        }
    }
}

/// A connection to one libvirt daemon (or the in-process test driver).
///
/// `@unchecked Sendable`: libvirt connections and the object handles obtained from them are
/// thread-safe ("the libvirt library is thread safe ... a virConnectPtr can be used concurrently
/// from multiple threads", libvirt.org/threadsafety.html); errors are thread-local, and this
/// binding reads them on the calling thread.
public final class Connection: @unchecked Sendable {
    let ptr: OpaquePointer
    /// The URI this connection was opened with.
    public let requestedURI: String

    /// Opens `uri` with libvirt's default authentication callback (so ssh agents and polkit work).
    /// The open runs on a background thread; if it does not finish within `timeout` seconds a
    /// `LibvirtTimeout` ("could not connect to <uri> within 10 s") is thrown and the late
    /// connection, if it ever arrives, is closed. The opened connection gets a keepalive
    /// (5 s interval, 3 missed replies) so a dead remote host is noticed instead of hanging calls.
    ///
    /// `keepAliveInterval` / `keepAliveCount`: a ping every interval seconds; after `count`
    /// unanswered pings the connection is closed and pending and later calls fail.
    public init(
        uri: String, timeout: Double = 10, keepAliveInterval: Int32 = 5, keepAliveCount: UInt32 = 3,
        readOnly: Bool = false
    ) throws {
        try Libvirt.initialize()
        let box = OpenBox()
        let done = DispatchSemaphore(value: 0)
        let flags = readOnly ? VIR_CONNECT_RO.rawValue : 0
        let opener = Thread {
            let p = virConnectOpenAuth(uri, defaultAuth, flags)
            let err: LibvirtError? = p == nil ? LibvirtError.last("could not connect to \(uri)") : nil
            box.deliver(p, err)
            done.signal()
        }
        opener.name = "libvirt-connect"
        opener.start()
        // Clamp to [0, 1e6] s (NaN and infinity included) so the conversion cannot trap.
        let waitSeconds = timeout.isNaN ? 0 : min(max(timeout, 0), 1e6)
        let deadline = DispatchTime.now() + .nanoseconds(Int(waitSeconds * 1e9))
        if done.wait(timeout: deadline) == .timedOut {
            if case .some(let result) = box.abandon() {
                // The open finished in the race window: use it.
                ptr = try Connection.unwrap(result)
            } else {
                throw LibvirtTimeout(operation: "connect to \(uri)", seconds: timeout)
            }
        } else {
            ptr = try Connection.unwrap(box.result())
        }
        requestedURI = uri
        // Drivers that are not remote (test://) do not support keepalive; that is fine.
        if virConnectSetKeepAlive(ptr, keepAliveInterval, keepAliveCount) < 0 { virResetLastError() }
    }

    private static func unwrap(_ r: (OpaquePointer?, LibvirtError?)) throws -> OpaquePointer {
        if let p = r.0 { return p }
        throw r.1 ?? LibvirtError(code: -1, domain: 0, message: "could not connect")
    }

    deinit { virConnectClose(ptr) }

    // MARK: Facts

    /// The canonical URI the driver reports (e.g. "qemu:///system").
    public var uri: String {
        get throws { try checkPtr("virConnectGetURI", takeString(virConnectGetURI(ptr))) }
    }

    public var hostname: String {
        get throws { try checkPtr("virConnectGetHostname", takeString(virConnectGetHostname(ptr))) }
    }

    /// The libvirt library version on the daemon side, e.g. "9.0.0".
    public var libVersion: String {
        get throws {
            var v: UInt = 0
            try check("virConnectGetLibVersion", virConnectGetLibVersion(ptr, &v))
            return versionString(UInt64(v))
        }
    }

    /// The hypervisor version, e.g. "7.2.0" for QEMU 7.2.
    public var hypervisorVersion: String {
        get throws {
            var v: UInt = 0
            try check("virConnectGetVersion", virConnectGetVersion(ptr, &v))
            return versionString(UInt64(v))
        }
    }

    /// "QEMU", "TEST", ...
    public var hypervisorType: String {
        get throws { try checkPtr("virConnectGetType", borrowString(virConnectGetType(ptr))) }
    }

    public func capabilitiesXML() throws -> String {
        try checkPtr("virConnectGetCapabilities", takeString(virConnectGetCapabilities(ptr)))
    }

    public func nodeInfo() throws -> NodeInfo {
        var info = virNodeInfo()
        try check("virNodeGetInfo", virNodeGetInfo(ptr, &info))
        return NodeInfo(
            model: fixedString(info.model), memoryKiB: UInt64(info.memory), cpus: info.cpus,
            mhz: info.mhz, nodes: info.nodes, sockets: info.sockets, cores: info.cores,
            threads: info.threads)
    }

    /// Free host memory in bytes (virNodeGetFreeMemory).
    public func freeMemoryBytes() throws -> UInt64 {
        let v = virNodeGetFreeMemory(ptr)
        if v == 0, let e = virGetLastError(), e.pointee.code != 0 { throw LibvirtError.last("virNodeGetFreeMemory failed") }
        return v
    }

    /// False once the transport to a remote daemon has died (keepalive timed out, socket closed).
    public var isAlive: Bool { virConnectIsAlive(ptr) == 1 }

    // MARK: Domains

    /// All domains (active and inactive) in one call; `filter` narrows it server-side.
    public func listAllDomains(_ filter: DomainListFilter = []) throws -> [Domain] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = try check("virConnectListAllDomains", virConnectListAllDomains(ptr, &list, filter.rawValue))
        return takeList(list, n) { Domain(ptr: $0, connection: self) }
    }

    /// The domain named `name`, or nil if there is none.
    public func domain(named name: String) throws -> Domain? {
        try lookup(virDomainLookupByName(ptr, name)) { Domain(ptr: $0, connection: self) }
    }

    /// The running domain with hypervisor id `id`, or nil.
    public func domain(id: UInt32) throws -> Domain? {
        guard let i = Int32(exactly: id) else { return nil }
        return try lookup(virDomainLookupByID(ptr, i)) { Domain(ptr: $0, connection: self) }
    }

    public func domain(uuid: String) throws -> Domain? {
        try lookup(virDomainLookupByUUIDString(ptr, uuid)) { Domain(ptr: $0, connection: self) }
    }

    /// Defines (persistently) a domain from XML. `validate` checks it against libvirt's schema.
    @discardableResult
    public func defineDomain(xml: String, validate: Bool = false) throws -> Domain {
        let flags = validate ? VIR_DOMAIN_DEFINE_VALIDATE.rawValue : 0
        let p = try checkPtr("virDomainDefineXMLFlags", virDomainDefineXMLFlags(ptr, xml, flags))
        return Domain(ptr: p, connection: self)
    }

    /// Creates and starts a transient domain.
    @discardableResult
    public func createDomain(xml: String) throws -> Domain {
        let p = try checkPtr("virDomainCreateXML", virDomainCreateXML(ptr, xml, 0))
        return Domain(ptr: p, connection: self)
    }

    /// Per-domain statistics for all domains in one call (virConnectGetAllDomainStats).
    public func allDomainStats(_ groups: DomainStatsGroups = [.state, .balloon, .vcpu]) throws -> [DomainStats] {
        var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
        let n = try check(
            "virConnectGetAllDomainStats",
            virConnectGetAllDomainStats(ptr, groups.rawValue, &records, 0))
        guard let records else { return [] }
        defer { virDomainStatsRecordListFree(records) }
        var out: [DomainStats] = []
        out.reserveCapacity(Int(n))
        for i in 0..<Int(n) {
            guard let rec = records[i], let dom = rec.pointee.dom else { continue }
            // The record list owns its domain references; take our own.
            guard virDomainRef(dom) == 0 else {
                virResetLastError()
                continue
            }
            out.append(
                DomainStats(
                    domain: Domain(ptr: dom, connection: self),
                    params: rec.pointee.params, count: rec.pointee.nparams))
        }
        return out
    }

    // MARK: Networks

    public func listAllNetworks(_ filter: ObjectListFilter = []) throws -> [Network] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = try check("virConnectListAllNetworks", virConnectListAllNetworks(ptr, &list, filter.networkFlags))
        return takeList(list, n) { Network(ptr: $0, connection: self) }
    }

    public func network(named name: String) throws -> Network? {
        try lookup(virNetworkLookupByName(ptr, name)) { Network(ptr: $0, connection: self) }
    }

    /// Defines a persistent network (not started).
    @discardableResult
    public func defineNetwork(xml: String) throws -> Network {
        let p = try checkPtr("virNetworkDefineXML", virNetworkDefineXML(ptr, xml))
        return Network(ptr: p, connection: self)
    }

    /// Creates and starts a transient network.
    @discardableResult
    public func createNetwork(xml: String) throws -> Network {
        let p = try checkPtr("virNetworkCreateXML", virNetworkCreateXML(ptr, xml))
        return Network(ptr: p, connection: self)
    }

    // MARK: Storage

    public func listAllStoragePools(_ filter: ObjectListFilter = []) throws -> [StoragePool] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = try check(
            "virConnectListAllStoragePools",
            virConnectListAllStoragePools(ptr, &list, filter.poolFlags))
        return takeList(list, n) { StoragePool(ptr: $0, connection: self) }
    }

    public func storagePool(named name: String) throws -> StoragePool? {
        try lookup(virStoragePoolLookupByName(ptr, name)) { StoragePool(ptr: $0, connection: self) }
    }

    /// Defines a persistent storage pool (neither built nor started).
    @discardableResult
    public func definePool(xml: String) throws -> StoragePool {
        let p = try checkPtr("virStoragePoolDefineXML", virStoragePoolDefineXML(ptr, xml, 0))
        return StoragePool(ptr: p, connection: self)
    }

    /// The volume whose target path is `path`, or nil.
    public func storageVolume(path: String) throws -> StorageVolume? {
        try lookup(virStorageVolLookupByPath(ptr, path)) { StorageVolume(ptr: $0, connection: self) }
    }

    // MARK: Node devices

    /// Host devices, optionally only those with one capability (e.g. `.pciDevice`).
    public func listAllNodeDevices(capability: NodeDeviceCapability? = nil) throws -> [NodeDevice] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = try check(
            "virConnectListAllNodeDevices",
            virConnectListAllNodeDevices(ptr, &list, capability?.flag ?? 0))
        return takeList(list, n) { NodeDevice(ptr: $0, connection: self) }
    }

    public func nodeDevice(named name: String) throws -> NodeDevice? {
        try lookup(virNodeDeviceLookupByName(ptr, name)) { NodeDevice(ptr: $0, connection: self) }
    }
}

/// `virConnectListAllDomainsFlags` (groups combine as AND; members of a group as OR).
public struct DomainListFilter: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let active = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue)
    public static let inactive = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_INACTIVE.rawValue)
    public static let persistent = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_PERSISTENT.rawValue)
    public static let transient = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_TRANSIENT.rawValue)
    public static let running = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_RUNNING.rawValue)
    public static let paused = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_PAUSED.rawValue)
    public static let shutoff = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_SHUTOFF.rawValue)
    public static let autostart = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_AUTOSTART.rawValue)
    public static let noAutostart = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART.rawValue)
    public static let managedSave = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE.rawValue)
    public static let hasSnapshot = DomainListFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT.rawValue)
}

/// Filter for network and storage-pool listings.
public struct ObjectListFilter: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let active = ObjectListFilter(rawValue: 1 << 0)
    public static let inactive = ObjectListFilter(rawValue: 1 << 1)
    public static let persistent = ObjectListFilter(rawValue: 1 << 2)
    public static let transient = ObjectListFilter(rawValue: 1 << 3)
    public static let autostart = ObjectListFilter(rawValue: 1 << 4)
    public static let noAutostart = ObjectListFilter(rawValue: 1 << 5)

    private func map(_ table: [(ObjectListFilter, UInt32)]) -> UInt32 {
        table.reduce(0) { contains($1.0) ? $0 | $1.1 : $0 }
    }

    var networkFlags: UInt32 {
        map([
            (.active, VIR_CONNECT_LIST_NETWORKS_ACTIVE.rawValue), (.inactive, VIR_CONNECT_LIST_NETWORKS_INACTIVE.rawValue),
            (.persistent, VIR_CONNECT_LIST_NETWORKS_PERSISTENT.rawValue),
            (.transient, VIR_CONNECT_LIST_NETWORKS_TRANSIENT.rawValue),
            (.autostart, VIR_CONNECT_LIST_NETWORKS_AUTOSTART.rawValue),
            (.noAutostart, VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART.rawValue)
        ])
    }

    var poolFlags: UInt32 {
        map([
            (.active, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE.rawValue),
            (.inactive, VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE.rawValue),
            (.persistent, VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT.rawValue),
            (.transient, VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT.rawValue),
            (.autostart, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART.rawValue),
            (.noAutostart, VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART.rawValue)
        ])
    }
}

/// Hands the result of a background open to whichever side is still interested.
private final class OpenBox: @unchecked Sendable {
    private let lock = NSLock()
    private var delivered: (OpaquePointer?, LibvirtError?)?
    private var abandoned = false

    func deliver(_ p: OpaquePointer?, _ e: LibvirtError?) {
        lock.lock()
        defer { lock.unlock() }
        if abandoned {
            if let p { virConnectClose(p) }
        } else {
            delivered = (p, e)
        }
    }

    func result() -> (OpaquePointer?, LibvirtError?) {
        lock.lock()
        defer { lock.unlock() }
        return delivered ?? (nil, nil)
    }

    /// Marks the open as abandoned unless it already finished; returns the result if it did.
    func abandon() -> (OpaquePointer?, LibvirtError?)? {
        lock.lock()
        defer { lock.unlock() }
        if let d = delivered { return d }
        abandoned = true
        return nil
    }
}

/// Wraps each element of a malloc'd array of owned object pointers and frees the array.
func takeList<T>(_ list: UnsafeMutablePointer<OpaquePointer?>?, _ n: Int32, _ wrap: (OpaquePointer) -> T) -> [T] {
    guard let list else { return [] }
    defer { free(list) }
    var out: [T] = []
    out.reserveCapacity(Int(max(n, 0)))
    for i in 0..<Int(max(n, 0)) {
        if let p = list[i] { out.append(wrap(p)) }
    }
    return out
}

/// A lookup result: the object, nil when libvirt says "not found", else the error.
func lookup<T>(_ p: OpaquePointer?, _ wrap: (OpaquePointer) -> T) throws -> T? {
    if let p { return wrap(p) }
    let e = LibvirtError.last("lookup failed")
    if e.isNotFound { return nil }
    throw e
}
