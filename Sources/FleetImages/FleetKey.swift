import Crypto
import FleetModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A fleet's random key: the salt of every root-password digest fleet records in libvirt (customization marks,
/// image version names, cloud-init instance-ids). Those records are readable by anyone with read-only libvirt
/// access; without the key, nobody can test password guesses against them offline. The key lives beside the
/// manifests (`.fleet-key`, 0600), never in libvirt. See docs/images.md, "Passwords and the fleet key".
public struct FleetKey: Sendable, Equatable {
    /// 64 lower-case hex digits (32 random bytes).
    public let hex: String

    public static let fileName = ".fleet-key"
    /// Overrides where the key file is looked for (a path), e.g. for a CI runner that keeps it as a secret.
    public static let environmentVariable = "FLEET_KEY_FILE"

    public init?(hex: String) {
        let h = hex.lowercased()
        guard h.count == 64, h.allSatisfy(\.isHexDigit) else { return nil }
        self.hex = h
    }

    /// Eight hex digits that name the key without revealing it; recorded beside each keyed digest, so a
    /// digest made with another key is told apart from a changed password.
    public var id: String {
        String(ImageSource.hex(SHA256.hash(data: Data("fleet key id\u{0}\(hex)".utf8))).prefix(8))
    }

    public static func generate() -> FleetKey {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return FleetKey(hex: ImageSource.hex(bytes))!
    }

    /// Where the key of the manifests at `paths` lives: `$FLEET_KEY_FILE`, else `.fleet-key` in the directory of
    /// the first path (the path itself when it is a directory).
    public static func path(forManifests paths: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let p = environment[environmentVariable], !p.isEmpty { return p }
        let first = paths.first ?? "."
        var isDir: ObjCBool = false
        let dir =
            FileManager.default.fileExists(atPath: first, isDirectory: &isDir) && isDir.boolValue
            ? first : (first as NSString).deletingLastPathComponent
        return ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent(fileName)
    }

    /// The key at `path`, or nil when there is no file. A symlink, a non-regular file, a file others can read
    /// or one that does not hold 64 hex digits is an error, not a fresh key.
    public static func load(_ path: String) throws -> FleetKey? {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw FleetKeyError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw FleetKeyError.unreadable(path: path, reason: "not a regular file") }
        guard st.st_mode & 0o077 == 0 else {
            throw FleetKeyError.unreadable(
                path: path, reason: String(format: "mode %03o lets others read it; chmod 600 it", st.st_mode & 0o777))
        }
        let data: Data
        switch LocalFile.read(path) {
        case .success(let d): data = d
        case .failure(let e): throw FleetKeyError.unreadable(path: path, reason: e.reason)
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = FleetKey(hex: text) else { throw FleetKeyError.malformed(path: path) }
        return key
    }

    /// Writes a new key to `path` (0600, created exclusively, never through a symlink).
    public static func create(_ path: String) throws -> FleetKey {
        let key = generate()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FleetKeyError.unwritable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let line = Array((key.hex + "\n").utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw FleetKeyError.unwritable(path: path, reason: reason)
        }
        return key
    }
}

public enum FleetKeyError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case malformed(path: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "fleet key \(p) cannot be used: \(r)"
        case .malformed(let p): return "fleet key \(p) does not hold 64 hex digits"
        case .unwritable(let p, let r): return "cannot create the fleet key \(p): \(r)"
        }
    }
}

extension Fleet {
    /// Whether any root password is declared (customization of a VM or image, or cloud-init): only then does
    /// the fleet need its key.
    public var declaresRootPasswords: Bool {
        vms.contains { $0.customize?.rootPassword != nil || $0.cloudInit?.rootPassword != nil }
            || images.contains { $0.customize?.rootPassword != nil }
    }
}
