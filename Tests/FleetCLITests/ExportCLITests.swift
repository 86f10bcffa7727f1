import Foundation
import Testing

/// `fleet export` run as a binary against a test-driver fixture of an estate fleet never made: the text is compared
/// with Golden/export/ (FLEET_UPDATE_GOLDEN=1 rewrites it), and the exported manifest plans only adoptions.
@Suite struct ExportCLITests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixture = dir.appendingPathComponent("Export/host.xml").path
    static let goldens = dir.appendingPathComponent("Golden/export")

    static let cases: [(String, [String])] = [
        ("export-all", ["export", "--connect", "test://\(fixture)", "--fleet", "estate"]),
        ("export-select", ["export", "--connect", "test://\(fixture)", "--fleet", "estate", "--select", "vm/legacy"]),
        ("export-no-fleet", ["export", "--connect", "test://\(fixture)"]),
        ("export-bad-select", ["export", "--connect", "test://\(fixture)", "--fleet", "estate", "--select", "image/x"]),
        // PATH: the fleet name and the host (with its declared URI) come from the manifests; --connect says where to read.
        (
            "export-path",
            [
                "export", dir.appendingPathComponent("Export/manifests").path, "--connect", "test://\(fixture)",
                "--select", "network/lab"
            ]
        ),
        ("export-missing", ["export", "--connect", "test://\(fixture)", "--fleet", "estate", "--select", "vm/nope"])
    ]

    @Test(arguments: cases.map(\.0))
    func golden(_ name: String) throws {
        let args = try #require(Self.cases.first { $0.0 == name }?.1)
        let r = try ValidateCLITests.run(args)
        let shown = args.map { $0.replacingOccurrences(of: Self.dir.path, with: "$TESTS") }
        let actual =
            "$ fleet \(shown.joined(separator: " "))\nexit \(r.status)\n---\n"
            + (r.stdout + (r.stdout.isEmpty ? r.stderr : "")).replacingOccurrences(of: Self.dir.path, with: "$TESTS")
        let url = Self.goldens.appendingPathComponent(name + ".golden")
        if ProcessInfo.processInfo.environment["FLEET_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.goldens, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected)
    }

    /// The export loads without diagnostics, and planning it against the same host with --adopt gives only
    /// adoptions: the VM, its two volumes, the pool and the network.
    @Test func exportPlansOnlyAdoptions() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let r = try ValidateCLITests.run([
            "export", "--connect", "test://\(Self.fixture)", "--fleet", "estate", "--out", tmp.path,
            "--select", "vm/legacy"
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOf: tmp.appendingPathComponent("fleet.yaml"), encoding: .utf8)
        #expect(text.hasPrefix("# yaml-language-server: $schema=fleet.schema.json\n"))
        #expect(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("fleet.schema.json").path))
        let v = try ValidateCLITests.run(["validate", tmp.path])
        #expect(v.status == 0 && !v.stderr.contains("warning"), "\(v.stdout)\(v.stderr)")

        let p = try ValidateCLITests.run(["plan", tmp.path, "--connect", "test://\(Self.fixture)", "--adopt", "--json"])
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any], "\(p.stderr)")
        let changes = ((plan["hosts"] as? [[String: Any]]) ?? []).flatMap { ($0["changes"] as? [[String: Any]]) ?? [] }
        let summary = changes.map {
            "\($0["action"] ?? "?") \(($0["object"] as? [String: Any]).map { "\($0["kind"] ?? "")/\($0["name"] ?? "")" } ?? "?")"
        }
        #expect(
            Set(summary) == [
                "adopt vm/legacy", "adopt volume/images/debian12.qcow2", "adopt volume/images/data.img",
                "adopt pool/images", "adopt network/lab"
            ], "\(summary)\n\(p.stdout)")

        // A second export never overwrites the first.
        let again = try ValidateCLITests.run(["export", "--connect", "test://\(Self.fixture)", "--fleet", "estate", "--out", tmp.path])
        #expect(again.status == 1 && again.stderr.contains("exists"), "\(again.stderr)")
    }
}
