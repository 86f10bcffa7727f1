internal import CGuestfs
internal import CLibraryLoader

#if canImport(Glibc)
    import Glibc
#endif

/// A failed libguestfs call: the operation, libguestfs's own message and errno, captured right after the call.
public struct GuestfsError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var message: String
    /// The errno libguestfs reported (0 when it had none, e.g. for argument errors).
    public var errno: Int32

    public init(operation: String, message: String, errno: Int32 = 0) {
        self.operation = operation
        self.message = message
        self.errno = errno
    }

    public var description: String {
        errno == 0 ? "libguestfs \(operation): \(message)" : "libguestfs \(operation): \(message) (errno \(errno))"
    }
}

/// libguestfs.so.0 could not be loaded (not installed, or older than fleet needs): images cannot be customized.
/// `description` says why and which Debian package to install (`libguestfs0`).
public struct GuestfsUnavailable: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    /// The Debian package that installs the library, "libguestfs0".
    public var package: String
    public var description: String { message }
}

/// One filesystem libguestfs found on the attached drives (`list_filesystems`).
public struct GuestFilesystem: Hashable, Sendable {
    public var device: String
    /// `ext4`, `xfs`, `vfat`, `ntfs`, `swap`, `unknown`, …
    public var type: String
}

/// What `lstatns` says about a guest path (the parts fleet checks).
public struct GuestFileStat: Hashable, Sendable {
    /// Full st_mode, including the file type bits.
    public var mode: UInt32
    public var uid: Int64
    public var gid: Int64
    public var size: Int64
    /// Permission bits only (st_mode & 0o7777).
    public var permissions: UInt32 { mode & 0o7777 }
}

/// A libguestfs handle: one appliance, one set of drives.
///
/// Not Sendable on purpose: libguestfs forbids using one handle from two threads at once,
/// so the compiler keeps each handle on the task that created it.
public final class Guestfs {
    private let g: OpaquePointer

    /// Creates a handle. The environment is honoured (LIBGUESTFS_BACKEND_SETTINGS=force_tcg, LIBGUESTFS_DEBUG…);
    /// libguestfs's default error printing to stderr is turned off: every failure is thrown instead.
    public init() throws {
        try Guestfs.load()
        guard let h = guestfs_create() else {
            throw GuestfsError(operation: "create", message: "cannot create a libguestfs handle", errno: Glibc.errno)
        }
        g = h
        guestfs_set_error_handler(g, nil, nil)
    }

    deinit { guestfs_close(g) }

    /// fleet does not link libguestfs: it is loaded here (dlopen, once per process; CLibraryLoader), when the first
    /// handle is created.
    private static let loaded: Result<Void, GuestfsUnavailable> = {
        let size = 1024
        var message = [CChar](repeating: 0, count: size)
        guard fleet_library_load(FLEET_LIBGUESTFS, &message, size) == 0 else {
            return .failure(
                GuestfsUnavailable(
                    message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    package: String(cString: fleet_library_package(FLEET_LIBGUESTFS))))
        }
        return .success(())
    }()

    /// Loads libguestfs.so.0, or throws `GuestfsUnavailable`. Idempotent and thread-safe; `init` calls it.
    public static func load() throws { try loaded.get() }

    // MARK: The error funnel

    /// Builds the error from the handle's last error; must be called right after the failing call.
    private func failure(_ operation: String) -> GuestfsError {
        let message = guestfs_last_error(g).map { String(cString: $0) } ?? "unknown error"
        return GuestfsError(operation: operation, message: message, errno: guestfs_last_errno(g))
    }

    private func check(_ rc: Int32, _ operation: String) throws {
        if rc == -1 { throw failure(operation) }
    }

    /// For the predicate calls (is_file, exists, …): -1 is an error, otherwise a boolean.
    private func bool(_ rc: Int32, _ operation: String) throws -> Bool {
        if rc == -1 { throw failure(operation) }
        return rc != 0
    }

    /// Takes ownership of a malloc'ed C string.
    private func string(_ p: UnsafeMutablePointer<CChar>?, _ operation: String) throws -> String {
        guard let p else { throw failure(operation) }
        defer { free(p) }
        return String(cString: p)
    }

    /// Takes ownership of a malloc'ed NULL-terminated array of malloc'ed strings: frees each and the array.
    private func strings(_ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ operation: String) throws -> [String] {
        guard let p else { throw failure(operation) }
        defer { free(p) }
        var out: [String] = []
        var i = 0
        while let s = p[i] {
            out.append(String(cString: s))
            free(s)
            i += 1
        }
        return out
    }

    /// libguestfs "hashtable" results are flat key, value, key, value… lists.
    private func pairs(_ list: [String]) -> [(String, String)] {
        stride(from: 0, to: list.count - 1, by: 2).map { (list[$0], list[$0 + 1]) }
    }

    // MARK: Drives and appliance

    /// Adds a disk image. `format` should always be given for images fleet did not make itself
    /// (libguestfs refuses to guess in a way that lets a raw guest pose as qcow2).
    public func addDrive(_ path: String, format: String? = nil, readonly: Bool = false, label: String? = nil) throws {
        var opts = guestfs_add_drive_opts_argv()
        opts.bitmask = bit(GUESTFS_ADD_DRIVE_OPTS_READONLY)
        opts.readonly = readonly ? 1 : 0
        let rc: Int32 = withOptionalCString(format) { fmt in
            withOptionalCString(label) { lab in
                if let fmt {
                    opts.bitmask |= bit(GUESTFS_ADD_DRIVE_OPTS_FORMAT)
                    opts.format = fmt
                }
                if let lab {
                    opts.bitmask |= bit(GUESTFS_ADD_DRIVE_OPTS_LABEL)
                    opts.label = lab
                }
                return guestfs_add_drive_opts_argv(g, path, &opts)
            }
        }
        try check(rc, "add_drive \(path)")
    }

    /// Starts the appliance (the first launch on a machine builds it: ~15 s).
    public func launch() throws { try check(guestfs_launch(g), "launch") }

    /// Syncs and stops the appliance; errors here mean writes may not have reached the disk.
    public func shutdown() throws { try check(guestfs_shutdown(g), "shutdown") }

    /// Creates a disk image file (no appliance needed). `format`: raw or qcow2. With a backing file (qcow2 only),
    /// `size` -1 takes the backing file's size.
    public func diskCreate(
        _ path: String, format: String, size: Int64, backingFile: String? = nil,
        backingFormat: String? = nil
    ) throws {
        var opts = guestfs_disk_create_argv()
        opts.bitmask = 0
        let rc: Int32 = withOptionalCString(backingFile) { bf in
            withOptionalCString(backingFormat) { bfmt in
                if let bf {
                    opts.bitmask |= bit(GUESTFS_DISK_CREATE_BACKINGFILE)
                    opts.backingfile = bf
                }
                if let bfmt {
                    opts.bitmask |= bit(GUESTFS_DISK_CREATE_BACKINGFORMAT)
                    opts.backingformat = bfmt
                }
                return guestfs_disk_create_argv(g, path, format, size, &opts)
            }
        }
        try check(rc, "disk_create \(path)")
    }

    // MARK: Discovery

    public func listDevices() throws -> [String] { try strings(guestfs_list_devices(g), "list_devices") }
    public func listPartitions() throws -> [String] { try strings(guestfs_list_partitions(g), "list_partitions") }

    public func listFilesystems() throws -> [GuestFilesystem] {
        pairs(try strings(guestfs_list_filesystems(g), "list_filesystems")).map { GuestFilesystem(device: $0.0, type: $0.1) }
    }

    /// The root filesystems of the operating systems found (empty when none).
    public func inspectOS() throws -> [String] { try strings(guestfs_inspect_os(g), "inspect_os") }

    /// Mount point -> device, as the guest's fstab (or registry) says.
    public func inspectMountpoints(root: String) throws -> [(mountpoint: String, device: String)] {
        pairs(try strings(guestfs_inspect_get_mountpoints(g, root), "inspect_get_mountpoints")).map { ($0.0, $0.1) }
    }

    /// `linux`, `windows`, `freebsd`, … or `unknown`.
    public func inspectType(root: String) throws -> String { try string(guestfs_inspect_get_type(g, root), "inspect_get_type") }
    public func inspectDistro(root: String) throws -> String { try string(guestfs_inspect_get_distro(g, root), "inspect_get_distro") }
    /// Windows only: the system root, e.g. `/Windows`.
    public func inspectWindowsSystemRoot(root: String) throws -> String {
        try string(guestfs_inspect_get_windows_systemroot(g, root), "inspect_get_windows_systemroot")
    }

    public func vfsType(_ mountable: String) throws -> String { try string(guestfs_vfs_type(g, mountable), "vfs_type \(mountable)") }
    public func vfsLabel(_ mountable: String) throws -> String { try string(guestfs_vfs_label(g, mountable), "vfs_label \(mountable)") }

    // MARK: Mounting

    public func mount(_ mountable: String, at mountpoint: String) throws {
        try check(guestfs_mount(g, mountable, mountpoint), "mount \(mountable) \(mountpoint)")
    }
    public func mountReadOnly(_ mountable: String, at mountpoint: String) throws {
        try check(guestfs_mount_ro(g, mountable, mountpoint), "mount_ro \(mountable) \(mountpoint)")
    }
    public func umount(_ pathOrDevice: String) throws { try check(guestfs_umount(g, pathOrDevice), "umount \(pathOrDevice)") }
    public func umountAll() throws { try check(guestfs_umount_all(g), "umount_all") }
    public func sync() throws { try check(guestfs_sync(g), "sync") }

    // MARK: Making filesystems

    /// Partitions a whole device with one partition (`mbr` or `gpt`).
    public func partDisk(_ device: String, type: String = "mbr") throws {
        try check(guestfs_part_disk(g, device, type), "part_disk \(device)")
    }

    public func mkfs(_ fstype: String, device: String, label: String? = nil) throws {
        var opts = guestfs_mkfs_opts_argv()
        opts.bitmask = 0
        let rc: Int32 = withOptionalCString(label) { lab in
            if let lab {
                opts.bitmask |= bit(GUESTFS_MKFS_OPTS_LABEL)
                opts.label = lab
            }
            return guestfs_mkfs_opts_argv(g, fstype, device, &opts)
        }
        try check(rc, "mkfs \(fstype) \(device)")
    }

    public func setLabel(_ mountable: String, _ label: String) throws {
        try check(guestfs_set_label(g, mountable, label), "set_label \(mountable)")
    }

    // MARK: Files

    /// libguestfs messages are limited to a few MiB, so large contents go in 1 MiB appends.
    private static let writeChunk = 1 << 20

    /// Creates or truncates `path` (an existing file keeps its mode, owner and inode) and writes `bytes`.
    public func write(_ path: String, _ bytes: [UInt8]) throws {
        var first = true
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + Self.writeChunk)
            let rc: Int32 = bytes[offset..<end].withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { c in
                    first ? guestfs_write(g, path, c.baseAddress, c.count) : guestfs_write_append(g, path, c.baseAddress, c.count)
                }
            }
            try check(rc, first ? "write \(path)" : "write_append \(path)")
            first = false
            offset = end
        } while offset < bytes.count
    }

    public func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }

    public func writeAppend(_ path: String, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Self.writeChunk)
            let rc: Int32 = bytes[offset..<end].withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { guestfs_write_append(g, path, $0.baseAddress, $0.count) }
            }
            try check(rc, "write_append \(path)")
            offset = end
        }
    }

    /// Copies a host file into the guest, streamed (no size limit).
    public func upload(localPath: String, to path: String) throws {
        try check(guestfs_upload(g, localPath, path), "upload \(localPath) -> \(path)")
    }

    /// The whole file as bytes (binary-safe; limited to libguestfs's message size, ~4 MiB).
    public func readFile(_ path: String) throws -> [UInt8] {
        var size = 0
        guard let p = guestfs_read_file(g, path, &size) else { throw failure("read_file \(path)") }
        defer { free(p) }
        return p.withMemoryRebound(to: UInt8.self, capacity: size) { Array(UnsafeBufferPointer(start: $0, count: size)) }
    }

    /// A text file (stops at the first NUL byte: use `readFile` for binary data).
    public func cat(_ path: String) throws -> String { try string(guestfs_cat(g, path), "cat \(path)") }

    public func isFile(_ path: String) throws -> Bool { try bool(guestfs_is_file(g, path), "is_file \(path)") }
    public func isDir(_ path: String) throws -> Bool { try bool(guestfs_is_dir(g, path), "is_dir \(path)") }
    public func isSymlink(_ path: String) throws -> Bool { try bool(guestfs_is_symlink(g, path), "is_symlink \(path)") }
    public func exists(_ path: String) throws -> Bool { try bool(guestfs_exists(g, path), "exists \(path)") }

    public func lstat(_ path: String) throws -> GuestFileStat {
        guard let st = guestfs_lstatns(g, path) else { throw failure("lstatns \(path)") }
        defer { guestfs_free_statns(st) }
        let s = st.pointee
        return GuestFileStat(mode: UInt32(truncatingIfNeeded: s.st_mode), uid: s.st_uid, gid: s.st_gid, size: s.st_size)
    }

    public func readlink(_ path: String) throws -> String { try string(guestfs_readlink(g, path), "readlink \(path)") }
    public func ls(_ directory: String) throws -> [String] { try strings(guestfs_ls(g, directory), "ls \(directory)") }
    /// Paths matching a shell glob (empty when nothing matches).
    public func globExpand(_ pattern: String) throws -> [String] { try strings(guestfs_glob_expand(g, pattern), "glob_expand \(pattern)") }
    /// The real path on a case-insensitive guest (Windows): `/windows/system32` -> `/Windows/System32`.
    public func caseSensitivePath(_ path: String) throws -> String {
        try string(guestfs_case_sensitive_path(g, path), "case_sensitive_path \(path)")
    }

    public func mkdirP(_ path: String) throws { try check(guestfs_mkdir_p(g, path), "mkdir_p \(path)") }

    /// Permission bits only (0...0o7777).
    public func chmod(_ mode: UInt32, _ path: String) throws {
        guard mode <= 0o7777 else {
            throw GuestfsError(operation: "chmod \(path)", message: "mode \(String(mode, radix: 8)) is not a permission mode (0...7777)")
        }
        try check(guestfs_chmod(g, Int32(mode), path), "chmod \(path)")
    }

    public func chown(uid: Int32, gid: Int32, _ path: String) throws {
        try check(guestfs_chown(g, uid, gid, path), "chown \(path)")
    }

    public func lchown(uid: Int32, gid: Int32, _ path: String) throws {
        try check(guestfs_lchown(g, uid, gid, path), "lchown \(path)")
    }

    /// `chown` with an owner as an operator writes it: `root:root`, `user:group`, `user` (its primary group),
    /// `1000:1000`; names are looked up in the guest's /etc/passwd and /etc/group, not the host's.
    public func chown(owner: String, _ path: String) throws {
        let (uid, gid) = try resolveOwner(owner)
        try chown(uid: uid, gid: gid, path)
    }

    /// Resolves `user[:group]` against the mounted guest's /etc/passwd and /etc/group.
    public func resolveOwner(_ owner: String) throws -> (uid: Int32, gid: Int32) {
        let parts = owner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let user = parts.first, !user.isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw GuestfsError(operation: "chown", message: "owner \"\(owner)\" is not user, user:group, or uid:gid")
        }
        var passwd: [[Substring]]?
        func passwdEntries() throws -> [[Substring]] {
            if let passwd { return passwd }
            let p = Self.colonFile(try readText("/etc/passwd", purpose: "user \(user)"))
            passwd = p
            return p
        }
        let uid: Int32
        var primaryGid: Int32?
        if let n = Self.numericID(user) {
            uid = n
        } else {
            guard let e = try passwdEntries().first(where: { $0.count >= 4 && $0[0] == user }),
                let u = Self.numericID(String(e[2]))
            else {
                throw GuestfsError(operation: "chown", message: "user \"\(user)\" is not in the guest's /etc/passwd")
            }
            uid = u
            primaryGid = Self.numericID(String(e[3]))
        }
        let gid: Int32
        if parts.count == 2 {
            let group = parts[1]
            if let n = Self.numericID(group) {
                gid = n
            } else {
                let groups = Self.colonFile(try readText("/etc/group", purpose: "group \(group)"))
                guard let e = groups.first(where: { $0.count >= 3 && $0[0] == group }), let n = Self.numericID(String(e[2])) else {
                    throw GuestfsError(operation: "chown", message: "group \"\(group)\" is not in the guest's /etc/group")
                }
                gid = n
            }
        } else if let primaryGid {
            gid = primaryGid
        } else {
            // A bare uid: use the primary group of the passwd entry with that uid, else the same number.
            let e = (try? passwdEntries())?.first(where: { $0.count >= 4 && Self.numericID(String($0[2])) == uid })
            gid = e.flatMap { Self.numericID(String($0[3])) } ?? uid
        }
        return (uid, gid)
    }

    private func readText(_ path: String, purpose: String) throws -> String {
        guard try isFile(path) else {
            throw GuestfsError(operation: "chown", message: "cannot resolve \(purpose): the guest has no \(path)")
        }
        return String(decoding: try readFile(path), as: UTF8.self)
    }

    private static func colonFile(_ text: String) -> [[Substring]] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: ":", omittingEmptySubsequences: false) }
    }

    private static func numericID(_ s: String) -> Int32? {
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int32(s)
    }

    public func rm(_ path: String) throws { try check(guestfs_rm(g, path), "rm \(path)") }
    public func rmF(_ path: String) throws { try check(guestfs_rm_f(g, path), "rm_f \(path)") }
    public func rmRF(_ path: String) throws { try check(guestfs_rm_rf(g, path), "rm_rf \(path)") }
    public func rmdir(_ path: String) throws { try check(guestfs_rmdir(g, path), "rmdir \(path)") }

    /// Truncates an existing file to zero bytes (keeps mode, owner and inode).
    public func truncate(_ path: String) throws { try check(guestfs_truncate(g, path), "truncate \(path)") }

    /// Sets SELinux labels under `path` (recursively) from the guest's policy file `specfile`
    /// (e.g. /etc/selinux/targeted/contexts/files/file_contexts), as the guest's restorecon would.
    public func selinuxRelabel(specfile: String, path: String, force: Bool = true) throws {
        var opts = guestfs_selinux_relabel_argv()
        opts.bitmask = bit(GUESTFS_SELINUX_RELABEL_FORCE)
        opts.force = force ? 1 : 0
        try check(guestfs_selinux_relabel_argv(g, specfile, path, &opts), "selinux_relabel \(path)")
    }

    /// `ln -sf target linkname`.
    public func lnSF(target: String, linkName: String) throws {
        try check(guestfs_ln_sf(g, target, linkName), "ln_sf \(target) \(linkName)")
    }
}

/// The optional-argument bitmask bit for an option index (the header's *_BITMASK macros use UINT64_C, which Swift cannot import).
private func bit(_ index: Int32) -> UInt64 { UInt64(1) << UInt64(index) }

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}
