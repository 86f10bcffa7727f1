internal import CCrypt
import Crypto
import FleetModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A secret that could not be read. Messages name the file or variable, never the value.
public enum SecretError: Error, CustomStringConvertible, Equatable, Sendable {
    case fileUnreadable(path: String, reason: String)
    case fileEmpty(String)
    case envUnset(String)
    case envEmpty(String)
    case invalid(ref: String, reason: String)

    public var description: String {
        switch self {
        case .fileUnreadable(let p, let r): return "secret file \(p) cannot be read: \(r)"
        case .fileEmpty(let p): return "secret file \(p) is empty"
        case .envUnset(let v): return "secret environment variable \(v) is not set"
        case .envEmpty(let v): return "secret environment variable \(v) is empty"
        case .invalid(let r, let why): return "secret \(r) \(why)"
        }
    }
}

/// A digest of a graphics (VNC/SPICE) password, to compare the declared password with the one a domain
/// holds without ever printing or keeping either. Never stored: computed in memory on each plan.
public func graphicsPasswordDigest(_ password: String) -> String {
    ImageSource.hex(SHA256.hash(data: Data("fleet graphics password\u{0}\(password)".utf8)))
}

/// Reads `SecretRef`s. The environment is captured at creation so a resolver is a plain value.
public struct SecretResolver: Sendable {
    public var environment: [String: String]
    /// The fleet's key, which salts every password digest; nil digests them the way fleet did before it had keys
    /// (salted with the fleet's name), which is how digests of older marks are recognised.
    public var fleetKey: FleetKey?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, fleetKey: FleetKey? = nil) {
        self.environment = environment
        self.fleetKey = fleetKey
    }

    /// file: the content with one trailing newline removed; env: the variable, which must be set and non-empty.
    public func resolve(_ ref: SecretRef) throws -> String {
        switch ref {
        case .env(let name):
            guard let v = environment[name] else { throw SecretError.envUnset(name) }
            guard !v.isEmpty else { throw SecretError.envEmpty(name) }
            return v
        case .file(let path):
            let data: Data
            switch LocalFile.read(path) {
            case .success(let d): data = d
            case .failure(let e): throw SecretError.fileUnreadable(path: path, reason: e.reason)
            }
            guard var text = String(data: data, encoding: .utf8) else {
                throw SecretError.fileUnreadable(path: path, reason: "not UTF-8 text")
            }
            if text.hasSuffix("\r\n") { text.removeLast() } else if text.hasSuffix("\n") { text.removeLast() }
            // "\r\n" is one Character in Swift: removeLast() above removes both bytes.
            guard !text.isEmpty else { throw SecretError.fileEmpty(path) }
            return text
        }
    }
}

public enum PasswordHashError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidPassword(String)
    case cryptFailed(String)
    public var description: String {
        switch self {
        case .invalidPassword(let why): return "password \(why)"
        case .cryptFailed(let why): return "crypt failed: \(why)"
        }
    }
}

/// SHA-512 crypt (`$6$`) hashes as /etc/shadow holds them, through libxcrypt.
public enum PasswordHash {
    /// A fresh random salt every call (libxcrypt reads it from the OS), default rounds.
    public static func sha512Crypt(_ password: String) throws -> String {
        guard !password.isEmpty else { throw PasswordHashError.invalidPassword("is empty") }
        // crypt() takes a C string: a NUL would silently truncate the password.
        guard !password.utf8.contains(0) else { throw PasswordHashError.invalidPassword("contains a NUL byte") }
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let s = salt.withUnsafeMutableBufferPointer { buf in
            crypt_gensalt_rn("$6$", 0, nil, 0, buf.baseAddress, Int32(buf.count))
        }
        guard s != nil else { throw PasswordHashError.cryptFailed("crypt_gensalt_rn: \(String(cString: strerror(errno)))") }
        let saltString = String(decoding: salt.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let hash = crypt(password, setting: saltString), hash.hasPrefix("$6$") else {
            throw PasswordHashError.cryptFailed("crypt_r did not produce a $6$ hash")
        }
        return hash
    }

    /// Whether `password` hashes to `hash` (any scheme libxcrypt knows). Never throws: a bad hash is a mismatch.
    public static func verify(_ password: String, hash: String) -> Bool {
        guard !password.utf8.contains(0), let computed = crypt(password, setting: hash) else { return false }
        // Constant-time comparison: the length is not secret, the content is.
        let a = Array(computed.utf8)
        let b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// crypt_r with its ~32 KiB state on the heap, wiped afterwards (it held the password).
    private static func crypt(_ password: String, setting: String) -> String? {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        let raw = UnsafeMutableRawPointer(data)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        defer {
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        guard let out = crypt_r(password, setting, data) else { return nil }
        let result = String(cString: out)
        // libxcrypt signals failure with a string starting with '*' (never a valid hash).
        return result.hasPrefix("*") ? nil : result
    }
}
