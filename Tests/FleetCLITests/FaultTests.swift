import FleetTestSupport
import Foundation
import Testing

/// libvirtd killed with SIGKILL in the middle of an apply, and started again: the next apply converges, and no
/// object the run created is left without fleet's mark or ledger entry. The daemon killed is a private one
/// (scripts/faultd.sh: its own namespaces and state), so the rest of the suite keeps its daemon meanwhile.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] != nil && getuid() == 0,
        "needs root and a real libvirtd"))
struct FaultTests {
    let uri = "qemu+unix:///system?socket=/var/tmp/fleet-faultd/run/libvirt-sock"
    static let script = ValidateCLITests.repo.appendingPathComponent("scripts/faultd.sh").path

    func sh(_ script: String) -> (status: Int32, out: String) { shell(script) }

    func daemon(_ verb: String) throws {
        let r = shell("bash '\(Self.script)' \(verb) 2>&1")
        if r.status != 0 { throw TestFailure("faultd.sh \(verb) failed: \(r.out)") }
    }

    @Test func killedDaemonMidApplyConverges() throws {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let prefix = "ft-\(hex)-"
        let fleet = "ft\(hex)"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + "fault")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try daemon("down")
        try daemon("up")
        defer {
            try? daemon("down")
            try? FileManager.default.removeItem(at: dir)
        }
        try Data(
            """
            fleet: \(fleet)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(prefix)pool"}}
            networks: {\(prefix)net: {mode: isolated, subnet: 10.249.\(Int.random(in: 1...250)).0/24}}
            vms:
              \(prefix)vm:
                count: 12
                virt_type: qemu
                memory: 32MiB
                disks: [{size: 16MiB}, {name: data, size: 8MiB}]
                networks: [{network: \(prefix)net}]
                state: stopped
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))

        var interrupted = 0
        for delay in [0.4, 0.8, 1.2] {
            let p = Process()
            p.executableURL = try ValidateCLITests.fleetBinary()
            p.arguments = ["apply", dir.path, "--yes", "--parallelism", "4"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: delay)
            try daemon("kill")
            // fleet must notice the dead daemon and exit, never hang on it.
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            if p.isRunning {
                Issue.record("fleet apply still running 60 s after the daemon was killed at \(delay) s")
                kill(p.processIdentifier, SIGKILL)
            }
            p.waitUntilExit()
            try daemon("start")
            if p.terminationStatus != 0 { interrupted += 1 }

            // No object the run made is left without fleet's mark: every prefixed pool, network and volume is in
            // the ledger, every prefixed domain carries the owner element.
            let ledger = sh("virsh -c '\(uri)' dumpxml --inactive fleet-ledger-\(fleet)").out
            for name in sh("virsh -q -c '\(uri)' pool-list --all --name").out.split(separator: "\n").map({
                $0.trimmingCharacters(in: .whitespaces)
            }) where name.hasPrefix(prefix) {
                #expect(ledgerLists(ledger, name), "pool \(name) has no ledger entry after a daemon kill at \(delay) s")
            }
            for name in sh("virsh -q -c '\(uri)' net-list --all --name").out.split(separator: "\n").map({
                $0.trimmingCharacters(in: .whitespaces)
            }) where name.hasPrefix(prefix) {
                #expect(ledgerLists(ledger, name), "network \(name) has no ledger entry after a daemon kill at \(delay) s")
            }
            let vols = sh("virsh -q -c '\(uri)' vol-list \(prefix)pool 2>/dev/null | awk '{print $1}'").out
            for v in vols.split(separator: "\n") where !v.isEmpty {
                #expect(ledgerLists(ledger, "\(prefix)pool/\(v)"), "volume \(v) has no ledger entry after a daemon kill at \(delay) s")
            }
            for name in sh("virsh -q -c '\(uri)' list --all --name").out.split(separator: "\n").map({
                $0.trimmingCharacters(in: .whitespaces)
            }) where name.hasPrefix(prefix) {
                let xml = sh("virsh -c '\(uri)' dumpxml --inactive \(name)").out
                #expect(xml.contains("https://fleet.dev/xmlns/owner/1"), "domain \(name) has no mark after a daemon kill at \(delay) s")
            }

            // The dead run's lock is stale; an operator removes it; the next apply converges.
            let unlock = try ValidateCLITests.run(["unlock", "local", "--manifests", dir.path])
            #expect(unlock.status == 0, "\(unlock.stdout)\(unlock.stderr)")
            let again = try ValidateCLITests.run(["apply", dir.path, "--yes"])
            #expect(again.status == 0, "re-apply after a daemon kill at \(delay) s: \(again.stdout)\(again.stderr)")
            let check = try ValidateCLITests.run(["plan", dir.path, "--detailed-exitcode"])
            #expect(check.status == 0, "converged after a daemon kill at \(delay) s: \(check.stdout)")
            let destroy = try ValidateCLITests.run(["destroy", dir.path, "--yes"])
            #expect(destroy.status == 0, "\(destroy.stdout)\(destroy.stderr)")
        }
        #expect(interrupted > 0, "no daemon kill interrupted an apply")
    }
}
