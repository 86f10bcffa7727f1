import CLibvirt
import Foundation

/// A host device known to libvirt's node-device driver (e.g. "pci_0000_00_00_0").
/// Freed with `virNodeDeviceFree`.
/// `@unchecked Sendable`: libvirt object handles are thread-safe (libvirt.org/threadsafety.html).
public final class NodeDevice: @unchecked Sendable {
    let ptr: OpaquePointer
    public let connection: Connection

    init(ptr: OpaquePointer, connection: Connection) {
        self.ptr = ptr
        self.connection = connection
    }

    deinit { virNodeDeviceFree(ptr) }

    public var name: String { borrowString(virNodeDeviceGetName(ptr)) ?? "" }

    /// The parent device's name ("computer" for top-level PCI devices), nil if none.
    public var parent: String? {
        let p = virNodeDeviceGetParent(ptr)
        if p == nil { virResetLastError() }
        return borrowString(p)
    }

    public func xmlDesc() throws -> String {
        try checkPtr("virNodeDeviceGetXMLDesc", takeString(virNodeDeviceGetXMLDesc(ptr, 0)))
    }
}

/// The raw floor for the read benchmark: the same C calls as `listAllDomains` + `xmlDesc` with no
/// Swift wrapping, so the binding's overhead can be measured against it.
public enum RawFloor {
    /// Opens `uri`, lists all domains and fetches each one's XML; returns the total XML bytes.
    public static func readAllDomainXML(uri: String) throws -> Int {
        Libvirt.initialize()
        guard let conn = virConnectOpenAuth(uri, defaultAuth, 0) else {
            throw LibvirtError.last("could not connect to \(uri)")
        }
        defer { virConnectClose(conn) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = virConnectListAllDomains(conn, &list, 0)
        if n < 0 { throw LibvirtError.last("virConnectListAllDomains failed") }
        guard let list else { return 0 }
        defer { free(list) }
        var total = 0
        var failure: LibvirtError?
        for i in 0..<Int(n) {
            guard let d = list[i] else { continue }
            if failure == nil {
                if let x = virDomainGetXMLDesc(d, 0) {
                    total += strlen(x)
                    free(x)
                } else {
                    failure = LibvirtError.last("virDomainGetXMLDesc failed")
                }
            }
            virDomainFree(d)
        }
        if let failure { throw failure }
        return total
    }
}
