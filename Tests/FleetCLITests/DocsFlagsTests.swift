import Foundation
import Testing

/// Every `--flag` the README and docs/ name exists in some subcommand's `--help`: docs never describe a flag
/// that does not exist (docs/ownership.md once described a `--prune` nobody had built).
@Suite struct DocsFlagsTests {
    /// Flags of other programs that the docs quote (virsh, swift, Terraform, systemd, libvirt, qemu-img, …).
    static let foreign: Set<String> = [
        "--inactive", "--config", "--live", "--remove", "--nvram", "--snapshots-metadata", "--details", "--all", "--name",
        "--persistent", "--undefinesource", "--unsafe", "--p2p", "--migrateuri", "--offline", "--pool", "--filter", "--skip",
        "--skip-build", "--build-tests", "--static-swift-stdlib", "--scratch-path", "--explicit-target-dependency-import-check",
        "--version", "--help", "--daemon", "--format", "--security", "--user", "--now", "--strict",
        "--backing-vol", "--disable", "--security-info", "--root"
    ]

    @Test func everyDocumentedFlagExists() throws {
        let repo = ValidateCLITests.repo
        var docs = [repo.appendingPathComponent("README.md")]
        docs += try FileManager.default.contentsOfDirectory(at: repo.appendingPathComponent("docs"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "md" }
        let top = try ValidateCLITests.run(["--help"]).stdout
        let commands = top.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("  "), let first = t.split(separator: " ").first, first.allSatisfy({ $0.isLetter }) else { return nil }
            return String(first)
        }
        #expect(commands.contains("apply") && commands.contains("unlock"), "\(commands)")
        var help = top
        for c in commands { help += try ValidateCLITests.run([c, "--help"]).stdout }
        let flag = try NSRegularExpression(pattern: "(?<![\\w-])--[a-z][a-z0-9-]+")
        for doc in docs {
            let text = try String(contentsOf: doc, encoding: .utf8)
            for m in flag.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let f = String(text[Range(m.range, in: text)!])
                if Self.foreign.contains(f) { continue }
                #expect(help.contains(f), "\(doc.lastPathComponent) names \(f), which no fleet subcommand has")
            }
        }
    }
}
