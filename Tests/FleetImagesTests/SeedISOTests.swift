import FleetImages
import FleetModel
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool (an independent reader of what fleet wrote); nil when it is not installed.
private func tool(_ name: String, _ args: [String]) throws -> (status: Int32, out: String)? {
    let paths = ["/usr/bin/\(name)", "/usr/sbin/\(name)", "/sbin/\(name)", "/bin/\(name)"]
    guard let exe = paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

private func mode(_ path: String) -> mode_t? {
    var st = stat()
    return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
}

/// The NoCloud seed as ISO 9660, read back by readers fleet does not share code with: isoinfo (genisoimage)
/// for the descriptors, Rock Ridge and Joliet names and file contents, blkid for the filesystem type and label
/// cloud-init looks for (`blkid -tLABEL=cidata`). Linux's isofs reads it in GuestfsImageTests.cloudInitSeed.
@Suite struct SeedISOTests {
    let userData = "#cloud-config\nruncmd:\n  - [touch, /var/tmp/fleet-marker]\n"
    let network = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"

    func seed(
        _ t: TempDir, keys: [String] = [], password: Bool = false
    ) throws -> (path: String, spec: CloudInitSpec, secrets: SecretResolver) {
        let spec = CloudInitSpec(
            userData: try t.file("ud", userData), networkConfig: try t.file("nc", network),
            sshAuthorizedKeys: keys, rootPassword: password ? .env("FLEET_T_PW") : nil)
        let secrets = SecretResolver(environment: ["FLEET_T_PW": "s3cret pass"])
        let out = t.path + "/seed.iso"
        _ = try CloudInitSeed.build(spec, vmName: "web-1", outputPath: out, secrets: secrets, fleet: "f")
        return (out, spec, secrets)
    }

    @Test func isoinfoReadsDescriptorsNamesAndContents() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey ops@lab"
        let (iso, spec, secrets) = try seed(t, keys: [key], password: true)
        #expect(mode(iso) == 0o600)
        guard let d = try tool("isoinfo", ["-d", "-i", iso]) else {
            Issue.record("isoinfo is not installed (apt-get install genisoimage)")
            return
        }
        #expect(d.status == 0)
        #expect(d.out.contains("Volume id: cidata"))
        #expect(d.out.contains("Logical block size is: 2048"))
        #expect(d.out.contains("Joliet with UCS level 3 found"))
        #expect(d.out.contains("Rock Ridge signatures version 1 found"))
        let size = try FileManager.default.attributesOfItem(atPath: iso)[.size] as? Int ?? 0
        #expect(d.out.contains("Volume size is: \(size / 2048)"))

        // Names as Joliet and as Rock Ridge readers see them; the plain ISO 9660 names are 8.3.
        let names = ["meta-data", "network-config", "user-data", "vendor-data"]
        for flag in ["-J", "-R"] {
            let l = try #require(try tool("isoinfo", [flag, "-l", "-i", iso]))
            #expect(l.status == 0)
            for n in names { #expect(l.out.contains(" \(n)"), "\(flag): \(n) missing in\n\(l.out)") }
        }
        let plain = try #require(try tool("isoinfo", ["-l", "-i", iso]))
        #expect(plain.out.contains("USER_DAT.;1") && plain.out.contains("META_DAT.;1") && plain.out.contains("NETWORK_.;1"))
        #expect(!plain.out.contains("user-data"))

        func extract(_ flag: String, _ name: String) throws -> String {
            try #require(try tool("isoinfo", [flag, "-i", iso, "-x", "/\(name)"])).out
        }
        let iid = try CloudInitSeed.instanceID(spec, vmName: "web-1", secrets: secrets, fleet: "f")
        for flag in ["-J", "-R"] {
            #expect(try extract(flag, "user-data") == userData)
            #expect(try extract(flag, "network-config") == network)
            #expect(try extract(flag, "meta-data") == "instance-id: \(iid)\nlocal-hostname: web-1\n")
        }
        // vendor-data: root's key and a $6$ hash of the password, not the password.
        let vendor = try extract("-J", "vendor-data")
        #expect(vendor.hasPrefix("#cloud-config\ndisable_root: false\nssh_authorized_keys:\n  - \"\(key)\"\n"))
        #expect(!vendor.contains("s3cret"))
        let hashLine = try #require(vendor.split(separator: "\n").first { $0.contains("password: ") })
        let hash = String(hashLine.split(separator: "\"")[1])
        #expect(hash.hasPrefix("$6$") && PasswordHash.verify("s3cret pass", hash: hash))
        #expect(vendor.contains("chpasswd:\n  expire: false\n  users:\n    - name: root\n      type: hash\n"))
    }

    @Test func blkidSeesTheLabelCloudInitLooksFor() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (iso, _, _) = try seed(t)
        guard let b = try tool("blkid", ["-p", "-o", "export", iso]) else {
            Issue.record("blkid is not installed")
            return
        }
        #expect(b.status == 0)
        #expect(b.out.contains("TYPE=iso9660"))
        #expect(b.out.contains("LABEL=cidata\n"))
        // No identity: no vendor-data file.
        let l = try #require(try tool("isoinfo", ["-J", "-l", "-i", iso]))
        #expect(!l.out.contains("vendor-data"))
    }

    @Test func reproducibleForAFixedDate() throws {
        let files = [ISO9660Image.File(name: "user-data", data: Array("a".utf8)), .init(name: "meta-data", data: [])]
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let a = try ISO9660Image(volumeID: "cidata", files: files, date: date).bytes()
        #expect(try ISO9660Image(volumeID: "cidata", files: files, date: date).bytes() == a)
        // 25 sectors of metadata, one per file (an empty file still gets its sector), 150 of padding.
        #expect(a.count == (25 + 2 + 150) * 2048)
        #expect(Array(a[16 * 2048 + 1..<16 * 2048 + 6]) == Array("CD001".utf8))
    }

    @Test func badNamesAndLabelsAreErrors() {
        #expect(throws: ISO9660Error.badVolumeID("ci data")) { try ISO9660Image(volumeID: "ci data", files: []).bytes() }
        #expect(throws: ISO9660Error.badName("a/b")) { try ISO9660Image(volumeID: "cidata", files: [.init(name: "a/b", data: [])]).bytes() }
        // Two long names with one 8.3 name.
        #expect(throws: ISO9660Error.duplicateName("user-data2")) {
            try ISO9660Image(volumeID: "cidata", files: [.init(name: "user-data1", data: []), .init(name: "user-data2", data: [])]).bytes()
        }
    }

    @Test func seedFileIsPrivateAndRemoved() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let spec = CloudInitSpec(userData: try t.file("ud", userData))
        var seen: String?
        let size = try CloudInitSeed.withSeedFile(spec, vmName: "db", temporaryDirectory: t.path) { path -> Int in
            seen = path
            let dir = (path as NSString).deletingLastPathComponent
            #expect(mode(dir) == 0o700)
            #expect(mode(path) == 0o600)
            #expect((dir as NSString).lastPathComponent.hasPrefix("fleet-seed-"))
            return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        }
        #expect(size > 0 && size % 2048 == 0)
        let dir = try #require(seen.map { ($0 as NSString).deletingLastPathComponent })
        #expect(!FileManager.default.fileExists(atPath: dir))

        // Removed when the body throws too.
        struct Boom: Error {}
        var thrownDir: String?
        #expect(throws: Boom.self) {
            try CloudInitSeed.withSeedFile(spec, vmName: "db", temporaryDirectory: t.path) { path in
                thrownDir = (path as NSString).deletingLastPathComponent
                throw Boom()
            }
        }
        #expect(thrownDir != nil && !FileManager.default.fileExists(atPath: thrownDir!))
        #expect(try FileManager.default.contentsOfDirectory(atPath: t.path).filter { $0.hasPrefix("fleet-seed-") }.isEmpty)
    }
}
