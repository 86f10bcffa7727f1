internal import CLibvirt
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
