import Foundation
import Testing

/// `fleet apply` killed with SIGKILL at several points leaves only states that the next plan explains
/// and the next apply completes. Runs the real binary against the real libvirtd.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] != nil, "needs a real libvirtd"))
struct KillTests {
    let uri = ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] ?? ""

    @Test func killedApplyConverges() throws {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let prefix = "ft-\(hex)-"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + "kill")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            _ = try? ValidateCLITests.run(["destroy", dir.path, "--yes"])
            virshCleanup(uri: uri, prefix: prefix, fleet: "ft\(hex)")
            try? FileManager.default.removeItem(at: dir)
        }
        let octet = Int.random(in: 1...250)
        try Data(
            """
            fleet: ft\(hex)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(prefix)pool", autostart: true}}
            networks: {\(prefix)net: {mode: isolated, subnet: 10.254.\(octet).0/24, autostart: true}}
            vms:
              \(prefix)vm:
                count: 6
                virt_type: qemu
                memory: 32MiB
                disks: [{size: 16MiB}, {name: data, size: 8MiB}]
                networks: [{network: \(prefix)net}]
                state: stopped
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))

        func pending(_ out: String) -> Int { out.split(separator: "\n").filter { $0.hasPrefix("  + ") || $0.hasPrefix("  ~ ") }.count }
        let full = pending(try ValidateCLITests.run(["plan", dir.path]).stdout)
        // Kill points by progress, not by clock: after the k-th change finishes (apply --json prints one event
        // per line), so a run that waits for the host lock or a busy machine still gets killed half-way.
        var partial = 0
        for finished in [1, 2, 4, 7, 11, 16] {
            let p = Process()
            p.executableURL = try ValidateCLITests.fleetBinary()
            p.arguments = ["apply", dir.path, "--yes", "--json"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            var seen = 0
            var buffer = Data()
            while seen < finished {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                seen = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\"phase\":\"finish\"").count - 1
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let delay = "the \(finished)th change"
            let plan = try ValidateCLITests.run(["plan", dir.path])
            #expect(plan.status == 0, "after a kill after \(delay) the plan explains the state: \(plan.stdout)\(plan.stderr)")
            let left = pending(plan.stdout)
            if left > 0 && left < full { partial += 1 }
            // A killed run leaves its host lock behind: the next run reports it as stale (its process is
            // gone) and never takes it over silently; `fleet unlock` removes it, as an operator would. (Other
            // tests share the daemon: the lock may instead be held by a live run of theirs, which unlock leaves.)
            let blocked = try ValidateCLITests.run(["apply", dir.path, "--yes", "--lock-timeout", "0"])
            if blocked.status != 0 {
                // Stale (ours, or a run another test killed) or held by a live run: never taken over.
                #expect(blocked.stderr.contains("stale lock") || blocked.stderr.contains("is locked by"), "\(blocked.stderr)")
            }
            let unlock = try ValidateCLITests.run(["unlock", "local", "--manifests", dir.path])
            #expect(unlock.status == 0 || unlock.stderr.contains("is locked by"), "\(unlock.stdout)\(unlock.stderr)")
            let again = try ValidateCLITests.run(["apply", dir.path, "--yes"])
            #expect(again.status == 0, "re-apply after a kill after \(delay): \(again.stdout)\(again.stderr)")
            let check = try ValidateCLITests.run(["plan", dir.path, "--detailed-exitcode"])
            #expect(check.status == 0, "converged after a kill after \(delay): \(check.stdout)")
            let destroy = try ValidateCLITests.run(["destroy", dir.path, "--yes"])
            #expect(destroy.status == 0, "\(destroy.stdout)\(destroy.stderr)")
        }
        // The test means something only if some kill landed in the middle of an apply.
        #expect(partial > 0, "no kill interrupted an apply half-way (\(full) changes in a full plan)")
    }
}

extension KillTests {
    /// SIGINT during apply: operations in flight finish, none starts after, the summary says what was
    /// skipped, and the next apply completes.
    @Test func interruptFinishesInFlightAndStartsNothingNew() throws {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let prefix = "ft-\(hex)-"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + "int")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            _ = try? ValidateCLITests.run(["destroy", dir.path, "--yes"])
            virshCleanup(uri: uri, prefix: prefix, fleet: "ft\(hex)")
            try? FileManager.default.removeItem(at: dir)
        }
        try Data(
            """
            fleet: ft\(hex)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(prefix)pool"}}
            vms:
              \(prefix)vm:
                count: 20
                virt_type: qemu
                memory: 32MiB
                disks: [{size: 16MiB}, {name: data, size: 8MiB}]
                state: stopped
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))

        let p = Process()
        p.executableURL = try ValidateCLITests.fleetBinary()
        p.arguments = ["apply", dir.path, "--yes", "--parallelism", "1"]
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Interrupt as soon as the first change has applied.
        var stdout = ""
        let handle = out.fileHandleForReading
        var interrupted = false
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            stdout += String(decoding: chunk, as: UTF8.self)
            if !interrupted && stdout.contains(" applied") {
                kill(p.processIdentifier, SIGINT)
                interrupted = true
            }
        }
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(interrupted)
        #expect(p.terminationStatus == 1, "an interrupted apply did not do everything: \(stdout)")
        #expect(stderr.contains("interrupt: finishing running operations, starting no new ones"))
        #expect(stdout.contains("interrupted before it started"))
        #expect(stdout.contains("Apply: "), "the summary is printed")

        let again = try ValidateCLITests.run(["apply", dir.path, "--yes"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(try ValidateCLITests.run(["plan", dir.path, "--detailed-exitcode"]).status == 0)
    }
}

/// Removes, with virsh, whatever a failed test left behind under its prefix.
func virshCleanup(uri: String, prefix: String, fleet: String) {
    let script = """
        for d in $(virsh -q -c '\(uri)' list --all --name | grep -E '^(\(prefix)|fleet-ledger-\(fleet)$)'); do
          virsh -q -c '\(uri)' destroy "$d" >/dev/null 2>&1; virsh -q -c '\(uri)' undefine "$d" --nvram --snapshots-metadata >/dev/null 2>&1; done
        for n in $(virsh -q -c '\(uri)' net-list --all --name | grep '^\(prefix)'); do
          virsh -q -c '\(uri)' net-destroy "$n" >/dev/null 2>&1; virsh -q -c '\(uri)' net-undefine "$n" >/dev/null 2>&1; done
        for p in $(virsh -q -c '\(uri)' pool-list --all --name | grep '^\(prefix)'); do
          for v in $(virsh -q -c '\(uri)' vol-list "$p" 2>/dev/null | awk 'NR>2 {print $1}'); do virsh -q -c '\(uri)' vol-delete "$v" --pool "$p" >/dev/null 2>&1; done
          virsh -q -c '\(uri)' pool-destroy "$p" >/dev/null 2>&1; virsh -q -c '\(uri)' pool-undefine "$p" >/dev/null 2>&1; done
        rm -rf /var/lib/libvirt/images/\(prefix)pool
        """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    try? p.run()
    p.waitUntilExit()
}
