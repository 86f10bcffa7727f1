import Foundation
import Testing

/// `fleet plan` / `fleet drift` / `fleet show` run as a binary against a test-driver host fixture,
/// stdout and exit code compared with Golden/plan/ (FLEET_UPDATE_GOLDEN=1 rewrites them).
@Suite struct PlanCLITests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixture = dir.appendingPathComponent("Plan/host.xml").path
    static let manifests = dir.appendingPathComponent("Plan/manifests").path
    static let goldens = dir.appendingPathComponent("Golden/plan")

    static let cases: [(String, [String])] = [
        ("plan-text", ["plan", manifests, "--connect", "test://\(fixture)"]),
        ("plan-detailed", ["plan", manifests, "--connect", "test://\(fixture)", "--detailed-exitcode"]),
        ("plan-json", ["plan", manifests, "--connect", "test://\(fixture)", "--json"]),
        ("plan-target", ["plan", manifests, "--connect", "test://\(fixture)", "--target", "vm/cli-db"]),
        ("plan-adopt", ["plan", manifests, "--connect", "test://\(fixture)", "--adopt"]),
        ("plan-bad-target", ["plan", manifests, "--target", "nope"]),
        ("plan-unreachable", ["plan", manifests, "--connect", "test:///no/such/fixture.xml"]),
        ("drift-text", ["drift", manifests, "--connect", "test://\(fixture)"]),
        // One host unreachable: an error for that host, exit 1, the other host still planned.
        ("plan-two-hosts", ["plan", dir.appendingPathComponent("Plan/two-hosts").path, "--connect", "a=test://\(fixture)",
                            "--connect", "b=test:///no/such/fixture.xml"]),
        ("show-text", ["show", "--connect", "test://\(fixture)"]),
    ]

    @Test(arguments: cases.map(\.0))
    func golden(_ name: String) throws {
        let args = try #require(Self.cases.first { $0.0 == name }?.1)
        let r = try ValidateCLITests.run(args)
        // The fixture's absolute path differs per checkout.
        let shown = args.map { $0.replacingOccurrences(of: Self.dir.path, with: "$TESTS") }
        var actual = "$ fleet \(shown.joined(separator: " "))\nexit \(r.status)\n---\n"
            + (r.stdout + (r.stdout.isEmpty ? r.stderr : "")).replacingOccurrences(of: Self.dir.path, with: "$TESTS")
        // The fingerprint covers the host URI, which holds the checkout's path.
        let fp = try NSRegularExpression(pattern: "\"liveFingerprint\" : \"[0-9a-f]+\"")
        actual = fp.stringByReplacingMatches(in: actual, range: NSRange(actual.startIndex..., in: actual),
                                             withTemplate: "\"liveFingerprint\" : \"FINGERPRINT\"")
        let url = Self.goldens.appendingPathComponent(name + ".golden")
        if ProcessInfo.processInfo.environment["FLEET_UPDATE_GOLDEN"] == "1" { try Data(actual.utf8).write(to: url) }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected)
    }

    @Test func savedPlanIsRefusedWhenTheHostChanged() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-plan-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)", "--out", out, "--json"])
        #expect(r.status == 1, "the plan has a refused change")
        let saved = try String(contentsOfFile: out, encoding: .utf8)
        #expect(saved.contains("\"liveFingerprint\""))
        // A test-driver file opens fresh each time, so the world is unchanged: but the saved plan's
        // fingerprint is checked against it; tamper with it to simulate a change.
        let tampered = saved.replacingOccurrences(of: "\"liveFingerprint\" : \"", with: "\"liveFingerprint\" : \"0")
        try Data(tampered.utf8).write(to: URL(fileURLWithPath: out))
        let apply = try ValidateCLITests.run(["apply", out, "--yes"])
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("the hosts changed since this plan was made"))
    }

    @Test func secretsAreRedacted() throws {
        let r = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)", "--json"])
        #expect(!r.stdout.contains("CLI_VNC_PASSWORD") || r.stdout.contains("\"sensitive\" : true"))
        let text = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)"])
        #expect(text.stdout.contains("graphics.password: (sensitive)"))
    }
}
