import FleetTestSupport
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
        (
            "plan-two-hosts",
            [
                "plan", dir.appendingPathComponent("Plan/two-hosts").path, "--connect", "a=test://\(fixture)",
                "--connect", "b=test:///no/such/fixture.xml"
            ]
        ),
        ("show-text", ["show", "--connect", "test://\(fixture)"]),
        // Markdown for pull requests: a refusal first, then the rest.
        ("plan-markdown", ["plan", manifests, "--connect", "test://\(fixture)", "--format", "markdown"]),
        // Deletions that destroy data, a refusal, and a VM named `<b>|x` that must not break the table.
        (
            "plan-markdown-hostile",
            ["plan", dir.appendingPathComponent("Plan/hostile").path, "--connect", "test://\(hostile)", "--format", "markdown"]
        ),
        (
            "plan-markdown-two-hosts",
            [
                "plan", dir.appendingPathComponent("Plan/two-hosts").path, "--connect", "a=test://\(fixture)",
                "--connect", "b=test:///no/such/fixture.xml", "--format", "markdown"
            ]
        ),
        // The examples, on the test driver's default host (cwd is the repository).
        ("plan-markdown-quickstart", ["plan", "examples/quickstart", "--connect", "test:///default", "--format", "markdown"]),
        (
            "plan-markdown-empty",
            ["plan", dir.appendingPathComponent("Plan/empty").path, "--connect", "test:///default", "--format", "markdown"]
        ),
        ("plan-format-conflict", ["plan", manifests, "--json", "--format", "markdown"]),
        // Placement over two hosts: a spread group, a VM with one candidate, one that no host can take.
        (
            "plan-placement",
            [
                "plan", dir.appendingPathComponent("Plan/placement").path, "--connect", "a=test://\(fixture)",
                "--connect", "b=test://\(fixture)"
            ]
        ),
        (
            "plan-placement-markdown",
            [
                "plan", dir.appendingPathComponent("Plan/placement").path, "--connect", "a=test://\(fixture)",
                "--connect", "b=test://\(fixture)", "--format", "markdown"
            ]
        ),
        // Rollouts: a count: group and a profile's group in waves; --max-unavailable recuts both.
        ("plan-rollout", ["plan", rollout, "--connect", "test://\(rolloutHost)"]),
        ("plan-rollout-json", ["plan", rollout, "--connect", "test://\(rolloutHost)", "--json"]),
        (
            "plan-rollout-markdown",
            ["plan", rollout, "--connect", "test://\(rolloutHost)", "--max-unavailable", "2", "--format", "markdown"]
        ),
        ("apply-max-unavailable-zero", ["apply", rollout, "--connect", "test://\(rolloutHost)", "--max-unavailable", "0"])
    ]
    static let rollout = dir.appendingPathComponent("Plan/rollout").path
    static let rolloutHost = dir.appendingPathComponent("Plan/rollout.xml").path
    static let hostile = dir.appendingPathComponent("Plan/hostile.xml").path

    @Test(arguments: cases.map(\.0))
    func golden(_ name: String) throws {
        let args = try #require(Self.cases.first { $0.0 == name }?.1)
        let r = try ValidateCLITests.run(args)
        // The fixture's absolute path differs per checkout.
        let shown = args.map { $0.replacingOccurrences(of: Self.dir.path, with: "$TESTS") }
        var actual =
            "$ fleet \(shown.joined(separator: " "))\nexit \(r.status)\n---\n"
            + (r.stdout + (r.stdout.isEmpty ? r.stderr : "")).replacingOccurrences(of: Self.dir.path, with: "$TESTS")
        // The fingerprint covers the host URI, which holds the checkout's path.
        let fp = try NSRegularExpression(pattern: "\"liveFingerprint\" : \"[0-9a-f]+\"")
        actual = fp.stringByReplacingMatches(
            in: actual, range: NSRange(actual.startIndex..., in: actual),
            withTemplate: "\"liveFingerprint\" : \"FINGERPRINT\"")
        // The manifest tree's identity names the checkout (its origin, or machine and path).
        let tree = try NSRegularExpression(pattern: "\"tree\" : \"[^\"]*\"")
        actual = tree.stringByReplacingMatches(
            in: actual, range: NSRange(actual.startIndex..., in: actual),
            withTemplate: "\"tree\" : \"TREE\"")
        let url = Self.goldens.appendingPathComponent(name + ".golden")
        let expected = try Golden.expected(url, actual: actual)
        #expect(actual == expected)
    }

    /// A saved plan is recomputed at apply: a host that changed since (here an unmanaged domain took the name of a
    /// VM the plan creates) gives another plan, and apply refuses, naming the difference.
    @Test func savedPlanIsRefusedWhenTheHostChanged() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let host = tmp.appendingPathComponent("host.xml").path
        let out = tmp.appendingPathComponent("p.plan").path
        let fixture = try String(contentsOfFile: Self.fixture, encoding: .utf8)
        try Data(fixture.utf8).write(to: URL(fileURLWithPath: host))
        let r = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(host)", "--out", out, "--json"])
        #expect(r.status == 1, "the plan has a refused change")
        let saved = try String(contentsOfFile: out, encoding: .utf8)
        #expect(saved.contains("\"manifests\""), "a saved plan records its manifests' digests")
        let changed = fixture.replacingOccurrences(
            of: "  <domain type='test'>",
            with: """
                  <domain type='test'>
                    <name>cli-db</name>
                    <memory>65536</memory>
                    <os><type>hvm</type></os>
                  </domain>
                  <domain type='test'>
                """, options: [], range: fixture.range(of: "  <domain type='test'>"))
        try Data(changed.utf8).write(to: URL(fileURLWithPath: host))
        let apply = try ValidateCLITests.run(["apply", out, "--yes"])
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("differs from the saved plan") && apply.stderr.contains("vm/cli-db"), "\(apply.stderr)")
    }

    /// A saved plan keeps the waves it was cut with (`--max-unavailable` of `fleet plan`): `apply FILE` recomputes
    /// the same ones, and refuses an `--max-unavailable` of its own.
    @Test func savedPlanCarriesItsWaves() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("p.plan").path
        let host = "test://\(Self.rolloutHost)"
        let r = try ValidateCLITests.run(["plan", Self.rollout, "--connect", host, "--max-unavailable", "2", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let saved = try String(contentsOfFile: out, encoding: .utf8)
        #expect(saved.contains("\"maxUnavailable\" : 2") && saved.contains("\"rollouts\""), "\(saved.prefix(400))")
        let refused = try ValidateCLITests.run(["apply", out, "--max-unavailable", "1", "--yes"])
        #expect(refused.status == 2 && refused.stderr.contains("give --max-unavailable to `fleet plan --out`"), "\(refused.stderr)")
        // Recomputed with the saved budget, the plan equals the saved one: apply gets as far as asking to confirm.
        let apply = try ValidateCLITests.run(["apply", out])
        #expect(!apply.stderr.contains("differs"), "\(apply.stderr)")
        #expect(apply.stdout.contains("rollout web: 2 waves of at most 2 of 3 VMs (--max-unavailable 2)"), "\(apply.stdout)")
        #expect(apply.stderr.contains("no terminal to confirm"), "\(apply.stderr)")
    }

    /// `--json` is `--format json`.
    @Test func jsonIsFormatJSON() throws {
        let a = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)", "--json"])
        let b = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)", "--format", "json"])
        #expect(a.status == b.status && a.stdout == b.stdout && a.stdout.hasPrefix("{"), "\(a.stdout.prefix(200))")
    }

    @Test func secretsAreRedacted() throws {
        let r = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)", "--json"])
        #expect(!r.stdout.contains("CLI_VNC_PASSWORD") || r.stdout.contains("\"sensitive\" : true"))
        let text = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)"])
        #expect(text.stdout.contains("graphics.password: (sensitive)"))
        let markdown = try ValidateCLITests.run(["plan", Self.manifests, "--connect", "test://\(Self.fixture)", "--format", "markdown"])
        #expect(markdown.stdout.contains("graphics.password: <code>(sensitive)</code>"), "\(markdown.stdout)")
    }
}
