import FleetTestSupport
import Foundation
import Testing

@testable import FleetCLI

/// `fleet inventory` and `fleet show --sort` as a binary against a test-driver fixture (Plan/inventory.xml: fleet
/// "inv"'s web-1 and web-2 of group web with profile small, a stopped db, another fleet's VM, an unmanaged domain),
/// with goldens in Golden/inventory/ (FLEET_UPDATE_GOLDEN=1 rewrites them); and Ansible's own parser on the output.
@Suite struct InventoryCLITests {
    static let dir = PlanCLITests.dir
    static let fixture = dir.appendingPathComponent("Plan/inventory.xml").path
    static let manifests = dir.appendingPathComponent("Plan/inventory").path
    static let goldens = dir.appendingPathComponent("Golden/inventory")

    static let cases: [(String, [String])] = [
        ("inventory-ansible", ["inventory", manifests, "--connect", "test://\(fixture)"]),
        ("inventory-json", ["inventory", manifests, "--connect", "test://\(fixture)", "--format", "json"]),
        ("inventory-every-fleet", ["inventory", "--connect", "test://\(fixture)", "--format", "json"]),
        ("inventory-host", ["inventory", manifests, "--connect", "test://\(fixture)", "--host", "web-1"]),
        ("inventory-unreachable", ["inventory", manifests, "--connect", "test:///no/such/fixture.xml"]),
        (
            "show-two-hosts-sort-memory",
            [
                "show", dir.appendingPathComponent("Plan/two-hosts").path, "--connect", "a=test://\(PlanCLITests.fixture)",
                "--connect", "b=test://\(fixture)", "--sort", "memory"
            ]
        ),
        ("show-bad-sort", ["show", "--connect", "test://\(fixture)", "--sort", "colour"])
    ]

    @Test(arguments: cases.map(\.0))
    func golden(_ name: String) throws {
        let args = try #require(Self.cases.first { $0.0 == name }?.1)
        let r = try ValidateCLITests.run(args)
        let shown = args.map { $0.replacingOccurrences(of: Self.dir.path, with: "$TESTS") }
        let actual =
            "$ fleet \(shown.joined(separator: " "))\nexit \(r.status)\n---\n"
            + (r.stdout + (r.stderr.isEmpty ? "" : "--- stderr\n" + r.stderr)).replacingOccurrences(of: Self.dir.path, with: "$TESTS")
        try FileManager.default.createDirectory(at: Self.goldens, withIntermediateDirectories: true)
        let expected = try Golden.expected(Self.goldens.appendingPathComponent(name + ".golden"), actual: actual)
        #expect(actual == expected)
    }

    /// The inventory as Ansible reads it: a script that runs `fleet inventory` (Ansible passes `--list`), parsed by
    /// `ansible-inventory --list`, gives every VM of the fleet with its address and groups, and no other VM.
    @Test func ansibleInventoryReadsIt() throws {
        guard shell("command -v ansible-inventory").status == 0 else {
            print("skipped: ansible-inventory is not installed (scripts/setup.sh installs Debian's ansible-core)")
            return
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-inventory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let script = work.appendingPathComponent("fleet-inventory.sh")
        let binary = try ValidateCLITests.fleetBinary().path
        try Data("#!/bin/sh\nexec '\(binary)' inventory '\(Self.manifests)' --connect 'test://\(Self.fixture)' \"$@\"\n".utf8).write(
            to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let r = shell(
            "cd '\(work.path)' && ANSIBLE_LOCAL_TEMP='\(work.path)' ANSIBLE_HOME='\(work.path)' ANSIBLE_INVENTORY_UNPARSED_FAILED=1 "
                + "ansible-inventory -i '\(script.path)' --list")
        #expect(r.status == 0, "\(r.out)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        let hostvars = try #require((json["_meta"] as? [String: Any])?["hostvars"] as? [String: [String: Any]], "\(r.out)")
        #expect(Set(hostvars.keys) == ["web-1", "web-2", "db"], "\(hostvars.keys)")
        #expect(hostvars["web-1"]?["ansible_host"] as? String == "192.168.122.2", "\(hostvars)")
        #expect(hostvars["db"]?["fleet_state"] as? String == "shutoff", "\(hostvars)")
        #expect(Set((json["web"] as? [String: Any])?["hosts"] as? [String] ?? []) == ["web-1", "web-2"], "\(json)")
        #expect(Set((json["profile_small"] as? [String: Any])?["hosts"] as? [String] ?? []) == ["web-1", "web-2"], "\(json)")
        #expect((json["db"] as? [String: Any])?["hosts"] as? [String] == ["db"], "\(json)")
    }
}
