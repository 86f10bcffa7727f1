import Foundation
import Testing

/// `fleet apply --wait[=MODE,TIMEOUT]`: a malformed value is a usage error (exit 2) before anything is read;
/// a bare `--wait` does not swallow the path after it.
@Suite struct WaitFlagTests {
    @Test func malformedWaitIsAUsageError() throws {
        let r = try ValidateCLITests.run(["apply", "--wait=soon", "/nonexistent-fleet-dir"])
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains("--wait=soon: expected a timeout"), "\(r.stderr)")
        let zero = try ValidateCLITests.run(["apply", "--wait=0s", "/nonexistent-fleet-dir"])
        #expect(zero.status == 2, "\(zero)")
    }

    @Test func bareWaitLeavesThePathAlone() throws {
        let r = try ValidateCLITests.run(["apply", "--wait", "/nonexistent-fleet-dir", "--yes"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("/nonexistent-fleet-dir") && !r.stderr.contains("--wait"), "\(r.stderr)")
        let both = try ValidateCLITests.run(["apply", "--wait=agent,10m", "/nonexistent-fleet-dir", "--yes"])
        #expect(both.status == 1 && !both.stderr.contains("--wait"), "\(both)")
    }
}
