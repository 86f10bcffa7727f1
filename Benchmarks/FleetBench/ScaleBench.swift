// `fleet-bench scale [NS=100,1000,10000] [HOSTS=1,5,20]`: plan time and peak memory as the fleet grows, over
// several daemons. For each host count H, `scripts/scalehosts.sh up H` starts H libvirtd daemons (their test
// drivers, each its own state); for each N, a fleet of N VMs spread evenly over them (issue 12's workload: 64 MiB,
// a 1 GiB qcow2 volume, a NIC on an isolated network, VNC; defined, not started) plus a pool and a network per
// host is applied from nothing, then `fleet plan --detailed-exitcode` (the release binary beside this one) runs
// three times as a child process: it must exit 0 (nothing to do), and its wall time and peak RSS
// (GNU time's %M) are reported. Prints a table, and CSV lines (`csv,…`) for Benchmarks/plot_scale.py.
// Run from the repository root, as root. The daemons are stopped at the end.
import Dispatch
import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

func scaleBenchmark(_ args: [String]) throws {
    let ns = (args.first ?? "100,1000,10000").split(separator: ",").compactMap { Int($0) }
    let hostCounts = (args.count > 1 ? args[1] : "1,5,20").split(separator: ",").compactMap { Int($0) }
    let fleetBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fleet").path
    guard FileManager.default.isExecutableFile(atPath: fleetBinary) else {
        throw BenchFailure("\(fleetBinary) not found: swift build -c release --product fleet")
    }
    let script = "scripts/scalehosts.sh"
    guard FileManager.default.fileExists(atPath: script) else { throw BenchFailure("run from the repository root (\(script))") }
    print("scale: N VMs (64 MiB, 1 GiB qcow2 volume, NIC, VNC; defined) spread over H daemons (test driver), a pool and a network each")
    print("      H       N   apply from nothing   no-op plan (median of 3)   plan peak RSS   floor (median of 3)   ratio")
    var csv: [String] = []
    for h in hostCounts {
        _ = spawn(["/bin/bash", script, "down"])
        let up = spawn(["/bin/bash", script, "up", String(h)])
        guard up.status == 0 else { throw BenchFailure("\(script) up \(h) failed") }
        defer { _ = spawn(["/bin/bash", script, "down"]) }
        let uris = up.out.split(separator: "\n").map(String.init).filter { $0.hasPrefix("test+unix") }
        // test+unix:///default keeps its state only while a client is connected.
        let keepers = try uris.map { try Connection(uri: $0) }
        try withExtendedLifetime(keepers) {
            for n in ns {
                let r = try scaleRound(n: n, uris: uris, fleetBinary: fleetBinary)
                print(
                    String(
                        format: "  %5d  %6d   %15.2f s   %19.3f s   %9.1f MiB   %15.3f s   %4.2fx", h, n, r.apply, r.plan,
                        Double(r.rssKiB) / 1024, r.floor, r.plan / r.floor))
                csv.append("csv,\(h),\(n),\(r.apply),\(r.plan),\(r.rssKiB),\(r.floor)")
            }
        }
    }
    print("csv,hosts,vms,apply_s,plan_s,plan_rss_kib,floor_s")
    for line in csv { print(line) }
    print(
        "  command: swift run -c release fleet-bench scale \(ns.map(String.init).joined(separator: ",")) \(hostCounts.map(String.init).joined(separator: ","))"
    )
}

func scaleRound(n: Int, uris: [String], fleetBinary: String) throws -> (apply: Double, plan: Double, rssKiB: Int, floor: Double) {
    let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let prefix = "fs-\(hex)-"
    let dir = NSTemporaryDirectory() + prefix + "scale"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var yaml = "fleet: fs\(hex)\nhosts:\n"
    for (i, u) in uris.enumerated() { yaml += "  h\(i + 1): {uri: \"\(u)\"}\n" }
    yaml += """
        pools: {\(prefix)pool: {type: dir, path: "/var/tmp/\(prefix)pool"}}
        networks: {\(prefix)net: {mode: isolated, subnet: 10.252.\(Int.random(in: 1...250)).0/24}}
        vms:

        """
    for i in uris.indices {
        // `count:` goes to 1,000: a host's share is split into groups of at most that.
        var left = n / uris.count + (i < n % uris.count ? 1 : 0)
        var g = 0
        while left > 0 {
            let count = min(left, 1000)
            left -= count
            g += 1
            yaml += """
                  \(prefix)h\(i + 1)g\(g):
                    host: h\(i + 1)
                    count: \(count)
                    virt_type: qemu
                    memory: 64MiB
                    disks: [{size: 1GiB, format: qcow2}]
                    networks: [{network: \(prefix)net}]
                    graphics: {type: vnc, listen: 127.0.0.1}
                    state: stopped

                """
        }
    }
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/fleet.yaml"))
    let loaded = ManifestLoader().load(paths: [dir])
    guard let fleet = loaded.fleet else { throw BenchFailure(loaded.diagnostics.map(\.description).joined(separator: "\n")) }
    let session = Session(fleet: fleet)
    let t0 = DispatchTime.now().uptimeNanoseconds
    let plan = session.plan().0
    let report = session.executor(plan, options: ApplyOptions()) { _ in }.run()
    let apply = seconds(since: t0)
    guard report.failed == 0, report.skipped == 0 else {
        throw BenchFailure("apply failed: \(report.results.filter { $0.outcome != .applied }.prefix(3))")
    }
    var plans: [Double] = []
    var floors: [Double] = []
    var rss = 0
    for _ in 0..<3 {
        floors.append(try scaleFloor(uris))
        let t = DispatchTime.now().uptimeNanoseconds
        // GNU time forks and waits: the peak RSS it reports is fleet's own. (wait4 on a posix_spawn child counts
        // this process's memory too: the child starts on this process's address space before its exec.)
        let rssFile = dir + "/rss"
        let r = spawn(["/usr/bin/time", "-f", "%M", "-o", rssFile, fleetBinary, "plan", dir, "--detailed-exitcode"])
        plans.append(seconds(since: t))
        guard r.status == 0 else {
            throw BenchFailure("no-op plan of \(n) VMs over \(uris.count) hosts exited \(r.status):\n\(r.out.prefix(2000))")
        }
        let text = (try? String(contentsOfFile: rssFile, encoding: .utf8)) ?? ""
        rss = max(rss, Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
    return (apply, median(plans.sorted()), rss, median(floors.sorted()))
}

/// The floor of a plan's read over several hosts: every host at once, each read by a plain sequential client
/// (`RawFloor.readHostState`: the same XML fleet reads, nothing parsed). Wall seconds.
func scaleFloor(_ uris: [String]) throws -> Double {
    final class Failures: @unchecked Sendable {
        let lock = NSLock()
        var first: String?
        func add(_ s: String) { lock.withLock { first = first ?? s } }
    }
    let failures = Failures()
    let t = DispatchTime.now().uptimeNanoseconds
    Parallel.run(uris.count, width: uris.count) { i in
        do { _ = try RawFloor.readHostState(uri: uris[i]) } catch { failures.add("\(uris[i]): \(error)") }
    }
    let s = seconds(since: t)
    if let f = failures.first { throw BenchFailure("floor read failed: \(f)") }
    return s
}

/// Runs a program (posix_spawn, stdout and stderr to a private file) and returns its status and output.
func spawn(_ argv: [String]) -> (status: Int32, out: String) {
    let outPath = NSTemporaryDirectory() + "fleet-bench-\(UUID().uuidString)"
    defer { unlink(outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for arg in cargs { free(arg) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ) == 0 else { return (127, "") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (code, out)
}

/// `fleet-bench floor URI…`: the multi-host read floor alone (`scaleFloor`), 3 runs after a warm-up.
func floorBenchmark(_ uris: [String]) throws {
    _ = try scaleFloor(uris)
    var runs: [Double] = []
    for _ in 0..<3 { runs.append(try scaleFloor(uris)) }
    print(
        String(
            format: "floor over %d hosts: median %.3f s (runs: %@)", uris.count, median(runs.sorted()),
            runs.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
}
