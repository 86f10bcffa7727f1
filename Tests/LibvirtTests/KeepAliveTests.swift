// Keepalive: a daemon that stops answering must be noticed (calls fail, isAlive turns false)
// instead of hanging forever. A local unix-socket proxy in front of the real daemon's socket
// "freezes" to play the dead remote host; nothing leaves the machine.
import FleetTestSupport
import Foundation
import Testing

@testable import Libvirt

@Suite("Keepalive (real libvirtd)", .enabled(if: systemEnabled))
struct KeepAliveTests {
    @Test func frozenDaemonIsNoticed() throws {
        let daemonSocket = "/var/run/libvirt/libvirt-sock"
        try #require(FileManager.default.fileExists(atPath: daemonSocket))
        let proxy = try FreezableProxy(path: NSTemporaryDirectory() + uniquePrefix() + "proxy.sock", target: daemonSocket)
        defer { proxy.stop() }
        let c = try Connection(
            uri: "qemu+unix:///system?socket=\(proxy.path)", timeout: 10,
            keepAliveInterval: 1, keepAliveCount: 2)
        #expect(try c.hypervisorType == "QEMU")
        #expect(c.isAlive)
        proxy.freeze()
        let start = Date()
        let e = try #require(throws: LibvirtError.self) { _ = try c.listAllDomains() }
        let waited = Date().timeIntervalSince(start)
        #expect(waited < 15, "noticed after \(waited) s")
        #expect(!e.message.isEmpty)
        #expect(!c.isAlive)
    }
}

/// Forwards one client connection to `target`; after `freeze()` it silently drops all traffic.
final class FreezableProxy: @unchecked Sendable {
    let path: String
    private let target: String
    private let listener: Int32
    private let lock = NSLock()
    private var frozen = false
    private var fds: [Int32] = []

    init(path: String, target: String) throws {
        self.path = path
        self.target = target
        listener = try unixSocket(bindTo: path)
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    func freeze() { lock.withLock { frozen = true } }
    private var isFrozen: Bool { lock.withLock { frozen } }

    func stop() {
        lock.withLock {
            for fd in fds {
                shutdown(fd, Int32(SHUT_RDWR))
                close(fd)
            }
            fds.removeAll()
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            guard let upstream = try? unixSocket(connectTo: target) else {
                close(client)
                continue
            }
            lock.withLock { fds += [client, upstream] }
            Thread { [self] in pump(from: client, to: upstream) }.start()
            Thread { [self] in pump(from: upstream, to: client) }.start()
        }
    }

    private func pump(from: Int32, to: Int32) {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            if isFrozen { continue }  // the "dead host": swallow everything
            var off = 0
            while off < n {
                let w = buf.withUnsafeBytes { write(to, $0.baseAddress! + off, n - off) }
                if w <= 0 { return }
                off += w
            }
        }
    }
}

private func unixAddress(_ path: String) throws -> sockaddr_un {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    return addr
}

func unixSocket(bindTo path: String) throws -> Int32 {
    unlink(path)
    var addr = try unixAddress(path)
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0, listen(fd, 8) == 0 else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    return fd
}

func unixSocket(connectTo path: String) throws -> Int32 {
    var addr = try unixAddress(path)
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}
