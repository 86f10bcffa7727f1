internal import CLibvirt
import Foundation

/// Mirrors `virDomainState`.
public enum DomainState: Int32, Sendable, Hashable {
    case noState = 0
    case running = 1
    case blocked = 2
    case paused = 3
    case shutdown = 4
    case shutoff = 5
    case crashed = 6
    case pmSuspended = 7
}

/// `virDomainGetInfo`.
public struct DomainInfo: Sendable, Equatable {
    public var state: DomainState
    /// Maximum memory, KiB.
    public var maxMemKiB: UInt64
    /// Current memory, KiB.
    public var memoryKiB: UInt64
    public var nrVirtCpu: UInt32
    /// CPU time used, nanoseconds.
    public var cpuTimeNs: UInt64
}

/// `virDomainXMLFlags`.
public struct DomainXMLFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let secure = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
    public static let inactive = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
    public static let updateCPU = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_UPDATE_CPU.rawValue)
    public static let migratable = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
}

/// `virDomainUndefineFlagsValues`.
public struct UndefineFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let managedSave = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue)
    public static let snapshotsMetadata = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue)
    public static let nvram = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_NVRAM.rawValue)
    public static let keepNvram = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_KEEP_NVRAM.rawValue)
    public static let checkpointsMetadata = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue)
    public static let keepTPM = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_KEEP_TPM.rawValue)
    public static let tpm = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_TPM.rawValue)
}

/// `virDomainVcpuFlags` (live/config/current are `virDomainModificationImpact`).
public struct VcpuFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let current = VcpuFlags([])
    public static let live = VcpuFlags(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
    public static let config = VcpuFlags(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
    public static let maximum = VcpuFlags(rawValue: VIR_DOMAIN_VCPU_MAXIMUM.rawValue)
    public static let guest = VcpuFlags(rawValue: VIR_DOMAIN_VCPU_GUEST.rawValue)
}

/// `virDomainMemoryModFlags`.
public struct MemoryFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let current = MemoryFlags([])
    public static let live = MemoryFlags(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
    public static let config = MemoryFlags(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
    public static let maximum = MemoryFlags(rawValue: VIR_DOMAIN_MEM_MAXIMUM.rawValue)
}

/// `virDomainDeviceModifyFlags`: where an attach/detach/update applies.
public struct DeviceModifyFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let current = DeviceModifyFlags([])
    public static let live = DeviceModifyFlags(rawValue: VIR_DOMAIN_DEVICE_MODIFY_LIVE.rawValue)
    public static let config = DeviceModifyFlags(rawValue: VIR_DOMAIN_DEVICE_MODIFY_CONFIG.rawValue)
    /// For update: force the change (e.g. eject a locked CD-ROM).
    public static let force = DeviceModifyFlags(rawValue: VIR_DOMAIN_DEVICE_MODIFY_FORCE.rawValue)
}

/// `virDomainModificationImpact`, for metadata.
public struct ModificationImpact: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let current = ModificationImpact([])
    public static let live = ModificationImpact(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
    public static let config = ModificationImpact(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
}

/// Where `interfaceAddresses` gets its answer.
public enum InterfaceAddressSource: Sendable, Hashable {
    /// The libvirt network's DHCP leases.
    case lease
    /// The QEMU guest agent.
    case agent
    /// The host's ARP table.
    case arp

    var raw: UInt32 {
        switch self {
        case .lease: VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE.rawValue
        case .agent: VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT.rawValue
        case .arp: VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP.rawValue
        }
    }
}

/// One guest interface and its addresses.
public struct DomainInterface: Sendable, Equatable {
    public struct Address: Sendable, Equatable {
        public var isIPv6: Bool
        public var address: String
        public var prefix: UInt32
    }
    public var name: String
    public var mac: String?
    public var addresses: [Address]
}

/// What `shutdown(timeout:)` ended up doing.
public enum ShutdownOutcome: Sendable, Equatable {
    /// The domain was not running.
    case alreadyOff
    /// The guest shut down after the ACPI request.
    case graceful
    /// The guest ignored the request until the timeout; it was destroyed (forced off).
    case destroyed
}

/// A libvirt domain (VM). Freed with `virDomainFree` on deinit.
/// `@unchecked Sendable`: libvirt object handles are thread-safe (libvirt.org/threadsafety.html).
public final class Domain: @unchecked Sendable {
    let ptr: OpaquePointer
    /// The connection this domain came from (kept alive as long as the handle is).
    public let connection: Connection

    init(ptr: OpaquePointer, connection: Connection) {
        self.ptr = ptr
        self.connection = connection
    }

    deinit { virDomainFree(ptr) }

    /// The name (virDomainGetName cannot fail on a valid handle).
    public var name: String { borrowString(virDomainGetName(ptr)) ?? "" }

    public var uuidString: String {
        get throws { try readUUID { virDomainGetUUIDString(ptr, $0) } }
    }

    /// The hypervisor id of a running domain; nil when inactive.
    public var id: UInt32? {
        let v = virDomainGetID(ptr)
        if v == UInt32.max {
            virResetLastError()
            return nil
        }
        return v
    }

    public func info() throws -> DomainInfo {
        var i = virDomainInfo()
        try check("virDomainGetInfo", virDomainGetInfo(ptr, &i))
        return DomainInfo(
            state: DomainState(rawValue: Int32(i.state)) ?? .noState, maxMemKiB: UInt64(i.maxMem),
            memoryKiB: UInt64(i.memory), nrVirtCpu: UInt32(i.nrVirtCpu), cpuTimeNs: i.cpuTime)
    }

    /// The current state, via virDomainGetState (cheaper than `info()`).
    public func state() throws -> DomainState {
        var s: Int32 = 0
        var reason: Int32 = 0
        try check("virDomainGetState", virDomainGetState(ptr, &s, &reason, 0))
        return DomainState(rawValue: s) ?? .noState
    }

    public func xmlDesc(flags: DomainXMLFlags = []) throws -> String {
        try checkPtr("virDomainGetXMLDesc", takeString(virDomainGetXMLDesc(ptr, flags.rawValue)))
    }

    public var isActive: Bool {
        get throws { try check("virDomainIsActive", virDomainIsActive(ptr)) == 1 }
    }

    public var isPersistent: Bool {
        get throws { try check("virDomainIsPersistent", virDomainIsPersistent(ptr)) == 1 }
    }

    public func autostart() throws -> Bool {
        var v: Int32 = 0
        try check("virDomainGetAutostart", virDomainGetAutostart(ptr, &v))
        return v != 0
    }

    public func setAutostart(_ on: Bool) throws {
        try check("virDomainSetAutostart", virDomainSetAutostart(ptr, on ? 1 : 0))
    }

    public var hasManagedSave: Bool {
        get throws { try check("virDomainHasManagedSaveImage", virDomainHasManagedSaveImage(ptr, 0)) == 1 }
    }

    // MARK: Lifecycle

    /// Starts a defined domain.
    public func create() throws {
        try check("virDomainCreate", virDomainCreate(ptr))
    }

    /// Asks the guest to shut down (ACPI); returns immediately.
    public func shutdown() throws {
        try check("virDomainShutdown", virDomainShutdown(ptr))
    }

    /// Graceful shutdown with a deadline: sends the ACPI request, polls until the domain is shut
    /// off, and destroys it if it is still running after `timeout` seconds.
    @discardableResult
    public func shutdown(timeout: Double, pollInterval: Double = 0.2) throws -> ShutdownOutcome {
        guard try isActive else { return .alreadyOff }
        do {
            try shutdown()
        } catch let e as LibvirtError where e.isInvalidOperation {
            // It stopped between the check and the request.
            if try !isActive { return .graceful }
            throw e
        }
        let deadline = Date().addingTimeInterval(max(timeout, 0))
        while Date() < deadline {
            if try !isActive { return .graceful }
            Thread.sleep(forTimeInterval: max(pollInterval, 0.01))
        }
        if try !isActive { return .graceful }
        do {
            try destroy()
        } catch let e as LibvirtError where e.isInvalidOperation {
            if try !isActive { return .graceful }
            throw e
        }
        return .destroyed
    }

    /// Forces the domain off.
    public func destroy() throws {
        try check("virDomainDestroy", virDomainDestroy(ptr))
    }

    public func reboot() throws {
        try check("virDomainReboot", virDomainReboot(ptr, 0))
    }

    public func suspend() throws {
        try check("virDomainSuspend", virDomainSuspend(ptr))
    }

    public func resume() throws {
        try check("virDomainResume", virDomainResume(ptr))
    }

    /// Removes the persistent definition (a running domain becomes transient).
    public func undefine(flags: UndefineFlags = []) throws {
        try check("virDomainUndefineFlags", virDomainUndefineFlags(ptr, flags.rawValue))
    }

    // MARK: Resources

    public func setVcpus(_ count: UInt32, flags: VcpuFlags = .current) throws {
        try check("virDomainSetVcpusFlags", virDomainSetVcpusFlags(ptr, count, flags.rawValue))
    }

    /// The vcpu count for the given flags (e.g. `[.config, .maximum]`).
    public func vcpus(flags: VcpuFlags = .current) throws -> UInt32 {
        UInt32(try check("virDomainGetVcpusFlags", virDomainGetVcpusFlags(ptr, flags.rawValue)))
    }

    public func setMemory(kib: UInt64, flags: MemoryFlags = .current) throws {
        try check("virDomainSetMemoryFlags", virDomainSetMemoryFlags(ptr, clampULong(kib), flags.rawValue))
    }

    public func attachDevice(xml: String, flags: DeviceModifyFlags = .current) throws {
        try check("virDomainAttachDeviceFlags", virDomainAttachDeviceFlags(ptr, xml, flags.rawValue))
    }

    public func detachDevice(xml: String, flags: DeviceModifyFlags = .current) throws {
        try check("virDomainDetachDeviceFlags", virDomainDetachDeviceFlags(ptr, xml, flags.rawValue))
    }

    public func updateDevice(xml: String, flags: DeviceModifyFlags = .current) throws {
        try check("virDomainUpdateDeviceFlags", virDomainUpdateDeviceFlags(ptr, xml, flags.rawValue))
    }

    /// Grows (or shrinks) a running domain's disk to `bytes`. `disk` is the target ("vda") or source path.
    public func blockResize(disk: String, bytes: UInt64) throws {
        try check(
            "virDomainBlockResize",
            virDomainBlockResize(ptr, disk, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES.rawValue))
    }

    // MARK: Metadata

    /// The custom `<metadata>` element in namespace `uri`, or nil if the domain has none.
    public func metadata(uri: String, flags: ModificationImpact = .current) throws -> String? {
        let p = virDomainGetMetadata(ptr, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), uri, flags.rawValue)
        if let s = takeString(p) { return s }
        let e = LibvirtError.last("virDomainGetMetadata failed")
        if e.code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) { return nil }
        throw e
    }

    /// Sets (or, with nil `xml`, removes) the custom metadata element in namespace `uri`,
    /// written with prefix `key`.
    public func setMetadata(_ xml: String?, key: String, uri: String, flags: ModificationImpact = .current) throws {
        try check(
            "virDomainSetMetadata",
            virDomainSetMetadata(
                ptr, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), xml,
                xml == nil ? nil : key, uri, flags.rawValue))
    }

    /// The `<title>` or `<description>` text, nil if unset.
    public func metadataText(description: Bool, flags: ModificationImpact = .current) throws -> String? {
        let type = description ? VIR_DOMAIN_METADATA_DESCRIPTION : VIR_DOMAIN_METADATA_TITLE
        if let s = takeString(virDomainGetMetadata(ptr, Int32(type.rawValue), nil, flags.rawValue)) { return s }
        let e = LibvirtError.last("virDomainGetMetadata failed")
        if e.code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) { return nil }
        throw e
    }

    // MARK: Addresses

    public func interfaceAddresses(source: InterfaceAddressSource) throws -> [DomainInterface] {
        var ifaces: UnsafeMutablePointer<virDomainInterfacePtr?>?
        let n = try check(
            "virDomainInterfaceAddresses",
            virDomainInterfaceAddresses(ptr, &ifaces, source.raw, 0))
        guard let ifaces else { return [] }
        defer {
            for i in 0..<Int(n) { if let p = ifaces[i] { virDomainInterfaceFree(p) } }
            free(ifaces)
        }
        var out: [DomainInterface] = []
        for i in 0..<Int(n) {
            guard let p = ifaces[i]?.pointee else { continue }
            var addrs: [DomainInterface.Address] = []
            if let a = p.addrs {
                for j in 0..<Int(max(p.naddrs, 0)) {
                    addrs.append(
                        .init(
                            isIPv6: a[j].type == Int32(VIR_IP_ADDR_TYPE_IPV6.rawValue),
                            address: borrowString(a[j].addr) ?? "", prefix: a[j].prefix))
                }
            }
            out.append(
                DomainInterface(
                    name: borrowString(p.name) ?? "", mac: borrowString(p.hwaddr),
                    addresses: addrs))
        }
        return out
    }

    // MARK: Snapshots

    public func createSnapshot(xml: String, flags: SnapshotCreateFlags = []) throws -> Snapshot {
        let p = try checkPtr("virDomainSnapshotCreateXML", virDomainSnapshotCreateXML(ptr, xml, flags.rawValue))
        return Snapshot(ptr: p, domain: self)
    }

    public func listAllSnapshots() throws -> [Snapshot] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = try check("virDomainListAllSnapshots", virDomainListAllSnapshots(ptr, &list, 0))
        return takeList(list, n) { Snapshot(ptr: $0, domain: self) }
    }

    public func snapshot(named name: String) throws -> Snapshot? {
        try lookup(virDomainSnapshotLookupByName(ptr, name, 0)) { Snapshot(ptr: $0, domain: self) }
    }

    // MARK: Jobs and migration

    /// Progress of the domain's current job (e.g. a migration), via virDomainGetJobInfo.
    public func jobInfo() throws -> DomainJobInfo {
        var i = virDomainJobInfo()
        try check("virDomainGetJobInfo", virDomainGetJobInfo(ptr, &i))
        return DomainJobInfo(
            type: DomainJobType(rawValue: i.type) ?? .none, elapsedMs: i.timeElapsed,
            remainingMs: i.timeRemaining, dataTotal: i.dataTotal, dataProcessed: i.dataProcessed,
            dataRemaining: i.dataRemaining)
    }

    /// Aborts the running job (e.g. a migration) on this domain.
    public func abortJob() throws {
        try check("virDomainAbortJob", virDomainAbortJob(ptr))
    }

    /// Migrates to `destination` (virDomainMigrate3); returns the domain on the destination.
    public func migrate(
        to destination: Connection, flags: MigrateFlags, destinationXML: String? = nil,
        bandwidthMiBs: UInt64? = nil
    ) throws -> Domain {
        var params: virTypedParameterPtr?
        var n: Int32 = 0
        var cap: Int32 = 0
        defer { virTypedParamsFree(params, n) }
        if let destinationXML {
            try check(
                "virTypedParamsAddString",
                virTypedParamsAddString(&params, &n, &cap, VIR_MIGRATE_PARAM_DEST_XML, destinationXML))
        }
        if let bandwidthMiBs {
            try check(
                "virTypedParamsAddULLong",
                virTypedParamsAddULLong(&params, &n, &cap, VIR_MIGRATE_PARAM_BANDWIDTH, bandwidthMiBs))
        }
        let p = try checkPtr(
            "virDomainMigrate3",
            virDomainMigrate3(ptr, destination.ptr, params, UInt32(n), flags.rawValue))
        return Domain(ptr: p, connection: destination)
    }
}

/// Mirrors `virDomainJobType`.
public enum DomainJobType: Int32, Sendable, Hashable {
    case none = 0
    case bounded = 1
    case unbounded = 2
    case completed = 3
    case failed = 4
    case cancelled = 5
}

/// `virDomainGetJobInfo`: figures are bytes and milliseconds.
public struct DomainJobInfo: Sendable, Equatable {
    public var type: DomainJobType
    public var elapsedMs: UInt64
    public var remainingMs: UInt64
    public var dataTotal: UInt64
    public var dataProcessed: UInt64
    public var dataRemaining: UInt64
}

/// `virDomainMigrateFlags`.
public struct MigrateFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let live = MigrateFlags(rawValue: VIR_MIGRATE_LIVE.rawValue)
    public static let peer2peer = MigrateFlags(rawValue: VIR_MIGRATE_PEER2PEER.rawValue)
    public static let tunnelled = MigrateFlags(rawValue: VIR_MIGRATE_TUNNELLED.rawValue)
    public static let persistDest = MigrateFlags(rawValue: VIR_MIGRATE_PERSIST_DEST.rawValue)
    public static let undefineSource = MigrateFlags(rawValue: VIR_MIGRATE_UNDEFINE_SOURCE.rawValue)
    public static let paused = MigrateFlags(rawValue: VIR_MIGRATE_PAUSED.rawValue)
    public static let nonSharedDisk = MigrateFlags(rawValue: VIR_MIGRATE_NON_SHARED_DISK.rawValue)
    public static let nonSharedInc = MigrateFlags(rawValue: VIR_MIGRATE_NON_SHARED_INC.rawValue)
    public static let changeProtection = MigrateFlags(rawValue: VIR_MIGRATE_CHANGE_PROTECTION.rawValue)
    public static let unsafe = MigrateFlags(rawValue: VIR_MIGRATE_UNSAFE.rawValue)
    public static let offline = MigrateFlags(rawValue: VIR_MIGRATE_OFFLINE.rawValue)
    public static let compressed = MigrateFlags(rawValue: VIR_MIGRATE_COMPRESSED.rawValue)
    public static let abortOnError = MigrateFlags(rawValue: VIR_MIGRATE_ABORT_ON_ERROR.rawValue)
    public static let autoConverge = MigrateFlags(rawValue: VIR_MIGRATE_AUTO_CONVERGE.rawValue)
    public static let postcopy = MigrateFlags(rawValue: VIR_MIGRATE_POSTCOPY.rawValue)
    public static let tlsRequired = MigrateFlags(rawValue: VIR_MIGRATE_TLS.rawValue)
    public static let parallel = MigrateFlags(rawValue: VIR_MIGRATE_PARALLEL.rawValue)
}

/// `virDomainSnapshotCreateFlags`.
public struct SnapshotCreateFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let redefine = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.rawValue)
    public static let current = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT.rawValue)
    public static let noMetadata = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA.rawValue)
    public static let halt = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_HALT.rawValue)
    public static let diskOnly = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY.rawValue)
    public static let reuseExternal = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT.rawValue)
    public static let quiesce = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE.rawValue)
    public static let atomic = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.rawValue)
    public static let live = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_LIVE.rawValue)
    public static let validate = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE.rawValue)
}

/// `virDomainSnapshotDeleteFlags`.
public struct SnapshotDeleteFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let children = SnapshotDeleteFlags(rawValue: VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN.rawValue)
    public static let metadataOnly = SnapshotDeleteFlags(rawValue: VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY.rawValue)
    public static let childrenOnly = SnapshotDeleteFlags(rawValue: VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY.rawValue)
}

/// `virDomainSnapshotRevertFlags`.
public struct SnapshotRevertFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let running = SnapshotRevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING.rawValue)
    public static let paused = SnapshotRevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED.rawValue)
    public static let force = SnapshotRevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_FORCE.rawValue)
}

/// A domain snapshot. Freed with `virDomainSnapshotFree`.
/// `@unchecked Sendable`: libvirt object handles are thread-safe (libvirt.org/threadsafety.html).
public final class Snapshot: @unchecked Sendable {
    let ptr: OpaquePointer
    public let domain: Domain

    init(ptr: OpaquePointer, domain: Domain) {
        self.ptr = ptr
        self.domain = domain
    }

    deinit { virDomainSnapshotFree(ptr) }

    public var name: String { borrowString(virDomainSnapshotGetName(ptr)) ?? "" }

    public func xmlDesc(secure: Bool = false) throws -> String {
        try checkPtr(
            "virDomainSnapshotGetXMLDesc",
            takeString(virDomainSnapshotGetXMLDesc(ptr, secure ? VIR_DOMAIN_SNAPSHOT_XML_SECURE.rawValue : 0)))
    }

    public func delete(flags: SnapshotDeleteFlags = []) throws {
        try check("virDomainSnapshotDelete", virDomainSnapshotDelete(ptr, flags.rawValue))
    }

    public func revert(flags: SnapshotRevertFlags = []) throws {
        try check("virDomainRevertToSnapshot", virDomainRevertToSnapshot(ptr, flags.rawValue))
    }

    public var isCurrent: Bool {
        get throws { try check("virDomainSnapshotIsCurrent", virDomainSnapshotIsCurrent(ptr, 0)) == 1 }
    }
}
