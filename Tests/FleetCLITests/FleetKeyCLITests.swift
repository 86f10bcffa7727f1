import Foundation
import Testing

/// The fleet key beside the manifests: created by the first plan of a fleet that declares a root password,
/// private, reused afterwards, and never read through a symlink. Runs the real binary on the test driver.
@Suite struct FleetKeyCLITests {
    func manifests(password: Bool) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ft-key-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("s3cret\n".utf8).write(to: dir.appendingPathComponent("root.pw"))
        try Data("#cloud-config\n{}\n".utf8).write(to: dir.appendingPathComponent("user-data.yaml"))
        try Data(
            """
            fleet: keytest
            hosts: {h: {uri: "test:///default"}}
            pools: {kp: {type: dir, path: /var/tmp/ft-key-pool}}
            vms:
              kvm:
                virt_type: qemu
                memory: 64MiB
                disks: [{size: 1GiB}]
                cloud_init: {user_data: user-data.yaml\(password ? ", root_password: {file: root.pw}" : "")}
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))
        return dir
    }

    @Test func firstPlanCreatesAPrivateKeyThatLaterPlansReuse() throws {
        let dir = try manifests(password: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent(".fleet-key").path
        let first = try ValidateCLITests.run(["plan", dir.path])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stderr.contains("created the fleet key \(key)"), "\(first.stderr)")
        let attrs = try FileManager.default.attributesOfItem(atPath: key)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let content = try String(contentsOfFile: key, encoding: .utf8)
        let second = try ValidateCLITests.run(["plan", dir.path])
        #expect(second.status == 0 && !second.stderr.contains("created"), "\(second.stderr)")
        #expect(try String(contentsOfFile: key, encoding: .utf8) == content)
        // The plan shows the seed's instance-id, never the password or the key.
        #expect(!first.stdout.contains("s3cret") && !first.stdout.contains(content.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func noKeyWithoutAPassword() throws {
        let dir = try manifests(password: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try ValidateCLITests.run(["plan", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".fleet-key").path))
    }

    @Test func aSymlinkedOrSharedKeyIsAnError() throws {
        let dir = try manifests(password: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent(".fleet-key").path
        let elsewhere = dir.appendingPathComponent("elsewhere").path
        #expect(symlink(elsewhere, key) == 0)
        let r = try ValidateCLITests.run(["plan", dir.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains(key), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
        unlink(key)
        try Data((String(repeating: "ab", count: 32) + "\n").utf8).write(to: URL(fileURLWithPath: key))
        chmod(key, 0o644)
        let shared = try ValidateCLITests.run(["plan", dir.path])
        #expect(shared.status == 1 && shared.stderr.contains("chmod 600"), "\(shared.stderr)")
    }
}

/// On the real daemon: what apply records with the key is what the next plan computes (no change), a
/// keyless run sees the difference, and nothing libvirt holds contains the password or the key.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] != nil, "needs a real libvirtd"))
struct FleetKeySystemTests {
    let uri = ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] ?? ""

    @Test func keyedSeedsConverge() throws {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let prefix = "ft-\(hex)-"
        let fleet = "ft\(hex)"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)key")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            _ = try? ValidateCLITests.run(["destroy", dir.path, "--yes", "--allow-destroy"])
            virshCleanup(uri: uri, prefix: prefix, fleet: fleet)
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(atPath: "/var/tmp/\(prefix)pool")
        }
        try Data("s3cret-\(hex)\n".utf8).write(to: dir.appendingPathComponent("root.pw"))
        try Data("#cloud-config\n{}\n".utf8).write(to: dir.appendingPathComponent("user-data.yaml"))
        try Data(
            """
            fleet: \(fleet)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(prefix)pool: {type: dir, path: /var/tmp/\(prefix)pool}}
            vms:
              \(prefix)vm:
                virt_type: qemu
                memory: 64MiB
                state: stopped
                disks: [{size: 16MiB}]
                cloud_init: {user_data: user-data.yaml, root_password: {file: root.pw}}
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))
        let apply = try ValidateCLITests.run(["apply", dir.path, "--yes"])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let key = try String(contentsOfFile: dir.appendingPathComponent(".fleet-key").path, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let again = try ValidateCLITests.run(["plan", dir.path, "--detailed-exitcode"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        // Nothing libvirt holds names the key or the password.
        let ledger = FleetCLITests.virsh(uri, ["dumpxml", "fleet-ledger-\(fleet)"]).out
        let domain = FleetCLITests.virsh(uri, ["dumpxml", "\(prefix)vm"]).out
        #expect(!ledger.isEmpty && !domain.isEmpty)
        for text in [ledger, domain] { #expect(!text.contains(key) && !text.contains("s3cret-\(hex)")) }
        // Drift without the key cannot confirm the seed: it says so rather than passing silently.
        try FileManager.default.moveItem(atPath: dir.appendingPathComponent(".fleet-key").path, toPath: dir.path + "-saved-key")
        defer { try? FileManager.default.removeItem(atPath: dir.path + "-saved-key") }
        let drift = try ValidateCLITests.run(["drift", dir.path])
        #expect(drift.stderr.contains("no fleet key"), "\(drift.stderr)")
        #expect(drift.status != 0, "\(drift.stdout)")
        try FileManager.default.moveItem(atPath: dir.path + "-saved-key", toPath: dir.appendingPathComponent(".fleet-key").path)
        #expect(try ValidateCLITests.run(["drift", dir.path]).status == 0)
    }
}
