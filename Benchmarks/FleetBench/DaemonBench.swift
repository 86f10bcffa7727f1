// `fleet-bench daemon [N=1000] [ITERATIONS=5] [URI=test+unix:///default]`: issue 12's workload through a daemon.
// A dir pool, an isolated network and N VMs (64 MiB, a 1 GiB qcow2 volume, a NIC, VNC), defined not started.
// Times, each against a floor measured in the same run:
//   - a no-op plan (read + plan) vs `RawFloor.readHostState`: a sequential client listing all domains with
//     their inactive (and, running, live) XML, every pool and volume XML, and every network XML;
//   - teardown (`fleet destroy`'s plan and apply) vs a sequential client undefining the same domains and
//     deleting the same volumes.
// Every object is named `fb-<hex>-…` and removed afterwards.
import Dispatch
import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

func daemonBenchmark(_ args: [String]) throws {
    let n = args.count > 0 ? max(Int(args[0]) ?? 1000, 1) : 1000
    let iterations = args.count > 1 ? max(Int(args[1]) ?? 5, 1) : 5
    let uri = args.count > 2 ? args[2] : "test+unix:///default"
    let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let prefix = "fb-\(hex)-"
    let dir = NSTemporaryDirectory() + prefix + "daemon"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    // Held for the whole run: test+unix:///default keeps its state only while a client is connected.
    let keeper = try Connection(uri: uri)
    defer {
        benchCleanup(uri: uri, prefix: prefix, fleet: "fb\(hex)")
        try? FileManager.default.removeItem(atPath: dir)
        _ = keeper
    }
    let yaml = """
        fleet: fb\(hex)
        hosts: {local: {uri: "\(uri)"}}
        pools: {\(prefix)pool: {type: dir, path: "/var/tmp/\(prefix)pool"}}
        networks: {\(prefix)net: {mode: isolated, subnet: 10.251.\(Int.random(in: 1...250)).0/24}}
        vms:
          \(prefix)vm:
            count: \(n)
            virt_type: qemu
            memory: 64MiB
            disks: [{size: 1GiB, format: qcow2}]
            networks: [{network: \(prefix)net}]
            graphics: {type: vnc, listen: 127.0.0.1}
            state: stopped
        """
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/fleet.yaml"))
    let loaded = ManifestLoader().load(paths: [dir])
    guard let fleet = loaded.fleet else { throw BenchFailure(loaded.diagnostics.map(\.description).joined(separator: "\n")) }
    let session = Session(fleet: fleet)
    var destroyOptions = ApplyOptions()
    destroyOptions.allowDestroy = true
    destroyOptions.allowRestart = true

    func apply() throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let plan = session.plan().0
        let report = session.executor(plan, options: ApplyOptions()) { _ in }.run()
        guard report.failed == 0 else { throw BenchFailure("apply failed: \(report.results.filter { $0.outcome == .failed }.prefix(3))") }
        return seconds(since: t0)
    }
    let create = try apply()

    // No-op plans against the floor, interleaved after one warm-up of each.
    var plans: [Double] = []
    var floors: [Double] = []
    var reads: [Double] = []
    var objects = 0
    for i in 0...iterations {
        var t = DispatchTime.now().uptimeNanoseconds
        let plan = session.plan().0
        let p = seconds(since: t)
        guard plan.changes.isEmpty, !plan.hasErrors else { throw BenchFailure("no-op plan not empty: \(plan.changes.prefix(3))") }
        t = DispatchTime.now().uptimeNanoseconds
        objects = try RawFloor.readHostState(uri: uri)
        let f = seconds(since: t)
        t = DispatchTime.now().uptimeNanoseconds
        _ = StateReader(fleet: fleet.name).read(hosts: fleet.hosts)
        let r = seconds(since: t)
        if i > 0 {
            plans.append(p)
            floors.append(f)
            reads.append(r)
        }
    }
    plans.sort()
    floors.sort()
    reads.sort()
    if ProcessInfo.processInfo.environment["PHASES"] != nil {
        for _ in 0..<3 {
            var t = DispatchTime.now().uptimeNanoseconds
            let inputs = ImageInputs.compute(fleet, secrets: session.secrets)
            let a = seconds(since: t)
            t = DispatchTime.now().uptimeNanoseconds
            let live = StateReader(fleet: fleet.name).read(hosts: fleet.hosts)
            let b = seconds(since: t)
            t = DispatchTime.now().uptimeNanoseconds
            var o = PlanOptions()
            o.customizationDigests = inputs.digests
            let plan = Planner.plan(desired: inputs.apply(to: fleet), live: live, options: o)
            let c = seconds(since: t)
            t = DispatchTime.now().uptimeNanoseconds
            _ = live.fingerprint
            let d = seconds(since: t)
            print("PHASES inputs \(fmt(a)) read \(fmt(b)) plan \(fmt(c)) fingerprint \(fmt(d)) changes \(plan.changes.count)")
        }
    }

    // Teardown: fleet's destroy (passes until nothing is owned), then the same objects again for the floor.
    let empty = Session(fleet: Fleet(name: fleet.name, hosts: fleet.hosts, tree: fleet.tree))
    var t = DispatchTime.now().uptimeNanoseconds
    var passes: [String] = []
    for _ in 0..<3 {
        var tp = DispatchTime.now().uptimeNanoseconds
        let plan = empty.plan().0
        passes.append("plan \(fmt(seconds(since: tp)))")
        if plan.isEmpty { break }
        tp = DispatchTime.now().uptimeNanoseconds
        defer { passes.append("apply \(fmt(seconds(since: tp)))") }
        let report = empty.executor(plan, options: destroyOptions) { _ in }.run()
        guard report.failed == 0 else { throw BenchFailure("destroy failed: \(report.results.filter { $0.outcome == .failed }.prefix(3))") }
    }
    let teardown = seconds(since: t)
    guard empty.plan().0.isEmpty else { throw BenchFailure("destroy left objects behind") }
    _ = try apply()
    t = DispatchTime.now().uptimeNanoseconds
    let conn = try Connection(uri: uri)
    for d in try conn.listAllDomains() where d.name.hasPrefix(prefix) { try d.undefine() }
    for p in try conn.listAllStoragePools() where p.name == "\(prefix)pool" {
        for v in try p.listAllVolumes() { try v.delete() }
    }
    let teardownFloor = seconds(since: t)

    let (pm, fm) = (median(plans), median(floors))
    print("daemon: \(n) VMs (64 MiB, 1 GiB qcow2 volume, NIC, VNC; defined) + pool + isolated network on \(uri)")
    print(String(format: "  apply from nothing: %.2f s", create))
    print("  no-op plan (read + plan): median \(fmt(pm))  (min \(fmt(plans.first ?? 0)), max \(fmt(plans.last ?? 0)))")
    print(
        "  floor, sequential client reading \(objects) objects' XML: median \(fmt(fm))  (min \(fmt(floors.first ?? 0)), max \(fmt(floors.last ?? 0)))"
    )
    print("    of which reading the host (StateReader alone): median \(fmt(median(reads)))")
    print(String(format: "  ratio plan / floor: %.2fx", fm > 0 ? pm / fm : 0))
    print(
        String(
            format: "  teardown (destroy plan + apply): %.2f s; floor (sequential undefine + volume delete): %.2f s; ratio %.2fx",
            teardown, teardownFloor, teardownFloor > 0 ? teardown / teardownFloor : 0))
    if ProcessInfo.processInfo.environment["PHASES"] != nil { print("PHASES teardown: \(passes.joined(separator: ", "))") }
    print("  command: swift run -c release fleet-bench daemon \(n) \(iterations) \(uri)")
}

func seconds(since t0: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
