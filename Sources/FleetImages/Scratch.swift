import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private scratch directory for files that may hold secrets (customized image copies, cloud-init seeds):
/// made with mkdtemp (an unpredictable name, mode 0700, never an existing path or a symlink), and removed
/// with everything in it when the value is released (every exit path of the run that made it, SIGINT
/// included: apply lets running operations finish).
public final class Scratch: @unchecked Sendable {
    public let path: String

    public init(label: String = "fleet") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(label)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: base])
        }
        path = String(cString: made)
        chmod(path, 0o700)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the directory (the file is not created).
    public func file(_ name: String) -> String { path + "/" + name }

    /// Copies `source` into the directory as `name`, readable by its owner only.
    public func copy(_ source: String, as name: String) throws -> String {
        let dest = file(name)
        try FileManager.default.copyItem(atPath: source, toPath: dest)
        chmod(dest, 0o600)
        return dest
    }
}
