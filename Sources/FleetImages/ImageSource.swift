import Crypto
import FleetModel
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Why an image source could not be used. Messages name the file or URL and say what to do.
public enum ImageSourceError: Error, CustomStringConvertible, Equatable, Sendable {
    case missingFile(String)
    case unreadable(path: String, reason: String)
    case notARegularFile(String)
    case checksumMismatch(source: String, expected: String, actual: String)
    case invalidChecksum(String)
    case unsupportedScheme(String)
    case download(url: String, reason: String)
    case unsupportedFormat(path: String, detected: String)
    case formatMismatch(path: String, declared: DiskFormat, detected: DiskFormat)
    case invalidQcow2(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "image source \(p) does not exist"
        case .unreadable(let p, let r): return "image source \(p) cannot be read: \(r)"
        case .notARegularFile(let p): return "image source \(p) is not a regular file"
        case .checksumMismatch(let s, let e, let a):
            return
                "checksum mismatch for \(s): expected sha256:\(e), got sha256:\(a) (the file is corrupt, or the manifest's checksum is out of date)"
        case .invalidChecksum(let c): return "\"\(c)\" is not a sha256 checksum (64 hex digits)"
        case .unsupportedScheme(let s): return "image source \(s): unsupported URL scheme (use a path, file://, http:// or https://)"
        case .download(let u, let r): return "downloading \(u) failed: \(r)"
        case .unsupportedFormat(let p, let d):
            return "image \(p) is \(d), which fleet does not use directly: convert it to qcow2 or raw first"
        case .formatMismatch(let p, let decl, let det):
            return "image \(p) is declared \(decl.rawValue) but its header says \(det.rawValue)"
        case .invalidQcow2(let p, let r): return "image \(p) is not a usable qcow2 file: \(r)"
        }
    }
}

/// A local image file, checked and described.
public struct ImageFile: Hashable, Sendable {
    public var path: String
    public var format: DiskFormat
    /// Bytes on the host's filesystem (apparent size).
    public var size: UInt64
    /// Lower-case hex SHA-256 of the file.
    public var sha256: String
    /// The disk size the guest sees: the qcow2 header's size, or the file size for raw.
    public var virtualSize: UInt64

    public init(path: String, format: DiskFormat, size: UInt64, sha256: String, virtualSize: UInt64) {
        self.path = path
        self.format = format
        self.size = size
        self.sha256 = sha256
        self.virtualSize = virtualSize
    }
}

public enum ImageSource {
    /// `~/.cache/fleet/images` (or `$XDG_CACHE_HOME/fleet/images`): where downloaded images are kept by sha256.
    public static var defaultCacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") { return x + "/fleet/images" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.cache/fleet/images"
    }

    /// Resolves a spec's source to a local file (paths and `file://` are used in place; `http(s)://` is
    /// downloaded into `cacheDirectory/<sha256>` and verified before use), verifies the checksum when given,
    /// and detects the format and virtual size from the header.
    public static func prepare(_ image: ImageSpec, cacheDirectory: String) throws -> ImageFile {
        let expected = try image.sha256.map(normalizedChecksum)
        let path: String
        let source = image.source
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            path = try fetch(source, expectedSHA256: expected, cacheDirectory: cacheDirectory)
        } else if source.hasPrefix("file://") {
            guard let url = URL(string: source), url.isFileURL, !url.path.isEmpty else {
                throw ImageSourceError.missingFile(source)
            }
            // file://server/path names another machine's file: refuse it rather than read a local /path.
            if let host = url.host, !host.isEmpty, host != "localhost" { throw ImageSourceError.unsupportedScheme(source) }
            path = url.path
        } else if let scheme = urlScheme(source) {
            throw ImageSourceError.unsupportedScheme("\(source) (\(scheme))")
        } else {
            path = source
        }
        let size = try regularFileSize(path)
        let actual = try sha256(ofFile: path)
        if let expected, expected != actual {
            throw ImageSourceError.checksumMismatch(source: source, expected: expected, actual: actual)
        }
        let (format, virtualSize) = try detectFormat(path: path)
        if let declared = image.format, declared != format {
            throw ImageSourceError.formatMismatch(path: path, declared: declared, detected: format)
        }
        return ImageFile(path: path, format: format, size: size, sha256: actual, virtualSize: virtualSize)
    }

    /// `sha256:<hex>` or `<hex>`, any case -> lower-case hex.
    static func normalizedChecksum(_ s: String) throws -> String {
        var hex = s.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        guard hex.utf8.count == 64, hex.allSatisfy(\.isHexDigit) else { throw ImageSourceError.invalidChecksum(s) }
        return hex
    }

    /// The scheme of something that looks like a URL (`scheme://`), nil for a path.
    static func urlScheme(_ s: String) -> String? {
        guard let r = s.range(of: "://") else { return nil }
        let scheme = s[..<r.lowerBound]
        guard let f = scheme.first, f.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) })
        else { return nil }
        return String(scheme)
    }

    private static func regularFileSize(_ path: String) throws -> UInt64 {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw ImageSourceError.missingFile(path) }
            throw ImageSourceError.unreadable(path: path, reason: String(cString: strerror(e)))
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw ImageSourceError.notARegularFile(path) }
        return UInt64(st.st_size)
    }

    // MARK: SHA-256

    private static let chunkSize = 4 << 20

    /// Streaming SHA-256 of a file in 4 MiB reads, lower-case hex. Reading and hashing overlap: a reader
    /// thread fills one of two buffers while the caller hashes the other (the kernel's copy and the hash each
    /// cost about as much, so this nearly halves the time on two cores).
    public static func sha256(ofFile path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw ImageSourceError.missingFile(path) }
            throw ImageSourceError.unreadable(path: path, reason: String(cString: strerror(e)))
        }
        defer { close(fd) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let pipe = ReadPipe(fd: fd, chunkSize: chunkSize)
        defer { pipe.deallocate() }
        Thread.detachNewThread { pipe.produce() }
        var hasher = SHA256()
        var i = 0
        while true {
            let (buffer, count, error) = pipe.next(i)
            // The reader has stopped after a terminal count (0 or -1): its buffers are ours again.
            if count < 0 { throw ImageSourceError.unreadable(path: path, reason: String(cString: strerror(error))) }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            pipe.release(i)
            i += 1
        }
        return hex(hasher.finalize())
    }

    /// Two buffers handed back and forth between a reader thread and the hashing caller. Each buffer is owned
    /// by one side at a time, the semaphores order the handovers, so the unchecked Sendable is sound.
    private final class ReadPipe: @unchecked Sendable {
        let fd: Int32
        let chunkSize: Int
        let buffers: [UnsafeMutableRawBufferPointer]
        var counts = [0, 0]
        var errors: [Int32] = [0, 0]
        // Created at 0 and signalled once: libdispatch traps if a semaphore is freed below its initial value,
        // which a buffer the reader waited for but never got back would otherwise be.
        let free = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let filled = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]

        init(fd: Int32, chunkSize: Int) {
            self.fd = fd
            self.chunkSize = chunkSize
            buffers = (0..<2).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64) }
            for f in free { f.signal() }
        }

        func produce() {
            var i = 0
            while true {
                let b = i % 2
                free[b].wait()
                var n: Int
                repeat { n = read(fd, buffers[b].baseAddress, chunkSize) } while n < 0 && errno == EINTR
                counts[b] = n
                errors[b] = n < 0 ? errno : 0
                filled[b].signal()
                if n <= 0 { return }
                i += 1
            }
        }

        func next(_ i: Int) -> (UnsafeMutableRawBufferPointer, Int, Int32) {
            let b = i % 2
            filled[b].wait()
            return (buffers[b], counts[b], errors[b])
        }

        func release(_ i: Int) { free[i % 2].signal() }

        /// Only after the reader delivered its terminal count.
        func deallocate() { for b in buffers { b.deallocate() } }
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Format detection

    /// qcow2 (magic `QFI\xfb`; virtual size = big-endian u64 at offset 24) or raw (virtual size = file size).
    /// Other container formats and compressed files are recognised and refused rather than passed off as raw.
    public static func detectFormat(path: String) throws -> (format: DiskFormat, virtualSize: UInt64) {
        let size = try regularFileSize(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageSourceError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 512)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 512, 0) }
        guard n >= 0 else { throw ImageSourceError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        header.removeSubrange(n...)

        func at(_ offset: Int, _ magic: [UInt8]) -> Bool {
            header.count >= offset + magic.count && Array(header[offset..<offset + magic.count]) == magic
        }
        func be(_ offset: Int, _ width: Int) -> UInt64 {
            header[offset..<offset + width].reduce(0) { $0 << 8 | UInt64($1) }
        }

        if at(0, [0x51, 0x46, 0x49, 0xfb]) {
            guard header.count >= 72 else { throw ImageSourceError.invalidQcow2(path: path, reason: "truncated header") }
            let version = be(4, 4)
            guard version == 2 || version == 3 else {
                throw ImageSourceError.invalidQcow2(path: path, reason: "unknown version \(version)")
            }
            // A base image that points at another file would make every clone depend on a host path.
            if be(8, 8) != 0 {
                throw ImageSourceError.invalidQcow2(path: path, reason: "it has a backing file; flatten it first (qemu-img convert)")
            }
            if be(32, 4) != 0 {
                throw ImageSourceError.invalidQcow2(path: path, reason: "it is encrypted")
            }
            return (.qcow2, be(24, 8))
        }
        let refused: [(Int, [UInt8], String)] = [
            (0, Array("KDMV".utf8), "VMDK"),
            (0, Array("# Disk DescriptorFile".utf8), "a VMDK descriptor"),
            (0, Array("vhdxfile".utf8), "VHDX"),
            (0, Array("conectix".utf8), "VHD"),
            (64, [0x7f, 0x10, 0xda, 0xbe], "VDI"),
            (0, [0x51, 0x45, 0x44, 0x00], "QED"),
            (0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz-compressed"),
            (0, [0x1f, 0x8b], "gzip-compressed"),
            (0, Array("BZh".utf8), "bzip2-compressed"),
            (0, [0x28, 0xb5, 0x2f, 0xfd], "zstd-compressed")
        ]
        for (offset, magic, name) in refused where at(offset, magic) {
            throw ImageSourceError.unsupportedFormat(path: path, detected: name)
        }
        return (.raw, size)
    }

    // MARK: Download

    /// Downloads into the cache, named by content hash. A cached file is re-hashed before it is trusted.
    private static func fetch(_ url: String, expectedSHA256: String?, cacheDirectory: String) throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        } catch {
            throw ImageSourceError.download(
                url: url, reason: "cannot create cache directory \(cacheDirectory): \(error.localizedDescription)")
        }
        if let expectedSHA256 {
            let cached = cacheDirectory + "/" + expectedSHA256
            if FileManager.default.fileExists(atPath: cached) {
                if (try? sha256(ofFile: cached)) == expectedSHA256 { return cached }
                // A corrupt cache entry is replaced, never used.
                try? FileManager.default.removeItem(atPath: cached)
            }
        }
        guard let remote = URL(string: url) else { throw ImageSourceError.download(url: url, reason: "not a valid URL") }
        let partial = cacheDirectory + "/.partial-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: partial) }
        try download(remote, to: partial)
        let actual = try sha256(ofFile: partial)
        if let expectedSHA256, actual != expectedSHA256 {
            throw ImageSourceError.checksumMismatch(source: url, expected: expectedSHA256, actual: actual)
        }
        let final = cacheDirectory + "/" + actual
        guard rename(partial, final) == 0 else {
            throw ImageSourceError.download(url: url, reason: "cannot move download to \(final): \(String(cString: strerror(errno)))")
        }
        return final
    }

    /// The completion handler runs on URLSession's queue; the caller waits on the semaphore.
    private final class DownloadResult: @unchecked Sendable {
        let lock = NSLock()
        var error: String?
    }

    private static func download(_ url: URL, to path: String) throws {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 60
        config.timeoutIntervalForResource = 6 * 3600
        let session = URLSession(configuration: config)
        defer { session.finishTasksAndInvalidate() }
        let result = DownloadResult()
        let done = DispatchSemaphore(value: 0)
        let task = session.downloadTask(with: url) { tmp, response, error in
            defer { done.signal() }
            var failure: String?
            if let error {
                failure = error.localizedDescription
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                failure = "HTTP \(http.statusCode)"
            } else if let tmp {
                // The temporary file is deleted when this handler returns: move it now.
                do { try FileManager.default.moveItem(atPath: tmp.path, toPath: path) } catch {
                    failure = "cannot save the download: \(error.localizedDescription)"
                }
            } else {
                failure = "no data"
            }
            result.lock.lock()
            result.error = failure
            result.lock.unlock()
        }
        task.resume()
        done.wait()
        result.lock.lock()
        defer { result.lock.unlock() }
        if let e = result.error { throw ImageSourceError.download(url: url.absoluteString, reason: e) }
    }
}
