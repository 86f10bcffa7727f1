import FleetModel
import Foundation
import Testing

@testable import FleetImages

/// The fleet key: what salts the root-password digests fleet records in libvirt (issue 10, "Secret handling").
@Suite struct FleetKeyTests {
    func customization(_ t: TempDir, password: String = "s3cret") throws -> Customization {
        Customization(rootPassword: .file(try t.file("root.pw", password + "\n")), hostname: true)
    }

    @Test func keyedDigestsCannotBeReproducedFromPublicInputs() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let c = try customization(t)
        let key = FleetKey.generate()
        let keyed = try Customizer.digest(c, hostname: "web-1", secrets: SecretResolver(environment: [:], fleetKey: key), fleet: "lab")
        let unkeyed = try Customizer.digest(c, hostname: "web-1", secrets: SecretResolver(environment: [:]), fleet: "lab")
        // What a reader of the marks can compute: everything but the key. None of it reproduces the digest.
        #expect(keyed != unkeyed)
        #expect(keyed.hasSuffix(".k\(key.id)"))
        #expect(String(keyed.prefix(64)).allSatisfy { $0.isHexDigit })
        let other = try Customizer.digest(
            c, hostname: "web-1", secrets: SecretResolver(environment: [:], fleetKey: .generate()), fleet: "lab")
        #expect(other != keyed)
        // Stable for the same key; a changed password still changes it.
        #expect(
            try Customizer.digest(c, hostname: "web-1", secrets: SecretResolver(environment: [:], fleetKey: key), fleet: "lab") == keyed)
        let changed = try customization(t, password: "other")
        #expect(
            try Customizer.digest(changed, hostname: "web-1", secrets: SecretResolver(environment: [:], fleetKey: key), fleet: "lab")
                != keyed)
        // The password's own digest names the key by id, never by value.
        let inputs = try CustomizationInputs(c, hostname: "web-1", secrets: SecretResolver(environment: [:], fleetKey: key), fleet: "lab")
        #expect(inputs.rootPassword?.hasPrefix("hmac-sha256x5000-k\(key.id):") == true)
        let json = String(decoding: try JSONEncoder().encode(inputs), as: UTF8.self)
        #expect(!json.contains(key.hex) && !json.contains("s3cret"))
    }

    @Test func withoutAPasswordTheKeyChangesNothing() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let c = Customization(files: [FileCopy(source: try t.file("motd", "hi\n"), dest: "/etc/motd")], hostname: true)
        let a = try Customizer.digest(c, hostname: "web-1", secrets: SecretResolver(environment: [:], fleetKey: .generate()), fleet: "lab")
        let b = try Customizer.digest(c, hostname: "web-1", secrets: SecretResolver(environment: [:]), fleet: "lab")
        #expect(a == b && a.count == 64)
    }

    @Test func seedInstanceIDsAreKeyed() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let spec = CloudInitSpec(
            userData: try t.file("user-data", "#cloud-config\n{}\n"), rootPassword: .file(try t.file("pw", "s3cret\n")))
        let key = FleetKey.generate()
        let keyed = try CloudInitSeed.instanceID(
            spec, vmName: "web-1", secrets: SecretResolver(environment: [:], fleetKey: key), fleet: "lab")
        let unkeyed = try CloudInitSeed.instanceID(spec, vmName: "web-1", secrets: SecretResolver(environment: [:]), fleet: "lab")
        #expect(keyed != unkeyed && keyed.hasPrefix("iid-"))
        #expect(
            try CloudInitSeed.instanceID(spec, vmName: "web-1", secrets: SecretResolver(environment: [:], fleetKey: key), fleet: "lab")
                == keyed)
    }

    @Test func keyFilesArePrivateAndNeverFollowed() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let path = t.path + "/.fleet-key"
        #expect(try FleetKey.load(path) == nil)
        let key = try FleetKey.create(path)
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(try FleetKey.load(path) == key)
        // Created exclusively: an existing file is never overwritten.
        #expect(throws: FleetKeyError.self) { try FleetKey.create(path) }
        #expect(try FleetKey.load(path) == key)
        // A symlink is refused, whether loading or creating through it.
        let link = t.path + "/link-key"
        #expect(symlink(path, link) == 0)
        #expect(throws: FleetKeyError.unreadable(path: link, reason: "not a regular file")) { try FleetKey.load(link) }
        let dangling = t.path + "/dangling"
        #expect(symlink(t.path + "/target", dangling) == 0)
        #expect(throws: FleetKeyError.self) { try FleetKey.create(dangling) }
        #expect(!FileManager.default.fileExists(atPath: t.path + "/target"))
        // Readable by others, or not 64 hex digits: an error, never a fresh key.
        chmod(path, 0o644)
        #expect(throws: FleetKeyError.self) { try FleetKey.load(path) }
        let bad = try t.file("bad-key", "not a key\n")
        chmod(bad, 0o600)
        #expect(throws: FleetKeyError.malformed(path: bad)) { try FleetKey.load(bad) }
    }

    @Test func keyPathIsBesideTheManifestsUnlessOverridden() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let file = try t.file("fleet.yaml", "fleet: x\n")
        #expect(FleetKey.path(forManifests: [t.path], environment: [:]) == t.path + "/.fleet-key")
        #expect(FleetKey.path(forManifests: [file], environment: [:]) == t.path + "/.fleet-key")
        #expect(FleetKey.path(forManifests: [t.path], environment: ["FLEET_KEY_FILE": "/srv/k"]) == "/srv/k")
        #expect(FleetKey(hex: String(repeating: "g", count: 64)) == nil)
        #expect(FleetKey.generate() != FleetKey.generate())
    }
}
