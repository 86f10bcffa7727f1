import FleetCLI
import Foundation
import Testing

/// `fleet --version` names the commit the binary was built from (Plugins/BuildInfo writes it before every build),
/// with `+dirty` when the tree had uncommitted changes, and `unknown` outside a git checkout of this package.
@Suite struct VersionCLITests {
    @Test func versionNamesTheCheckoutsCommit() throws {
        let r = try ValidateCLITests.run(["--version"])
        #expect(r.status == 0, "\(r.stderr)")
        let repo = ValidateCLITests.repo.path
        let git = "git -C '\(repo)' -c safe.directory='*'"
        let top = shell("\(git) rev-parse --show-toplevel").out.trimmingCharacters(in: .whitespacesAndNewlines)
        let expected: String
        if !top.isEmpty, URL(fileURLWithPath: top).resolvingSymlinksInPath() == URL(fileURLWithPath: repo).resolvingSymlinksInPath() {
            let commit = shell("\(git) rev-parse --short HEAD").out.trimmingCharacters(in: .whitespacesAndNewlines)
            let dirty = shell("\(git) status --porcelain").out.isEmpty ? "" : "+dirty"
            #expect(!commit.isEmpty)
            expected = "(\(commit)\(dirty))"
        } else {
            expected = "(unknown)"
        }
        #expect(r.stdout == "fleet \(FleetVersion.number) \(expected)\n", "\(r.stdout)")
    }
}
