internal import CLibvirt
import Foundation

/// A failure reported by libvirt, read from its thread-local last-error slot right after the
/// failing call (on the same thread). `description` is libvirt's own message.
public struct LibvirtError: Error, Sendable, CustomStringConvertible, Equatable {
    /// `virErrorNumber` (e.g. VIR_ERR_NO_DOMAIN = 42).
    public var code: Int32
    /// `virErrorDomain`: which libvirt subsystem raised it.
    public var domain: Int32
    /// libvirt's message, e.g. "Network not found: no network with matching name 'x'".
    public var message: String
    /// The symbolic name of `code` for common codes (e.g. "VIR_ERR_NO_DOMAIN"), else "VIR_ERR_<n>".
    public var codeName: String

    public init(code: Int32, domain: Int32, message: String, codeName: String? = nil) {
        self.code = code
        self.domain = domain
        self.message = message
        self.codeName = codeName ?? LibvirtError.name(forCode: code)
    }

    public var description: String { message }

    /// The object looked up or acted on does not exist.
    public var isNotFound: Bool {
        LibvirtError.notFoundCodes.contains(code)
    }
    public var isNoDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }
    public var isNoNetwork: Bool { code == Int32(VIR_ERR_NO_NETWORK.rawValue) }
    public var isNoStoragePool: Bool { code == Int32(VIR_ERR_NO_STORAGE_POOL.rawValue) }
    public var isNoStorageVolume: Bool { code == Int32(VIR_ERR_NO_STORAGE_VOL.rawValue) }
    public var isNoSnapshot: Bool { code == Int32(VIR_ERR_NO_DOMAIN_SNAPSHOT.rawValue) }
    public var isNoNodeDevice: Bool { code == Int32(VIR_ERR_NO_NODE_DEVICE.rawValue) }
    /// The driver rejects a flag it does not know (virCheckFlags: "unsupported flags (0x…) in function …").
    public var isUnsupportedFlags: Bool {
        code == Int32(VIR_ERR_INVALID_ARG.rawValue) && message.hasPrefix("unsupported flags")
    }
    /// The driver does not implement the call (e.g. migration on the test driver).
    public var isUnsupported: Bool {
        code == Int32(VIR_ERR_NO_SUPPORT.rawValue) || code == Int32(VIR_ERR_ARGUMENT_UNSUPPORTED.rawValue)
            || code == Int32(VIR_ERR_OPERATION_UNSUPPORTED.rawValue)
    }
    /// A pool build found the pool already built (`virStoragePoolBuild` with NO_OVERWRITE on an existing volume group or filesystem).
    public var isPoolAlreadyBuilt: Bool { code == Int32(VIR_ERR_STORAGE_POOL_BUILT.rawValue) }
    /// The object is in the wrong state for the call (e.g. destroying a domain that is not running).
    public var isInvalidOperation: Bool { code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) }

    static let notFoundCodes: Set<Int32> = [
        VIR_ERR_NO_DOMAIN, VIR_ERR_NO_NETWORK, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL,
        VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_NO_NODE_DEVICE
    ].reduce(into: []) { $0.insert(Int32($1.rawValue)) }

    /// The funnel: reads (and clears) libvirt's thread-local last error. Call it on the thread
    /// that made the failing call, immediately after it.
    static func last(_ fallback: @autoclosure () -> String) -> LibvirtError {
        guard let e = virGetLastError() else {
            return LibvirtError(code: -1, domain: 0, message: fallback(), codeName: "VIR_ERR_UNKNOWN")
        }
        let err = LibvirtError(
            code: e.pointee.code, domain: e.pointee.domain,
            message: borrowString(e.pointee.message) ?? fallback())
        virResetLastError()
        return err
    }

    static func name(forCode code: Int32) -> String {
        codeNames[code] ?? "VIR_ERR_\(code)"
    }

    private static let codeNames: [Int32: String] = {
        let pairs: [(virErrorNumber, String)] = [
            (VIR_ERR_OK, "VIR_ERR_OK"),
            (VIR_ERR_INTERNAL_ERROR, "VIR_ERR_INTERNAL_ERROR"),
            (VIR_ERR_NO_MEMORY, "VIR_ERR_NO_MEMORY"),
            (VIR_ERR_NO_SUPPORT, "VIR_ERR_NO_SUPPORT"),
            (VIR_ERR_UNKNOWN_HOST, "VIR_ERR_UNKNOWN_HOST"),
            (VIR_ERR_NO_CONNECT, "VIR_ERR_NO_CONNECT"),
            (VIR_ERR_INVALID_CONN, "VIR_ERR_INVALID_CONN"),
            (VIR_ERR_INVALID_DOMAIN, "VIR_ERR_INVALID_DOMAIN"),
            (VIR_ERR_INVALID_ARG, "VIR_ERR_INVALID_ARG"),
            (VIR_ERR_OPERATION_FAILED, "VIR_ERR_OPERATION_FAILED"),
            (VIR_ERR_XML_ERROR, "VIR_ERR_XML_ERROR"),
            (VIR_ERR_XML_DETAIL, "VIR_ERR_XML_DETAIL"),
            (VIR_ERR_OPERATION_UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED"),
            (VIR_ERR_NO_INTERFACE, "VIR_ERR_NO_INTERFACE"),
            (VIR_ERR_NO_SECRET, "VIR_ERR_NO_SECRET"),
            (VIR_ERR_NO_NWFILTER, "VIR_ERR_NO_NWFILTER"),
            (VIR_ERR_HOOK_SCRIPT_FAILED, "VIR_ERR_HOOK_SCRIPT_FAILED"),
            (VIR_ERR_NO_NAME, "VIR_ERR_NO_NAME"),
            (VIR_ERR_INVALID_NETWORK, "VIR_ERR_INVALID_NETWORK"),
            (VIR_ERR_NETWORK_EXIST, "VIR_ERR_NETWORK_EXIST"),
            (VIR_ERR_DOM_EXIST, "VIR_ERR_DOM_EXIST"),
            (VIR_ERR_SYSTEM_ERROR, "VIR_ERR_SYSTEM_ERROR"),
            (VIR_ERR_RPC, "VIR_ERR_RPC"),
            (VIR_ERR_OPERATION_DENIED, "VIR_ERR_OPERATION_DENIED"),
            (VIR_ERR_NO_DOMAIN, "VIR_ERR_NO_DOMAIN"),
            (VIR_ERR_NO_NETWORK, "VIR_ERR_NO_NETWORK"),
            (VIR_ERR_INVALID_MAC, "VIR_ERR_INVALID_MAC"),
            (VIR_ERR_AUTH_FAILED, "VIR_ERR_AUTH_FAILED"),
            (VIR_ERR_INVALID_STORAGE_POOL, "VIR_ERR_INVALID_STORAGE_POOL"),
            (VIR_ERR_INVALID_STORAGE_VOL, "VIR_ERR_INVALID_STORAGE_VOL"),
            (VIR_ERR_NO_STORAGE_POOL, "VIR_ERR_NO_STORAGE_POOL"),
            (VIR_ERR_NO_STORAGE_VOL, "VIR_ERR_NO_STORAGE_VOL"),
            (VIR_ERR_NO_NODE_DEVICE, "VIR_ERR_NO_NODE_DEVICE"),
            (VIR_ERR_OPERATION_INVALID, "VIR_ERR_OPERATION_INVALID"),
            (VIR_ERR_NO_DOMAIN_SNAPSHOT, "VIR_ERR_NO_DOMAIN_SNAPSHOT"),
            (VIR_ERR_INVALID_DOMAIN_SNAPSHOT, "VIR_ERR_INVALID_DOMAIN_SNAPSHOT"),
            (VIR_ERR_OPERATION_TIMEOUT, "VIR_ERR_OPERATION_TIMEOUT"),
            (VIR_ERR_MIGRATE_PERSIST_FAILED, "VIR_ERR_MIGRATE_PERSIST_FAILED"),
            (VIR_ERR_CONFIG_UNSUPPORTED, "VIR_ERR_CONFIG_UNSUPPORTED"),
            (VIR_ERR_OPERATION_ABORTED, "VIR_ERR_OPERATION_ABORTED"),
            (VIR_ERR_NO_DOMAIN_METADATA, "VIR_ERR_NO_DOMAIN_METADATA"),
            (VIR_ERR_MIGRATE_UNSAFE, "VIR_ERR_MIGRATE_UNSAFE"),
            (VIR_ERR_ARGUMENT_UNSUPPORTED, "VIR_ERR_ARGUMENT_UNSUPPORTED"),
            (VIR_ERR_STORAGE_POOL_BUILT, "VIR_ERR_STORAGE_POOL_BUILT"),
            (VIR_ERR_AGENT_UNRESPONSIVE, "VIR_ERR_AGENT_UNRESPONSIVE"),
            (VIR_ERR_RESOURCE_BUSY, "VIR_ERR_RESOURCE_BUSY"),
            (VIR_ERR_ACCESS_DENIED, "VIR_ERR_ACCESS_DENIED"),
            (VIR_ERR_DBUS_SERVICE, "VIR_ERR_DBUS_SERVICE"),
            (VIR_ERR_STORAGE_VOL_EXIST, "VIR_ERR_STORAGE_VOL_EXIST"),
            (VIR_ERR_CPU_INCOMPATIBLE, "VIR_ERR_CPU_INCOMPATIBLE"),
            (VIR_ERR_XML_INVALID_SCHEMA, "VIR_ERR_XML_INVALID_SCHEMA"),
            (VIR_ERR_MIGRATE_FINISH_OK, "VIR_ERR_MIGRATE_FINISH_OK"),
            (VIR_ERR_AUTH_UNAVAILABLE, "VIR_ERR_AUTH_UNAVAILABLE"),
            (VIR_ERR_NO_SERVER, "VIR_ERR_NO_SERVER"),
            (VIR_ERR_NO_CLIENT, "VIR_ERR_NO_CLIENT"),
            (VIR_ERR_AGENT_UNSYNCED, "VIR_ERR_AGENT_UNSYNCED"),
            (VIR_ERR_LIBSSH, "VIR_ERR_LIBSSH"),
            (VIR_ERR_DEVICE_MISSING, "VIR_ERR_DEVICE_MISSING"),
            (VIR_ERR_INVALID_NWFILTER_BINDING, "VIR_ERR_INVALID_NWFILTER_BINDING"),
            (VIR_ERR_NO_NWFILTER_BINDING, "VIR_ERR_NO_NWFILTER_BINDING"),
            (VIR_ERR_NO_DOMAIN_CHECKPOINT, "VIR_ERR_NO_DOMAIN_CHECKPOINT"),
            (VIR_ERR_NO_DOMAIN_BACKUP, "VIR_ERR_NO_DOMAIN_BACKUP"),
            (VIR_ERR_INVALID_NETWORK_PORT, "VIR_ERR_INVALID_NETWORK_PORT"),
            (VIR_ERR_NETWORK_PORT_EXIST, "VIR_ERR_NETWORK_PORT_EXIST"),
            (VIR_ERR_NO_NETWORK_PORT, "VIR_ERR_NO_NETWORK_PORT"),
            (VIR_ERR_NO_HOSTNAME, "VIR_ERR_NO_HOSTNAME"),
            (VIR_ERR_CHECKPOINT_INCONSISTENT, "VIR_ERR_CHECKPOINT_INCONSISTENT"),
            (VIR_ERR_MULTIPLE_DOMAINS, "VIR_ERR_MULTIPLE_DOMAINS")
        ]
        return Dictionary(pairs.map { (Int32($0.0.rawValue), $0.1) }, uniquingKeysWith: { a, _ in a })
    }()
}

/// A blocking call that did not finish within its time limit (e.g. opening a connection to a
/// host that accepts the socket but never answers).
public struct LibvirtTimeout: Error, Sendable, CustomStringConvertible, Equatable {
    /// What was attempted, e.g. "connect to qemu+ssh://h/system".
    public var operation: String
    public var seconds: Double

    public init(operation: String, seconds: Double) {
        self.operation = operation
        self.seconds = seconds
    }

    /// e.g. "could not connect to qemu+ssh://h/system within 10 s".
    public var description: String {
        let whole = seconds.isFinite && seconds == seconds.rounded() && abs(seconds) < 1e15
        let s = whole ? String(Int(seconds)) : String(format: "%.1f", seconds)
        return "could not \(operation) within \(s) s"
    }
}

/// Runs a C call returning a status code (< 0 on failure) and throws libvirt's error.
@discardableResult
func check(_ what: @autoclosure () -> String, _ rc: Int32) throws -> Int32 {
    if rc < 0 { throw LibvirtError.last("\(what()) failed") }
    return rc
}

/// Unwraps a C pointer result (nil on failure) or throws libvirt's error.
func checkPtr<T>(_ what: @autoclosure () -> String, _ p: T?) throws -> T {
    guard let p else { throw LibvirtError.last("\(what()) failed") }
    return p
}
