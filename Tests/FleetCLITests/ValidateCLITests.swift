import FleetTestSupport
import Foundation
import Testing

/// Runs the built `fleet` binary (`fleet validate`, `fleet schema`) and compares stdout and the exit code
/// with goldens in Golden/validate/ (FLEET_UPDATE_GOLDEN=1 rewrites them).
@Suite struct ValidateCLITests {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repo = testsDir.deletingLastPathComponent().deletingLastPathComponent()
    static let goldens = testsDir.appendingPathComponent("Golden/validate")

    /// The products directory holds the test bundle and the `fleet` executable side by side.
    static func fleetBinary() throws -> URL {
        var candidates: [URL] = []
        for b in [Bundle.main] + Bundle.allBundles {
            candidates.append(b.bundleURL.deletingLastPathComponent())
            candidates.append(b.bundleURL)
        }
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        for dir in candidates {
            let url = dir.appendingPathComponent("fleet")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
                FileManager.default.isExecutableFile(atPath: url.path)
            {
                return url
            }
        }
        throw CLIError.binaryNotFound(candidates.map(\.path))
    }
    enum CLIError: Error { case binaryNotFound([String]) }

    static func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = try fleetBinary()
        p.arguments = args
        p.currentDirectoryURL = repo
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static let corpus = "Tests/FleetManifestTests/Corpus"
    static let cases: [(String, [String])] = [
        ("examples-text", ["validate", "examples/quickstart", "examples/lab"]),
        ("examples-json", ["validate", "--format", "json", "examples/quickstart", "examples/lab"]),
        ("examples-merged", ["validate", "--merge", "examples/quickstart", "examples/lab"]),
        ("tabs-text", ["validate", "\(corpus)/tabs"]),
        ("tabs-json", ["validate", "--format", "json", "\(corpus)/tabs"]),
        ("tabs-github", ["validate", "--format", "github", "\(corpus)/tabs"]),
        ("unknown-keys-text", ["validate", "\(corpus)/unknown-keys"]),
        ("unknown-keys-json", ["validate", "--format=json", "\(corpus)/unknown-keys"]),
        ("unknown-keys-github", ["validate", "--format", "github", "\(corpus)/unknown-keys"]),
        ("graphics-github", ["validate", "--format", "github", "\(corpus)/graphics"]),
        ("warnings-only-text", ["validate", "\(corpus)/multi-document"]),
        ("warnings-only-json", ["validate", "--format", "json", "\(corpus)/multi-document"]),
        ("several-paths-text", ["validate", "\(corpus)/duplicate-key", "examples/quickstart", "\(corpus)/pci-snapshots"]),
        ("missing-path-text", ["validate", "no/such/dir"])
    ]

    @Test(arguments: cases.map(\.0))
    func validateGolden(_ name: String) throws {
        let args = try #require(Self.cases.first { $0.0 == name }?.1)
        let r = try Self.run(args)
        let actual = "$ fleet \(args.joined(separator: " "))\nexit \(r.status)\n---\n\(r.stdout)"
        let url = Self.goldens.appendingPathComponent(name + ".golden")
        let expected = try Golden.expected(url, actual: actual)
        #expect(actual == expected)
    }

    @Test func textFormatPrintsASummaryOnStderr() throws {
        let ok = try Self.run(["validate", "examples/quickstart"])
        #expect(ok.status == 0 && ok.stdout.isEmpty)
        #expect(ok.stderr == "examples/quickstart: 2 files, fleet quickstart is valid (2 VMs, 1 networks, 1 pools)\n")
        let bad = try Self.run(["validate", "\(Self.corpus)/unknown-keys"])
        #expect(bad.status == 1)
        #expect(bad.stderr == "\(Self.corpus)/unknown-keys: 1 file, 5 errors, 0 warnings\n")
        let json = try Self.run(["validate", "--format", "json", "\(Self.corpus)/unknown-keys"])
        #expect(json.stderr.isEmpty, "machine formats keep stderr quiet")
    }

    @Test func jsonOutputParses() throws {
        let r = try Self.run(["validate", "--format", "json", "\(Self.corpus)/ip-checks"])
        let items = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
        #expect(items?.count == 7)
        #expect(items?.first?["line"] as? Int == 8 && items?.first?["severity"] as? String == "error")
    }

    @Test func usageErrorsExitWithStatus2() throws {
        let r = try Self.run(["validate", "--format", "xml", "examples/quickstart"])
        // FleetCommand.runMain maps ArgumentParser usage errors to exit status 2.
        #expect(r.status == 2)
        #expect(r.stderr.contains("'xml' is invalid for '--format <format>'"))
    }

    @Test func schemaCommandPrintsTheCommittedSchema() throws {
        let r = try Self.run(["schema"])
        #expect(r.status == 0)
        let committed = try String(contentsOf: Self.repo.appendingPathComponent("schemas/fleet.schema.json"), encoding: .utf8)
        #expect(r.stdout == committed)
    }
}
