import Crypto
import FleetModel
import Foundation

public enum CloudInitError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case metaDataNotAMapping(String)
    case invalidSSHKey(String)
    case cannotWrite(reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cloud-init file \(p) cannot be read: \(r)"
        case .metaDataNotAMapping(let p):
            return "cloud-init meta_data \(p) must be a YAML block mapping (key: value lines) so fleet can add instance-id"
        case .invalidSSHKey(let k): return "cloud_init ssh_authorized_keys: \"\(k.prefix(40))\" is not one non-empty line"
        case .cannotWrite(let r): return "cannot write the cloud-init seed: \(r)"
        }
    }
}

/// NoCloud seeds: an ISO 9660 image labelled `cidata` (Rock Ridge and Joliet names), as cloud-init reads it
/// from a CD-ROM at first boot.
public enum CloudInitSeed {
    /// The documents, read from the spec's files (absolute paths, as the manifest layer resolves them).
    struct Documents {
        var userData: [UInt8]
        var metaData: [UInt8]?
        var networkConfig: [UInt8]?
        var metaDataPath: String?
        /// Identity delivered through vendor-data: key lines, the password secret (not logged, never in the id).
        var sshAuthorizedKeys: [String] = []
        var rootPassword: String?
        /// What the id records of the password: a salted, iterated HMAC (see `CustomizationInputs`).
        var rootPasswordDigest: String?
    }

    static func read(_ spec: CloudInitSpec, secrets: SecretResolver = SecretResolver(), fleet: String = "") throws -> Documents {
        func load(_ path: String?) throws -> [UInt8]? {
            guard let path else { return nil }
            switch LocalFile.read(path) {
            case .success(let d): return Array(d)
            case .failure(let e): throw CloudInitError.unreadable(path: path, reason: e.reason)
            }
        }
        // NoCloud needs a user-data file even when there is nothing to say.
        var d = Documents(
            userData: try load(spec.userData) ?? Array("#cloud-config\n{}\n".utf8),
            metaData: try load(spec.metaData),
            networkConfig: try load(spec.networkConfig) ?? spec.nics.map { Array(networkConfig($0).utf8) },
            metaDataPath: spec.metaData)
        d.sshAuthorizedKeys = try spec.sshAuthorizedKeys.map { k in
            let t = k.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, !t.contains(where: \.isNewline) else { throw CloudInitError.invalidSSHKey(k) }
            return t
        }
        if let ref = spec.rootPassword {
            let pw = try secrets.resolve(ref)
            d.rootPassword = pw
            d.rootPasswordDigest = CustomizationInputs.passwordDigest(pw, fleet: fleet, key: secrets.fleetKey)
        }
        return d
    }

    /// `iid-<24 hex>`: sha256 over the VM name, the three documents and the identity inputs (length-prefixed,
    /// so moving bytes between documents changes it). A change to any of them gives a new id, which makes
    /// cloud-init run again. The password enters only as its salted HMAC digest.
    public static func instanceID(
        _ spec: CloudInitSpec, vmName: String, secrets: SecretResolver = SecretResolver(),
        fleet: String = ""
    ) throws -> String {
        instanceID(try read(spec, secrets: secrets, fleet: fleet), vmName: vmName)
    }

    static func instanceID(_ d: Documents, vmName: String) -> String {
        var h = SHA256()
        var parts = [Array(vmName.utf8), d.userData, d.metaData ?? [], d.networkConfig ?? []]
        // Identity inputs only when present, so seeds without them keep the ids they had.
        if !d.sshAuthorizedKeys.isEmpty || d.rootPasswordDigest != nil {
            parts.append(Array("fleet-identity-1".utf8))
            parts.append(Array(d.sshAuthorizedKeys.joined(separator: "\n").utf8))
            parts.append(Array((d.rootPasswordDigest ?? "").utf8))
        }
        for part in parts {
            var n = UInt64(part.count).bigEndian
            withUnsafeBytes(of: &n) { h.update(bufferPointer: $0) }
            h.update(data: part)
        }
        return "iid-" + String(ImageSource.hex(h.finalize()).prefix(24))
    }

    /// The meta-data document: fleet's instance-id (replacing any the user wrote) and `local-hostname`
    /// (the user's wins if given, else the VM name), then the user's other keys unchanged.
    static func metaData(_ d: Documents, vmName: String) throws -> String {
        let iid = instanceID(d, vmName: vmName)
        guard let user = d.metaData else { return "instance-id: \(iid)\nlocal-hostname: \(vmName)\n" }
        let text = String(decoding: user, as: UTF8.self)
        var kept: [String] = []
        var skipping = false
        var hasHostname = false
        for line in text.components(separatedBy: "\n") {
            let isTop = line.first.map { !$0.isWhitespace && $0 != "#" } ?? false
            if line == "---" && kept.allSatisfy({ $0.hasPrefix("#") || $0.isEmpty }) { continue }
            if isTop {
                if line.hasPrefix("{") || line.hasPrefix("[") || line.hasPrefix("- ") || !line.contains(":") {
                    throw CloudInitError.metaDataNotAMapping(d.metaDataPath ?? "meta-data")
                }
                let key = line.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces)
                skipping = key == "instance-id" || key == "\"instance-id\"" || key == "'instance-id'"
                if key == "local-hostname" { hasHostname = true }
            }
            // An instance-id value continued on indented lines goes with it.
            if !skipping { kept.append(line) }
        }
        while kept.last == "" { kept.removeLast() }
        var out = "instance-id: \(iid)\n"
        if !hasHostname { out += "local-hostname: \(vmName)\n" }
        if !kept.isEmpty { out += kept.joined(separator: "\n") + "\n" }
        return out
    }

    /// A YAML double-quoted scalar (JSON string escaping is valid YAML).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20 || u.value == 0x7F:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// vendor-data carrying the identity fleet delivers without libguestfs: root's ssh keys (with
    /// `disable_root: false`, so cloud-init installs them for root without its "log in as" prefix) and root's
    /// password as a fresh `$6$` hash (`chpasswd.users`, cloud-init 22.3+, not expired). nil when there is none.
    /// vendor-data is merged below user-data: the user's own cloud-config wins where both set a key.
    static func vendorData(_ d: Documents) throws -> String? {
        guard !d.sshAuthorizedKeys.isEmpty || d.rootPassword != nil else { return nil }
        var out = "#cloud-config\n"
        if !d.sshAuthorizedKeys.isEmpty {
            out += "disable_root: false\nssh_authorized_keys:\n"
            for k in d.sshAuthorizedKeys { out += "  - \(quoted(k))\n" }
        }
        if let pw = d.rootPassword {
            let hash = try PasswordHash.sha512Crypt(pw)
            out += "chpasswd:\n  expire: false\n  users:\n    - name: root\n      type: hash\n      password: \(quoted(hash))\n"
        }
        return out
    }

    /// The seed as ISO 9660 bytes: `user-data`, `meta-data`, `vendor-data` (when fleet has identity to
    /// deliver) and `network-config` (when given), volume id `cidata`.
    public static func image(
        _ spec: CloudInitSpec, vmName: String, secrets: SecretResolver = SecretResolver(),
        fleet: String = "", date: Date = Date()
    ) throws -> [UInt8] {
        let d = try read(spec, secrets: secrets, fleet: fleet)
        var files = [
            ISO9660Image.File(name: "user-data", data: d.userData),
            ISO9660Image.File(name: "meta-data", data: Array(try metaData(d, vmName: vmName).utf8))
        ]
        if let v = try vendorData(d) { files.append(.init(name: "vendor-data", data: Array(v.utf8))) }
        if let n = d.networkConfig { files.append(.init(name: "network-config", data: n)) }
        return try ISO9660Image(volumeID: "cidata", files: files, date: date).bytes()
    }

    /// Writes the seed into a fresh private directory (mode 0700, random name, under `temporaryDirectory`) as a
    /// file of mode 0600, calls `body` with its path, and removes both whatever happens. Returns `body`'s result.
    public static func withSeedFile<T>(
        _ spec: CloudInitSpec, vmName: String, secrets: SecretResolver = SecretResolver(),
        fleet: String = "", temporaryDirectory: String = NSTemporaryDirectory(),
        _ body: (String) throws -> T
    ) throws -> T {
        let bytes = try image(spec, vmName: vmName, secrets: secrets, fleet: fleet)
        return try PrivateScratch.with(in: temporaryDirectory, prefix: "fleet-seed-") { dir in
            let path = dir + "/cidata.iso"
            try PrivateScratch.write(bytes, to: path)
            return try body(path)
        }
    }

    /// Builds the seed at `outputPath` (created with mode 0600; it must not exist) and returns its sha256.
    public static func build(
        _ spec: CloudInitSpec, vmName: String, outputPath: String, secrets: SecretResolver = SecretResolver(),
        fleet: String = "", date: Date = Date()
    ) throws -> String {
        let bytes = try image(spec, vmName: vmName, secrets: secrets, fleet: fleet, date: date)
        try PrivateScratch.write(bytes, to: outputPath)
        return ImageSource.hex(SHA256.hash(data: bytes))
    }
}

/// Private scratch space for files that may hold secrets (cloud-init seeds carry password hashes and user-data).
public enum PrivateScratch {
    /// mkdtemp (mode 0700, unpredictable name) under `parent`; the directory and all in it are removed when
    /// `body` returns or throws.
    public static func with<T>(in parent: String, prefix: String, _ body: (String) throws -> T) throws -> T {
        var template =
            Array((parent.hasSuffix("/") ? parent : parent + "/").utf8CString.dropLast()) + Array((prefix + "XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else {
            throw CloudInitError.cannotWrite(reason: "mkdtemp in \(parent): \(String(cString: strerror(errno)))")
        }
        let dir = String(cString: p)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    /// Creates `path` exclusively with mode 0600 (whatever the umask) and writes `bytes`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw CloudInitError.cannotWrite(reason: "\(path): \(String(cString: strerror(errno)))") }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        guard fchmod(fd, 0o600) == 0 else { throw CloudInitError.cannotWrite(reason: "\(path): \(String(cString: strerror(errno)))") }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CloudInitError.cannotWrite(reason: "\(path): \(String(cString: strerror(errno)))")
            }
            off += n
        }
        ok = true
    }
}
