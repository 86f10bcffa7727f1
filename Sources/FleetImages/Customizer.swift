import Crypto
import FleetModel
import Foundation
import Guestfs

/// Why a customization could not be applied. Never contains a secret.
public enum CustomizeError: Error, CustomStringConvertible, Equatable, Sendable {
    case noOperatingSystem(disk: String)
    case multipleOperatingSystems(disk: String, roots: [String])
    case unsupportedGuest(disk: String, type: String, operations: [String])
    case missingGuestFile(String)
    case invalidTimezone(String)
    case timezoneNotInGuest(String)
    case invalidHostname(String)
    case invalidDestination(String)
    case invalidSSHKey(String)
    case invalidMode(dest: String, mode: UInt32)
    case sourceFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .noOperatingSystem(let d):
            return "\(d): no operating system found (libguestfs inspection found none, and no filesystem has /etc)"
        case .multipleOperatingSystems(let d, let r):
            return "\(d): \(r.count) operating systems found (\(r.joined(separator: ", "))); fleet customizes single-OS disks"
        case .unsupportedGuest(let d, let t, let ops):
            return "\(d): \(t) guest: only `files` can be customized, not \(ops.joined(separator: ", "))"
        case .missingGuestFile(let p): return "the guest has no \(p)"
        case .invalidTimezone(let t): return "\"\(t)\" is not a timezone name (like Europe/Paris or UTC)"
        case .timezoneNotInGuest(let t): return "timezone \(t) is not in the guest's /usr/share/zoneinfo"
        case .invalidHostname(let h): return "\"\(h)\" is not a valid hostname"
        case .invalidDestination(let d): return "file destination \"\(d)\" must be an absolute path without `..`"
        case .invalidSSHKey(let k): return "ssh authorized key \"\(k.prefix(40))…\" must be one non-empty line"
        case .invalidMode(let d, let m): return "mode \(String(m, radix: 8)) for \(d) is not a permission mode (0...7777)"
        case .sourceFile(let p, let r): return "file \(p) cannot be read: \(r)"
        }
    }
}

/// The inputs of one customization, each reduced to a digest: what fleet records (as `digest`) to know whether
/// a disk is still what the manifest asks for. Contains no secret: the password appears only as a salted,
/// iterated HMAC of the secret.
public struct CustomizationInputs: Hashable, Codable, Sendable {
    public struct FileInput: Hashable, Codable, Sendable {
        public var dest: String
        public var sha256: String
        public var mode: UInt32?
        public var owner: String?
    }

    /// Bumped when what an input means changes, so old marks stop matching.
    public var version: Int
    public var rootPassword: String?
    /// sha256 of each key line, in order (order decides the file's content).
    public var sshAuthorizedKeys: [String]
    public var files: [FileInput]
    /// The value written, nil when `hostname:` is off or there is no VM (image-level).
    public var hostname: String?
    public var timezone: String?
    /// Sorted: the operations always run in one fixed order.
    public var sysprep: [String]

    /// The id of the fleet key that salted `rootPassword` (nil without a password, or for older digests).
    public var keyID: String?

    /// Reads every input (files, secrets). The fleet key in `secrets` (or, without one, `fleet`) salts the password digest.
    public init(_ c: Customization, hostname: String?, secrets: SecretResolver, fleet: String = "") throws {
        version = 1
        rootPassword = try c.rootPassword.map { Self.passwordDigest(try secrets.resolve($0), fleet: fleet, key: secrets.fleetKey) }
        keyID = c.rootPassword == nil ? nil : secrets.fleetKey?.id
        sshAuthorizedKeys = c.sshAuthorizedKeys.map { ImageSource.hex(SHA256.hash(data: Data($0.utf8))) }
        files = try c.files.map { f in
            let sum: String
            do { sum = try ImageSource.sha256(ofFile: f.source) } catch let e as ImageSourceError {
                throw CustomizeError.sourceFile(path: f.source, reason: Self.reason(e))
            }
            return FileInput(dest: f.dest, sha256: sum, mode: f.mode, owner: f.owner)
        }
        self.hostname = c.hostname ? hostname : nil
        timezone = c.timezone
        sysprep = c.sysprep.map(\.rawValue).sorted()
    }

    /// sha256 of the canonical (sorted-keys) JSON of these inputs, lower-case hex; followed by `.k<key id>` when
    /// a password salted with a fleet key is among them (`FleetKey.id`), so a digest made with another key is
    /// recognised as such rather than read as a changed password.
    public var digest: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, ints and arrays cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return ImageSource.hex(SHA256.hash(data: data)) + (keyID.map { ".k\($0)" } ?? "")
    }

    /// HMAC-SHA256 iterated 5000 times (the cost of the $6$ hash in the guest), keyed by the secret and salted
    /// with the fleet's random key, which never enters libvirt: someone who can read the marks cannot test
    /// guesses offline. Without a key (digests recorded before fleet had keys), salted with the fleet's name.
    static func passwordDigest(_ secret: String, fleet: String, key fleetKey: FleetKey?) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        let salt = fleetKey.map { "fleet root password key \($0.hex)" } ?? "fleet root password \(fleet)"
        var u = Data(HMAC<SHA256>.authenticationCode(for: Data(salt.utf8), using: key))
        for _ in 1..<5000 { u = Data(HMAC<SHA256>.authenticationCode(for: u, using: key)) }
        return (fleetKey.map { "hmac-sha256x5000-k\($0.id):" } ?? "hmac-sha256x5000:") + ImageSource.hex(u)
    }

    static func reason(_ e: ImageSourceError) -> String {
        switch e {
        case .missingFile: return "no such file"
        case .unreadable(_, let r): return r
        case .notARegularFile: return "not a regular file"
        default: return e.description
        }
    }
}

public enum Customizer {
    /// The digest fleet records in its ownership mark for a disk customized with `c` for VM `hostname`
    /// (nil for image-level). Pure apart from reading the input files and secrets.
    public static func digest(_ c: Customization, hostname: String?, secrets: SecretResolver, fleet: String = "") throws -> String {
        try CustomizationInputs(c, hostname: hostname, secrets: secrets, fleet: fleet).digest
    }

    /// Everything checked and read before the appliance starts, so bad input fails in milliseconds.
    private struct Prepared {
        var passwordHash: String?
        var keys: [String]
        var files: [(copy: FileCopy, dest: String)]
        var hostname: String?
        var timezone: String?
    }

    private static func prepare(_ c: Customization, hostname: String?, secrets: SecretResolver) throws -> Prepared {
        let hash = try c.rootPassword.map { try PasswordHash.sha512Crypt(try secrets.resolve($0)) }
        let keys = try c.sshAuthorizedKeys.map { k -> String in
            let t = k.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, !t.contains(where: \.isNewline) else { throw CustomizeError.invalidSSHKey(k) }
            return t
        }
        var files: [(FileCopy, String)] = []
        for f in c.files {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: f.source, isDirectory: &isDir) else {
                throw CustomizeError.sourceFile(path: f.source, reason: "no such file")
            }
            guard !isDir.boolValue else { throw CustomizeError.sourceFile(path: f.source, reason: "it is a directory") }
            guard FileManager.default.isReadableFile(atPath: f.source) else {
                throw CustomizeError.sourceFile(path: f.source, reason: "permission denied")
            }
            if let m = f.mode, m > 0o7777 { throw CustomizeError.invalidMode(dest: f.dest, mode: m) }
            // `dest/` means "into this directory", as virt-copy-in does.
            var dest = f.dest
            if dest.hasSuffix("/") || dest.hasSuffix("\\") { dest += (f.source as NSString).lastPathComponent }
            files.append((f, dest))
        }
        var host: String?
        if c.hostname, let hostname {
            guard isValidHostname(hostname) else { throw CustomizeError.invalidHostname(hostname) }
            host = hostname
        }
        if let tz = c.timezone, !isValidTimezone(tz) { throw CustomizeError.invalidTimezone(tz) }
        return Prepared(passwordHash: hash, keys: keys, files: files, hostname: host, timezone: c.timezone)
    }

    static func isValidHostname(_ h: String) -> Bool {
        guard !h.isEmpty, h.utf8.count <= 253 else { return false }
        return h.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }

    static func isValidTimezone(_ tz: String) -> Bool {
        guard !tz.isEmpty, !tz.hasPrefix("/"), !tz.hasSuffix("/") else { return false }
        return tz.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_+-".contains($0)) }
        }
    }

    /// A Linux destination: absolute, no `..`, no NUL.
    static func linuxPath(_ dest: String) throws -> String {
        guard dest.hasPrefix("/"), !dest.contains("\0"),
            !dest.split(separator: "/").contains(where: { $0 == ".." })
        else {
            throw CustomizeError.invalidDestination(dest)
        }
        return dest
    }

    /// A Windows destination on the system drive: `C:\Windows\x.txt`, `C:/x`, `\x` or `/x` -> `/Windows/x.txt`
    /// (the system drive is what libguestfs mounts at `/`; other drive letters are refused).
    static func windowsPath(_ dest: String) throws -> String {
        var s = Substring(dest.replacingOccurrences(of: "\\", with: "/"))
        if s.count >= 2, let d = s.first, d.isASCII, d.isLetter, s.dropFirst().first == ":" {
            guard d == "C" || d == "c" else { throw CustomizeError.invalidDestination(dest) }
            s = s.dropFirst(2)
        }
        let parts = s.split(separator: "/")
        guard s.hasPrefix("/"), !parts.isEmpty, !parts.contains(where: { $0 == ".." }), !dest.contains("\0") else {
            throw CustomizeError.invalidDestination(dest)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Opens the disk image read-write, finds the OS, applies `c`, syncs and shuts down.
    /// Order: sysprep first (so it never removes what the operator adds), then root password, ssh keys, files,
    /// hostname, timezone, SELinux labels. Returns the operations performed, for logs (never a secret).
    public static func apply(
        _ c: Customization, hostname: String?, toDisk path: String, format: DiskFormat,
        secrets: SecretResolver
    ) throws -> [String] {
        let p = try prepare(c, hostname: hostname, secrets: secrets)
        let g = try Guestfs()
        try g.addDrive(path, format: format.rawValue)
        try g.launch()
        let type = try mountOS(g, disk: path)
        var ops: [String] = []
        if type == "windows" {
            var other: [String] = []
            if c.rootPassword != nil { other.append("root_password") }
            if !c.sshAuthorizedKeys.isEmpty { other.append("ssh_authorized_keys") }
            if c.hostname && hostname != nil { other.append("hostname") }
            if c.timezone != nil { other.append("timezone") }
            if !c.sysprep.isEmpty { other.append("sysprep") }
            guard other.isEmpty else { throw CustomizeError.unsupportedGuest(disk: path, type: type, operations: other) }
            for (f, dest) in p.files {
                let mapped = try windowsPath(dest)
                let parent = (mapped as NSString).deletingLastPathComponent
                let real = (try? g.caseSensitivePath(mapped)) ?? mapped
                if parent != "/" { try g.mkdirP((try? g.caseSensitivePath(parent)) ?? parent) }
                try g.upload(localPath: f.source, to: real)
                ops.append("file \(f.source) -> \(dest)" + (f.mode != nil || f.owner != nil ? " (mode/owner ignored on Windows)" : ""))
            }
        } else if type == "linux" {
            // Checks that need the guest come before the first change, so a bad input leaves the disk untouched.
            if p.passwordHash != nil, try !g.isFile("/etc/shadow") { throw CustomizeError.missingGuestFile("/etc/shadow") }
            if let tz = p.timezone, try !g.exists("/usr/share/zoneinfo/" + tz) { throw CustomizeError.timezoneNotInGuest(tz) }
            var touched: [String] = []
            ops += try sysprep(g, c.sysprep)
            if let hash = p.passwordHash {
                try setRootPassword(g, hash: hash)
                touched.append("/etc/shadow")
                ops.append("root password set (/etc/shadow)")
            }
            if !p.keys.isEmpty {
                let added = try addAuthorizedKeys(g, p.keys)
                touched.append("/root/.ssh")
                ops.append("ssh authorized keys: \(added) added, \(p.keys.count - added) already present (/root/.ssh/authorized_keys)")
            }
            for (f, dest) in p.files {
                let d = try linuxPath(dest)
                try g.mkdirP((d as NSString).deletingLastPathComponent)
                try g.upload(localPath: f.source, to: d)
                if let m = f.mode { try g.chmod(m, d) }
                if let o = f.owner { try g.chown(owner: o, d) }
                touched.append(d)
                var note = "file \(f.source) -> \(d)"
                if let m = f.mode { note += " mode \(String(m, radix: 8))" }
                if let o = f.owner { note += " owner \(o)" }
                ops.append(note)
            }
            if let h = p.hostname {
                touched += try setHostname(g, h)
                ops.append("hostname \(h)")
            } else if c.hostname {
                ops.append("hostname skipped (image-level: set on each VM's disk)")
            }
            if let tz = p.timezone {
                try setTimezone(g, tz)
                touched += ["/etc/localtime", "/etc/timezone"]
                ops.append("timezone \(tz)")
            }
            if !touched.isEmpty, let note = try relabel(g, touched) { ops.append(note) }
        } else {
            throw CustomizeError.unsupportedGuest(disk: path, type: type, operations: ["anything"])
        }
        try g.sync()
        try g.umountAll()
        try g.shutdown()
        return ops
    }

    /// Mounts the guest's filesystems as inspection describes them and returns the OS type.
    /// Without an inspectable OS (tiny or unusual images), the first filesystem holding /etc is taken as a Linux root.
    static func mountOS(_ g: Guestfs, disk: String) throws -> String {
        let roots = try g.inspectOS()
        if roots.count > 1 { throw CustomizeError.multipleOperatingSystems(disk: disk, roots: roots) }
        if let root = roots.first {
            // Shorter mount points first, so /boot is mounted on top of /.
            let mps = try g.inspectMountpoints(root: root).sorted { $0.mountpoint.count < $1.mountpoint.count }
            for mp in mps {
                do { try g.mount(mp.device, at: mp.mountpoint) } catch {
                    // A stale fstab entry must not block customizing /; the root itself must mount.
                    if mp.mountpoint == "/" { throw error }
                }
            }
            return try g.inspectType(root: root)
        }
        for fs in try g.listFilesystems() where fs.type != "swap" && fs.type != "unknown" {
            guard (try? g.mount(fs.device, at: "/")) != nil else { continue }
            if try g.isDir("/etc") { return "linux" }
            try g.umountAll()
        }
        throw CustomizeError.noOperatingSystem(disk: disk)
    }

    private static func text(_ g: Guestfs, _ path: String) throws -> String {
        String(decoding: try g.readFile(path), as: UTF8.self)
    }

    static func setRootPassword(_ g: Guestfs, hash: String) throws {
        guard try g.isFile("/etc/shadow") else { throw CustomizeError.missingGuestFile("/etc/shadow") }
        var lines = try text(g, "/etc/shadow").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let days = String(Int(Date().timeIntervalSince1970 / 86400))
        if let i = lines.firstIndex(where: { $0.hasPrefix("root:") }) {
            var fields = lines[i].components(separatedBy: ":")
            while fields.count < 9 { fields.append("") }
            fields[1] = hash
            // Last change = today: a 0 here would force a password change at first login.
            fields[2] = days
            lines[i] = fields.joined(separator: ":")
        } else {
            lines.insert("root:\(hash):\(days):0:99999:7:::", at: 0)
        }
        // write() truncates in place: the file keeps its mode (0000/0640), owner and SELinux label.
        try g.write("/etc/shadow", lines.joined(separator: "\n") + "\n")
    }

    /// Appends the keys not already present; returns how many were added.
    static func addAuthorizedKeys(_ g: Guestfs, _ keys: [String]) throws -> Int {
        let dir = "/root/.ssh"
        let file = "/root/.ssh/authorized_keys"
        try g.mkdirP(dir)
        var existing = try g.isFile(file) ? try text(g, file) : ""
        let present = Set(existing.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
        var added: [String] = []
        for k in keys where !present.contains(k) && !added.contains(k) { added.append(k) }
        if !existing.isEmpty && !existing.hasSuffix("\n") { existing += "\n" }
        try g.write(file, existing + added.map { $0 + "\n" }.joined())
        try g.chmod(0o700, dir)
        try g.chmod(0o600, file)
        try g.chown(uid: 0, gid: 0, dir)
        try g.chown(uid: 0, gid: 0, file)
        return added.count
    }

    /// Returns the files written.
    static func setHostname(_ g: Guestfs, _ h: String) throws -> [String] {
        try g.write("/etc/hostname", h + "\n")
        var written = ["/etc/hostname"]
        let net = "/etc/sysconfig/network"
        if try g.isFile(net) {
            var lines = try text(g, net).components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            if let i = lines.firstIndex(where: { $0.hasPrefix("HOSTNAME=") }) {
                lines[i] = "HOSTNAME=\(h)"
            } else {
                lines.append("HOSTNAME=\(h)")
            }
            try g.write(net, lines.joined(separator: "\n") + "\n")
            written.append(net)
        }
        return written
    }

    static func setTimezone(_ g: Guestfs, _ tz: String) throws {
        let zone = "/usr/share/zoneinfo/" + tz
        guard try g.exists(zone) else { throw CustomizeError.timezoneNotInGuest(tz) }
        try g.lnSF(target: zone, linkName: "/etc/localtime")
        try g.write("/etc/timezone", tz + "\n")
    }

    /// Runs the selected sysprep operations in a fixed order; returns what each did.
    static func sysprep(_ g: Guestfs, _ selected: [SysprepOperation]) throws -> [String] {
        var ops: [String] = []
        let set = Set(selected)
        func files(_ patterns: [String]) throws -> [String] {
            var out: [String] = []
            for p in patterns { for f in try g.globExpand(p) where !out.contains(f) { out.append(f) } }
            return out
        }
        for op in SysprepOperation.allCases where set.contains(op) {
            switch op {
            case .machineID:
                // Emptied, not removed: systemd then generates a fresh id at first boot.
                if try g.isFile("/etc/machine-id") { try g.truncate("/etc/machine-id") }
                try g.rmF("/var/lib/dbus/machine-id")
                ops.append("sysprep machine-id: emptied /etc/machine-id, removed /var/lib/dbus/machine-id")
            case .sshHostKeys:
                let keys = try files(["/etc/ssh/ssh_host_*"])
                for k in keys { try g.rmF(k) }
                ops.append("sysprep ssh-hostkeys: removed \(keys.count) host key file(s)")
            case .logfiles:
                // Current logs are emptied (services expect them, with their modes); rotated ones and journals removed.
                let current = try files([
                    "/var/log/*.log", "/var/log/*/*.log", "/var/log/messages", "/var/log/secure",
                    "/var/log/maillog", "/var/log/cron", "/var/log/syslog", "/var/log/wtmp",
                    "/var/log/btmp", "/var/log/lastlog", "/var/log/audit/audit.log"
                ])
                var emptied = 0
                for f in current where try g.isFile(f) && !g.isSymlink(f) {
                    try g.truncate(f)
                    emptied += 1
                }
                let rotated = try files([
                    "/var/log/messages[-.]*", "/var/log/secure[-.]*", "/var/log/maillog[-.]*",
                    "/var/log/cron[-.]*", "/var/log/syslog.*", "/var/log/*.log.*", "/var/log/*/*.log.*",
                    "/var/log/*.gz", "/var/log/*/*.gz", "/var/log/wtmp.*", "/var/log/btmp.*",
                    "/var/log/journal/*"
                ])
                for f in rotated { try g.rmRF(f) }
                ops.append("sysprep logfiles: emptied \(emptied), removed \(rotated.count)")
            case .bashHistory:
                let h = try files(["/root/.bash_history", "/home/*/.bash_history"])
                for f in h { try g.rmF(f) }
                ops.append("sysprep bash-history: removed \(h.count) file(s)")
            case .udevPersistentNet:
                try g.rmF("/etc/udev/rules.d/70-persistent-net.rules")
                ops.append("sysprep udev-persistent-net: removed /etc/udev/rules.d/70-persistent-net.rules")
            }
        }
        return ops
    }

    /// New files have no SELinux label; an enforcing guest would refuse to read them (sshd and authorized_keys).
    /// Label what was touched from the guest's own policy; if that fails, ask for a relabel at first boot.
    static func relabel(_ g: Guestfs, _ touched: [String]) throws -> String? {
        let config = "/etc/selinux/config"
        guard try g.isFile(config) else { return nil }
        var mode = "enforcing"
        var policy = "targeted"
        for line in try text(g, config).split(whereSeparator: \.isNewline) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("SELINUX=") { mode = String(t.dropFirst(8)) }
            if t.hasPrefix("SELINUXTYPE=") { policy = String(t.dropFirst(12)) }
        }
        guard mode != "disabled" else { return nil }
        let spec = "/etc/selinux/\(policy)/contexts/files/file_contexts"
        if try g.isFile(spec) {
            do {
                for t in touched where try g.exists(t) { try g.selinuxRelabel(specfile: spec, path: t) }
                return "SELinux labels set on \(touched.count) path(s)"
            } catch {}
        }
        try g.write("/.autorelabel", "")
        return "SELinux: /.autorelabel created (labels are fixed at first boot)"
    }
}
