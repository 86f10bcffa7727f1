import Crypto
import FleetModel
import Foundation
import Guestfs
import Testing

@testable import FleetImages

@Suite struct ImageSourceTests {
    func sha(_ s: String) -> String { SHA256.hash(data: Data(s.utf8)).map { String(format: "%02x", $0) }.joined() }

    @Test func sha256MatchesKnownVectors() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let empty = try t.file("empty", "")
        #expect(try ImageSource.sha256(ofFile: empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let abc = try t.file("abc", "abc")
        #expect(try ImageSource.sha256(ofFile: abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Larger than one 4 MiB chunk and not a multiple of it: the chunk loop must hash every byte once.
        let big = String(repeating: "0123456789abcdef", count: (9 << 20) / 16) + "tail"
        let bigPath = try t.file("big", big)
        #expect(try ImageSource.sha256(ofFile: bigPath) == sha(big))
    }

    @Test func prepareVerifiesChecksum() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let content = String(repeating: "raw disk bytes ", count: 1000)
        let p = try t.file("disk.img", content)
        let good = ImageSpec(name: "i", source: p, sha256: sha(content), pool: "default")
        let f = try ImageSource.prepare(good, cacheDirectory: t.path + "/cache")
        #expect(f.path == p)
        #expect(f.format == .raw)
        #expect(f.sha256 == sha(content))
        #expect(f.size == UInt64(content.utf8.count))
        #expect(f.virtualSize == f.size)

        // sha256: prefix and upper case are accepted too.
        let upper = ImageSpec(name: "i", source: "file://" + p, sha256: "sha256:" + sha(content).uppercased(), pool: "default")
        #expect(try ImageSource.prepare(upper, cacheDirectory: t.path + "/cache").sha256 == sha(content))

        let wrong = String(repeating: "0", count: 64)
        let bad = ImageSpec(name: "i", source: p, sha256: wrong, pool: "default")
        #expect(throws: ImageSourceError.checksumMismatch(source: p, expected: wrong, actual: sha(content))) {
            try ImageSource.prepare(bad, cacheDirectory: t.path + "/cache")
        }
        do {
            _ = try ImageSource.prepare(bad, cacheDirectory: t.path + "/cache")
        } catch {
            let message = "\(error)"
            #expect(message.contains("expected sha256:\(wrong)") && message.contains("got sha256:\(sha(content))"))
        }
        // Nothing produced: a local source is never copied, and the cache stays empty.
        #expect(!FileManager.default.fileExists(atPath: t.path + "/cache"))

        #expect(throws: ImageSourceError.invalidChecksum("abc")) {
            try ImageSource.prepare(ImageSpec(name: "i", source: p, sha256: "abc", pool: "d"), cacheDirectory: t.path)
        }
    }

    @Test func missingAndUnsupportedSources() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let missing = t.path + "/nope.qcow2"
        #expect(throws: ImageSourceError.missingFile(missing)) {
            try ImageSource.prepare(ImageSpec(name: "i", source: missing, pool: "d"), cacheDirectory: t.path)
        }
        #expect(throws: ImageSourceError.notARegularFile(t.path)) {
            try ImageSource.prepare(ImageSpec(name: "i", source: t.path, pool: "d"), cacheDirectory: t.path)
        }
        #expect(throws: ImageSourceError.unsupportedScheme("ftp://example.org/x.qcow2 (ftp)")) {
            try ImageSource.prepare(ImageSpec(name: "i", source: "ftp://example.org/x.qcow2", pool: "d"), cacheDirectory: t.path)
        }
        #expect(throws: ImageSourceError.unsupportedScheme("file://nas1/images/x.qcow2")) {
            try ImageSource.prepare(ImageSpec(name: "i", source: "file://nas1/images/x.qcow2", pool: "d"), cacheDirectory: t.path)
        }
        #expect(throws: ImageSourceError.missingFile(missing)) {
            try ImageSource.prepare(ImageSpec(name: "i", source: "file://localhost" + missing, pool: "d"), cacheDirectory: t.path)
        }
        #expect(throws: ImageSourceError.missingFile(missing)) { try ImageSource.sha256(ofFile: missing) }
        #expect("\(ImageSourceError.missingFile(missing))".contains(missing))
    }

    @Test func formatDetectionRawAndRefused() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let raw = t.path + "/sparse.img"
        #expect(FileManager.default.createFile(atPath: raw, contents: nil))
        #expect(truncate(raw, 10 << 20) == 0)
        let r = try ImageSource.detectFormat(path: raw)
        #expect(r.format == .raw && r.virtualSize == 10 << 20)

        let xz = t.path + "/image.qcow2.xz"
        try Data([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]).write(to: URL(fileURLWithPath: xz))
        #expect(throws: ImageSourceError.unsupportedFormat(path: xz, detected: "xz-compressed")) {
            try ImageSource.detectFormat(path: xz)
        }
        let vmdk = try t.file("disk.vmdk", "KDMV\u{1}\0\0\0")
        #expect(throws: ImageSourceError.unsupportedFormat(path: vmdk, detected: "VMDK")) { try ImageSource.detectFormat(path: vmdk) }

        // A qcow2 magic with a truncated header is refused, not trapped on.
        let short = t.path + "/short.qcow2"
        try Data([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]).write(to: URL(fileURLWithPath: short))
        #expect(throws: ImageSourceError.invalidQcow2(path: short, reason: "truncated header")) {
            try ImageSource.detectFormat(path: short)
        }
    }

    /// qcow2 files made by libguestfs's disk_create (which needs no appliance launch).
    @Test func formatDetectionQcow2() throws {
        guestfsEnvironment()
        let t = try TempDir()
        defer { t.cleanup() }
        let g = try Guestfs()
        let q = t.path + "/base.qcow2"
        try g.diskCreate(q, format: "qcow2", size: 3 << 30)
        let d = try ImageSource.detectFormat(path: q)
        #expect(d.format == .qcow2)
        #expect(d.virtualSize == 3 << 30)
        let f = try ImageSource.prepare(ImageSpec(name: "b", source: q, format: .qcow2, pool: "d"), cacheDirectory: t.path)
        #expect(f.virtualSize == 3 << 30 && f.size < 1 << 20)
        // Declared raw but really qcow2: refused (a raw reading would expose the qcow2 metadata to the guest).
        #expect(throws: ImageSourceError.formatMismatch(path: q, declared: .raw, detected: .qcow2)) {
            try ImageSource.prepare(ImageSpec(name: "b", source: q, format: .raw, pool: "d"), cacheDirectory: t.path)
        }
        // An overlay is refused as a base image.
        let overlay = t.path + "/overlay.qcow2"
        try g.diskCreate(overlay, format: "qcow2", size: -1, backingFile: q, backingFormat: "qcow2")
        #expect(throws: ImageSourceError.invalidQcow2(path: overlay, reason: "it has a backing file; flatten it first (qemu-img convert)"))
        {
            try ImageSource.detectFormat(path: overlay)
        }
        let rawPath = t.path + "/blank.img"
        try g.diskCreate(rawPath, format: "raw", size: 1 << 20)
        #expect(try ImageSource.detectFormat(path: rawPath) == (.raw, 1 << 20))
    }

    @Test func downloadsFromLoopbackIntoCache() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let body = Data(String(repeating: "image-bytes-", count: 50_000).utf8)
        let sum = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let server = try LoopbackHTTPServer(routes: ["/img.raw": body])
        defer { server.stop() }
        let cache = t.path + "/cache"
        let url = "http://127.0.0.1:\(server.port)/img.raw"
        let f = try ImageSource.prepare(ImageSpec(name: "i", source: url, sha256: sum, pool: "d"), cacheDirectory: cache)
        #expect(f.path == cache + "/" + sum)
        #expect(f.sha256 == sum && f.format == .raw)
        #expect(FileManager.default.contents(atPath: f.path) == body)
        // Second time: served from the cache (re-hashed), no request.
        let before = server.requests
        _ = try ImageSource.prepare(ImageSpec(name: "i", source: url, sha256: sum, pool: "d"), cacheDirectory: cache)
        #expect(server.requests == before)

        // Mismatch: error, and nothing left in the cache.
        let wrong = String(repeating: "a", count: 64)
        let cache2 = t.path + "/cache2"
        #expect(throws: ImageSourceError.checksumMismatch(source: url, expected: wrong, actual: sum)) {
            try ImageSource.prepare(ImageSpec(name: "i", source: url, sha256: wrong, pool: "d"), cacheDirectory: cache2)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache2).isEmpty)

        let missingURL = "http://127.0.0.1:\(server.port)/missing"
        #expect(throws: ImageSourceError.download(url: missingURL, reason: "HTTP 404")) {
            try ImageSource.prepare(ImageSpec(name: "i", source: missingURL, sha256: wrong, pool: "d"), cacheDirectory: cache2)
        }
    }
}

/// `FLEET_IMAGES_BENCH=1 swift test --filter sha256Throughput`: hashes a 1 GiB sparse file and prints MB/s
/// (figures in docs/images.md). Off by default: a timing on a shared 2-core machine is not a test.
@Suite struct ImageBenchmarks {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FLEET_IMAGES_BENCH"] != nil))
    func sha256Throughput() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let p = t.path + "/sparse-1g.img"
        #expect(FileManager.default.createFile(atPath: p, contents: nil))
        #expect(truncate(p, 1 << 30) == 0)
        var best = Double.infinity
        var sum = ""
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            sum = try ImageSource.sha256(ofFile: p)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        // sha256 of 1 GiB of zeros.
        #expect(sum == "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14")
        print("sha256 1 GiB sparse file: best of 3 \(String(format: "%.3f", best)) s = \(String(format: "%.0f", 1073.741824 / best)) MB/s")
    }
}
