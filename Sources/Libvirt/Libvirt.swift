// The Swift binding to libvirt's C API. This target is the only importer of CLibvirt:
// no C pointer appears in its public API, every C failure becomes a `LibvirtError`.
internal import CLibraryLoader
internal import CLibvirt
import Foundation

/// libvirt.so.0 or libvirt-qemu.so.0 could not be loaded (not installed, or older than fleet needs).
/// `description` says which library, why, and the Debian package to install (`libvirt0`).
public struct LibvirtUnavailable: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    /// The Debian package that installs the library, "libvirt0".
    public var package: String
    public var description: String { message }
}

/// Process-wide libvirt setup.
public enum Libvirt {
    /// Runs once per process (Swift global initialisers are lazy and thread-safe, via swift_once).
    private static let setUp: Result<Void, LibvirtUnavailable> = {
        // fleet does not link libvirt: it is loaded here, the first time a command needs it (CLibraryLoader).
        for library in [FLEET_LIBVIRT, FLEET_LIBVIRT_QEMU] {
            let size = 1024
            var message = [CChar](repeating: 0, count: size)
            if fleet_library_load(library, &message, size) != 0 {
                return .failure(
                    LibvirtUnavailable(
                        message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                        package: String(cString: fleet_library_package(library))))
            }
        }
        // Silence libvirt's default error printer (it writes to stderr); errors are read back
        // through `virGetLastError` instead. A capture-free closure converts to a C function pointer.
        virSetErrorFunc(nil) { _, _ in }
        // A daemon that dies while a request is being written would otherwise kill this process with SIGPIPE;
        // ignored, the write fails with EPIPE and the call returns libvirt's error (as virsh does).
        signal(SIGPIPE, SIG_IGN)
        _ = virInitialize()
        // An event loop must be registered before any connection opens, or keepalive
        // (virConnectSetKeepAlive) cannot work and a dead remote host hangs calls forever.
        if virEventRegisterDefaultImpl() == 0 {
            let loop = Thread {
                while true {
                    if virEventRunDefaultImpl() < 0 { Thread.sleep(forTimeInterval: 0.05) }
                }
            }
            loop.name = "libvirt-event-loop"
            loop.start()
        }
        return .success(())
    }()

    /// Loads libvirt.so.0 and libvirt-qemu.so.0 (dlopen), initialises libvirt, silences its stderr error printer
    /// and starts the default event loop on a background thread. Throws `LibvirtUnavailable` when a library
    /// cannot be loaded. Idempotent and thread-safe; `Connection.init` calls it, and no libvirt function
    /// may be called before it succeeded.
    public static func initialize() throws {
        try setUp.get()
    }

    /// The version of the libvirt library this process loaded, e.g. "9.0.0".
    public static var libraryVersion: String {
        get throws {
            try initialize()
            var v: UInt = 0
            guard virGetVersion(&v, nil, nil) == 0 else { return "unknown" }
            return versionString(UInt64(v))
        }
    }
}

/// libvirt encodes versions as major * 1,000,000 + minor * 1,000 + release.
func versionString(_ v: UInt64) -> String {
    "\(v / 1_000_000).\((v / 1000) % 1000).\(v % 1000)"
}

// MARK: - C string helpers

/// Takes ownership of a malloc'd C string returned by libvirt, copying and freeing it.
func takeString(_ p: UnsafeMutablePointer<CChar>?) -> String? {
    guard let p else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// Copies a C string owned by libvirt (must not be freed).
func borrowString(_ p: UnsafePointer<CChar>?) -> String? {
    guard let p else { return nil }
    return String(cString: p)
}

/// Reads a fixed-size C char array (imported as a tuple) as a String.
func fixedString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Formats a UUID through a fixed buffer-writing libvirt call.
func readUUID(_ body: (UnsafeMutablePointer<CChar>) -> Int32) throws -> String {
    var buf = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN) + 1)
    let rc = buf.withUnsafeMutableBufferPointer { b -> Int32 in
        guard let base = b.baseAddress else { return -1 }
        return body(base)
    }
    if rc < 0 { throw LibvirtError.last("could not read UUID") }
    return buf.withUnsafeBufferPointer { b in
        String(decoding: b.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Clamps a Swift integer into a C `unsigned long` without trapping.
func clampULong(_ v: UInt64) -> UInt { UInt(clamping: v) }

/// libvirt's default authentication callback (terminal prompts; ssh agent and polkit work through
/// it). Read once: it is a C global that libvirt never changes after load.
/// Looked up by symbol in the loaded libvirt: Swift 6 forbids referencing a mutable C global directly, and
/// fleet does not link libvirt (CLibraryLoader lists functions only).
nonisolated(unsafe) let defaultAuth: virConnectAuthPtr? = {
    guard (try? Libvirt.initialize()) != nil, let sym = fleet_library_symbol(FLEET_LIBVIRT, "virConnectAuthPtrDefault")
    else { return nil }
    return sym.assumingMemoryBound(to: virConnectAuthPtr?.self).pointee
}()
