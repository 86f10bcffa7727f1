import FleetModel
import Foundation
import Testing

@testable import FleetImages

@Suite struct SecretTests {
    @Test func fileSecretStripsOneTrailingNewline() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let r = SecretResolver(environment: [:])
        #expect(try r.resolve(.file(try t.file("a", "pw\n"))) == "pw")
        #expect(try r.resolve(.file(try t.file("b", "pw\n\n"))) == "pw\n")
        #expect(try r.resolve(.file(try t.file("c", "pw"))) == "pw")
        #expect(try r.resolve(.file(try t.file("d", "pw\r\n"))) == "pw")
        #expect(throws: SecretError.fileEmpty(t.path + "/e")) { try r.resolve(.file(try t.file("e", "\n"))) }
    }

    @Test func unreadableSecretFilesNameThePath() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let r = SecretResolver(environment: [:])
        // Tests run as root, so chmod 000 would still read: use a directory and a missing path.
        #expect(throws: SecretError.fileUnreadable(path: t.path, reason: "it is a directory")) { try r.resolve(.file(t.path)) }
        let missing = t.path + "/nope.pw"
        #expect(throws: SecretError.fileUnreadable(path: missing, reason: "no such file")) { try r.resolve(.file(missing)) }
        #expect("\(SecretError.fileUnreadable(path: missing, reason: "no such file"))".contains(missing))
    }

    @Test func envSecretMustBeSetAndNonEmpty() throws {
        let r = SecretResolver(environment: ["PW": "hunter2", "EMPTY": ""])
        #expect(try r.resolve(.env("PW")) == "hunter2")
        #expect(throws: SecretError.envUnset("FLEET_NOPE")) { try r.resolve(.env("FLEET_NOPE")) }
        #expect(throws: SecretError.envEmpty("EMPTY")) { try r.resolve(.env("EMPTY")) }
        #expect("\(SecretError.envUnset("FLEET_NOPE"))" == "secret environment variable FLEET_NOPE is not set")
    }

    @Test func sha512CryptHashesVerify() throws {
        let h = try PasswordHash.sha512Crypt("correct horse")
        #expect(h.hasPrefix("$6$"))
        #expect(h.split(separator: "$").count == 3 || h.split(separator: "$").count == 4)
        #expect(PasswordHash.verify("correct horse", hash: h))
        #expect(!PasswordHash.verify("correct horsE", hash: h))
        #expect(!PasswordHash.verify("correct horse", hash: "garbage"))
        #expect(!PasswordHash.verify("correct horse", hash: ""))
        // Fresh salt each time.
        #expect(try PasswordHash.sha512Crypt("correct horse") != h)
        // A known vector (glibc's sha512-crypt test suite).
        #expect(
            PasswordHash.verify(
                "Hello world!",
                hash:
                    "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"))
        #expect(throws: PasswordHashError.invalidPassword("is empty")) { try PasswordHash.sha512Crypt("") }
        #expect(throws: PasswordHashError.invalidPassword("contains a NUL byte")) { try PasswordHash.sha512Crypt("a\0b") }
    }
}

@Suite struct DigestTests {
    func fixture(_ t: TempDir) throws -> (Customization, SecretResolver, String, String) {
        let pw = try t.file("root.pw", "s3cret\n")
        let src = try t.file("files/ifcfg-eth0", "DEVICE=eth0\nIPADDR=10.0.0.5\n")
        let c = Customization(
            rootPassword: .file(pw), sshAuthorizedKeys: ["ssh-ed25519 AAAA ops"],
            files: [FileCopy(source: src, dest: "/etc/sysconfig/network-scripts/ifcfg-eth0", mode: 0o644, owner: "root:root")],
            hostname: true, timezone: "Asia/Shanghai", sysprep: SysprepOperation.allCases)
        return (c, SecretResolver(environment: [:]), pw, src)
    }

    @Test func stableForSameInputs() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (c, s, _, _) = try fixture(t)
        let a = try Customizer.digest(c, hostname: "web-1", secrets: s, fleet: "lab")
        #expect(a.count == 64)
        #expect(try Customizer.digest(c, hostname: "web-1", secrets: s, fleet: "lab") == a)
        // Sysprep order does not matter (the operations always run in one order).
        var reversed = c
        reversed.sysprep = c.sysprep.reversed()
        #expect(try Customizer.digest(reversed, hostname: "web-1", secrets: s, fleet: "lab") == a)
    }

    @Test func changesWithEveryInput() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (c, s, pw, src) = try fixture(t)
        let base = try Customizer.digest(c, hostname: "web-1", secrets: s, fleet: "lab")
        var seen: Set<String> = [base]
        func differs(_ d: String, _ what: Comment) {
            #expect(!seen.contains(d), what)
            seen.insert(d)
        }
        var m = c
        m.files[0].mode = 0o600
        differs(try Customizer.digest(m, hostname: "web-1", secrets: s, fleet: "lab"), "mode")
        m = c
        m.files[0].owner = "ops:ops"
        differs(try Customizer.digest(m, hostname: "web-1", secrets: s, fleet: "lab"), "owner")
        m = c
        m.files[0].dest = "/etc/other"
        differs(try Customizer.digest(m, hostname: "web-1", secrets: s, fleet: "lab"), "dest")
        m = c
        m.sshAuthorizedKeys.append("ssh-ed25519 BBBB two")
        differs(try Customizer.digest(m, hostname: "web-1", secrets: s, fleet: "lab"), "keys")
        m = c
        m.timezone = "UTC"
        differs(try Customizer.digest(m, hostname: "web-1", secrets: s, fleet: "lab"), "timezone")
        m = c
        m.sysprep = [.machineID]
        differs(try Customizer.digest(m, hostname: "web-1", secrets: s, fleet: "lab"), "sysprep")
        differs(try Customizer.digest(c, hostname: "web-2", secrets: s, fleet: "lab"), "hostname")
        differs(try Customizer.digest(c, hostname: "web-1", secrets: s, fleet: "prod"), "fleet salt")
        try Data("DEVICE=eth0\nIPADDR=10.0.0.6\n".utf8).write(to: URL(fileURLWithPath: src))
        differs(try Customizer.digest(c, hostname: "web-1", secrets: s, fleet: "lab"), "file content")
        try Data("other-secret\n".utf8).write(to: URL(fileURLWithPath: pw))
        differs(try Customizer.digest(c, hostname: "web-1", secrets: s, fleet: "lab"), "password")
    }

    @Test func neverContainsTheSecret() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (c, s, _, _) = try fixture(t)
        let inputs = try CustomizationInputs(c, hostname: "web-1", secrets: s, fleet: "lab")
        let json = String(decoding: try JSONEncoder().encode(inputs), as: UTF8.self)
        #expect(!json.contains("s3cret"))
        #expect(inputs.rootPassword?.hasPrefix("hmac-sha256x5000:") == true)
        // Image-level (no VM): hostname is not an input.
        #expect(try CustomizationInputs(c, hostname: nil, secrets: s).hostname == nil)
    }

    @Test func missingInputsAreClearErrors() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let c = Customization(rootPassword: .env("FLEET_TEST_UNSET_PW"))
        #expect(throws: SecretError.envUnset("FLEET_TEST_UNSET_PW")) {
            try Customizer.digest(c, hostname: nil, secrets: SecretResolver(environment: [:]))
        }
        let f = Customization(files: [FileCopy(source: t.path + "/absent", dest: "/x")])
        #expect(throws: CustomizeError.sourceFile(path: t.path + "/absent", reason: "no such file")) {
            try Customizer.digest(f, hostname: nil, secrets: SecretResolver(environment: [:]))
        }
    }

    /// Bad input is refused before libguestfs is even started.
    @Test func applyRejectsBadInputBeforeLaunch() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let s = SecretResolver(environment: [:])
        let disk = t.path + "/never-opened.img"
        #expect(throws: SecretError.envUnset("FLEET_TEST_UNSET_PW")) {
            try Customizer.apply(
                Customization(rootPassword: .env("FLEET_TEST_UNSET_PW")), hostname: nil, toDisk: disk, format: .raw, secrets: s)
        }
        #expect(throws: CustomizeError.invalidTimezone("../../etc/passwd")) {
            try Customizer.apply(Customization(timezone: "../../etc/passwd"), hostname: nil, toDisk: disk, format: .raw, secrets: s)
        }
        #expect(throws: CustomizeError.invalidHostname("bad host\nname")) {
            try Customizer.apply(Customization(hostname: true), hostname: "bad host\nname", toDisk: disk, format: .raw, secrets: s)
        }
        #expect(throws: CustomizeError.invalidSSHKey("a\nb")) {
            try Customizer.apply(Customization(sshAuthorizedKeys: ["a\nb"]), hostname: nil, toDisk: disk, format: .raw, secrets: s)
        }
        let src = try t.file("f", "x")
        #expect(throws: CustomizeError.invalidMode(dest: "/x", mode: 0o17777)) {
            try Customizer.apply(
                Customization(files: [FileCopy(source: src, dest: "/x", mode: 0o17777)]), hostname: nil,
                toDisk: disk, format: .raw, secrets: s)
        }
        #expect(!FileManager.default.fileExists(atPath: disk))
    }

    @Test func guestPathMapping() throws {
        #expect(try Customizer.windowsPath("C:\\Windows\\ifcfg-eth0") == "/Windows/ifcfg-eth0")
        #expect(try Customizer.windowsPath("c:/Program Files/app/x.ini") == "/Program Files/app/x.ini")
        #expect(try Customizer.windowsPath("\\Windows\\x") == "/Windows/x")
        #expect(try Customizer.windowsPath("/Windows/x") == "/Windows/x")
        #expect(throws: CustomizeError.invalidDestination("D:\\data\\x")) { try Customizer.windowsPath("D:\\data\\x") }
        #expect(throws: CustomizeError.invalidDestination("C:\\..\\x")) { try Customizer.windowsPath("C:\\..\\x") }
        #expect(throws: CustomizeError.invalidDestination("relative.txt")) { try Customizer.windowsPath("relative.txt") }
        #expect(try Customizer.linuxPath("/etc/x") == "/etc/x")
        #expect(throws: CustomizeError.invalidDestination("etc/x")) { try Customizer.linuxPath("etc/x") }
        #expect(throws: CustomizeError.invalidDestination("/etc/../x")) { try Customizer.linuxPath("/etc/../x") }
        #expect(Customizer.isValidTimezone("America/Argentina/Buenos_Aires") && Customizer.isValidTimezone("Etc/GMT+8"))
        #expect(!Customizer.isValidTimezone("Europe/../Paris") && !Customizer.isValidTimezone("/UTC") && !Customizer.isValidTimezone(""))
    }
}

@Suite struct CloudInitUnitTests {
    @Test func instanceIDFollowsContent() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let ud = try t.file("user-data", "#cloud-config\npackages: [nginx]\n")
        let spec = CloudInitSpec(userData: ud)
        let a = try CloudInitSeed.instanceID(spec, vmName: "web-1")
        #expect(a.hasPrefix("iid-") && a.count == 28)
        #expect(try CloudInitSeed.instanceID(spec, vmName: "web-1") == a)
        #expect(try CloudInitSeed.instanceID(spec, vmName: "web-2") != a)
        let nc = try t.file("net", "version: 2\n")
        #expect(try CloudInitSeed.instanceID(CloudInitSpec(userData: ud, networkConfig: nc), vmName: "web-1") != a)
        try Data("#cloud-config\npackages: [httpd]\n".utf8).write(to: URL(fileURLWithPath: ud))
        #expect(try CloudInitSeed.instanceID(spec, vmName: "web-1") != a)
        #expect(throws: CloudInitError.unreadable(path: t.path + "/none", reason: "no such file")) {
            try CloudInitSeed.instanceID(CloudInitSpec(userData: t.path + "/none"), vmName: "x")
        }
    }

    @Test func metaDataMerge() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let plain = try CloudInitSeed.read(CloudInitSpec())
        let iid = CloudInitSeed.instanceID(plain, vmName: "db")
        #expect(try CloudInitSeed.metaData(plain, vmName: "db") == "instance-id: \(iid)\nlocal-hostname: db\n")

        let md = try t.file(
            "md", "---\ninstance-id: user-chosen\n  continued\nlocal-hostname: custom\npublic-keys:\n  - ssh-ed25519 AAAA\n")
        let d = try CloudInitSeed.read(CloudInitSpec(metaData: md))
        let merged = try CloudInitSeed.metaData(d, vmName: "db")
        #expect(
            merged
                == "instance-id: \(CloudInitSeed.instanceID(d, vmName: "db"))\nlocal-hostname: custom\npublic-keys:\n  - ssh-ed25519 AAAA\n"
        )

        let json = try t.file("json", "{\"instance-id\": \"x\"}\n")
        #expect(throws: CloudInitError.metaDataNotAMapping(json)) {
            try CloudInitSeed.metaData(try CloudInitSeed.read(CloudInitSpec(metaData: json)), vmName: "db")
        }
    }
}
