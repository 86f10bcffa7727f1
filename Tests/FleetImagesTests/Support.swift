import Foundation
import Guestfs

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "fleet-images-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String, _ content: String) throws -> String {
        let p = path + "/" + name
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// libguestfs on this nested-virt machine needs TCG; set before any handle is created.
func guestfsEnvironment() {
    setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0)
}

/// Builds a tiny Linux-like disk with libguestfs itself: one MBR partition, ext4, the files an image
/// customization touches, and enough (/bin, /etc/os-release) for libguestfs inspection to call it Linux.
func buildLinuxImage(at path: String, format: String) throws {
    guestfsEnvironment()
    let g = try Guestfs()
    try g.diskCreate(path, format: format, size: 64 << 20)
    try g.addDrive(path, format: format)
    try g.launch()
    try g.partDisk("/dev/sda", type: "mbr")
    try g.mkfs("ext4", device: "/dev/sda1")
    try g.mount("/dev/sda1", at: "/")
    for d in [
        "/bin", "/usr/bin", "/etc/ssh", "/etc/sysconfig/network-scripts", "/etc/udev/rules.d", "/etc/selinux",
        "/var/lib/dbus", "/var/log/journal/0123abcd", "/var/log/audit", "/root/.ssh", "/home/ops",
        "/usr/share/zoneinfo/Asia"
    ] {
        try g.mkdirP(d)
    }
    let files: [(String, String, UInt32)] = [
        ("/etc/os-release", "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3\"\n", 0o644),
        ("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/bash\n", 0o644),
        ("/etc/group", "root:x:0:\nwheel:x:10:ops\nops:x:1000:\n", 0o644),
        ("/etc/shadow", "root:*:19000:0:99999:7:::\nops:!!:19000:0:99999:7:::\n", 0o000),
        ("/etc/hostname", "localhost.localdomain\n", 0o644),
        // Inspection's Linux-root rule: /etc, /bin, and /etc/fstab or /etc/hosts.
        ("/etc/hosts", "127.0.0.1 localhost\n", 0o644),
        ("/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=template\n", 0o644),
        ("/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n", 0o644),
        ("/etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444),
        ("/var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444),
        ("/etc/ssh/ssh_host_rsa_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n", 0o600),
        ("/etc/ssh/ssh_host_rsa_key.pub", "ssh-rsa AAAAhostkey root@template\n", 0o644),
        ("/etc/ssh/sshd_config", "PermitRootLogin prohibit-password\n", 0o600),
        ("/var/log/messages", "Jan  1 00:00:00 template kernel: boot\n", 0o600),
        ("/var/log/messages-20240101", "old\n", 0o600),
        ("/var/log/dnf.log", "installed things\n", 0o600),
        ("/var/log/wtmp", "wtmp-bytes", 0o664),
        ("/var/log/audit/audit.log", "type=DAEMON_START\n", 0o600),
        ("/var/log/journal/0123abcd/system.journal", "journal", 0o640),
        ("/var/log/keep.txt", "not a log pattern\n", 0o644),
        ("/root/.bash_history", "rm -rf /tmp/x\n", 0o600),
        ("/home/ops/.bash_history", "ls\n", 0o600),
        ("/home/ops/notes", "keep me\n", 0o644),
        ("/root/.ssh/authorized_keys", "ssh-ed25519 AAAAexisting old@host", 0o600),
        ("/etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", NAME=\"eth0\"\n", 0o644),
        ("/etc/udev/rules.d/99-keep.rules", "# keep\n", 0o644),
        ("/usr/share/zoneinfo/Asia/Shanghai", "TZif2-fake-shanghai", 0o644),
        ("/usr/share/zoneinfo/UTC", "TZif2-fake-utc", 0o644)
    ]
    for (p, content, mode) in files {
        try g.write(p, content)
        try g.chmod(mode, p)
    }
    try g.chown(uid: 1000, gid: 1000, "/home/ops")
    try g.chown(uid: 1000, gid: 1000, "/home/ops/.bash_history")
    try g.lnSF(target: "/usr/share/zoneinfo/UTC", linkName: "/etc/localtime")
    try g.sync()
    try g.umountAll()
    try g.shutdown()
}

/// A one-shot loopback HTTP/1.1 server for download tests: serves `routes` (path -> body), 404 otherwise.
final class LoopbackHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let routes: [String: Data]
    private let lock = NSLock()
    private var _requests = 0
    var requests: Int {
        lock.lock()
        defer { lock.unlock() }
        return _requests
    }

    init(routes: [String: Data]) throws {
        self.routes = routes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        self.fd = fd
        let t = Thread { [self] in self.serve() }
        t.start()
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }  // closed by stop()
            var request = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 4096)
            while !request.contains(13) || !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
                let n = read(c, &buf, buf.count)
                if n <= 0 { break }
                request += buf[0..<n]
            }
            lock.lock()
            _requests += 1
            lock.unlock()
            let line = String(decoding: request, as: UTF8.self).split(separator: "\r\n").first ?? ""
            let parts = line.split(separator: " ")
            let path = parts.count > 1 ? String(parts[1]) : "/"
            var response: Data
            if let body = routes[path] {
                response = Data("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8)
                response.append(body)
            } else {
                response = Data("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            }
            response.withUnsafeBytes { p in
                var off = 0
                while off < p.count {
                    let n = write(c, p.baseAddress! + off, p.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
            close(c)
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
