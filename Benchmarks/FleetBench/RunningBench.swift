// `fleet-bench running [N=50] [URI=qemu:///system]`: N guests started and destroyed on a real libvirtd.
// Each VM is 32 MiB under TCG (`virt_type: qemu`) with a 16 MiB disk and nothing to boot: QEMU starts, the
// firmware finds no bootable disk and waits, which is all a start costs the host. Figures, in one run:
//   - fleet apply of N running VMs from nothing (define and start) vs the floor: the same N defined VMs
//     started one after another with virDomainCreate (what `virsh start` does), define not counted;
//   - fleet destroy of the N running VMs with their disks (target: within 5 s; forced off, not shut down).
// Every object is named `fb-<hex>-…` and removed afterwards.
import Dispatch
import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

func runningBenchmark(_ args: [String]) throws {
    let n = args.count > 0 ? max(Int(args[0]) ?? 50, 1) : 50
    let uri = args.count > 1 ? args[1] : "qemu:///system"
    let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let prefix = "fb-\(hex)-"
    let dir = NSTemporaryDirectory() + prefix + "running"
    let poolPath = "/var/lib/libvirt/images/\(prefix)pool"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer {
        benchCleanup(uri: uri, prefix: prefix, fleet: "fb\(hex)")
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: poolPath)
    }
    func session(_ state: String) throws -> Session {
        let yaml = """
            fleet: fb\(hex)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(prefix)pool: {type: dir, path: "\(poolPath)"}}
            vms:
              \(prefix)vm:
                count: \(n)
                virt_type: qemu
                memory: 32MiB
                disks: [{size: 16MiB}]
                state: \(state)
            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/fleet.yaml"))
        let loaded = ManifestLoader().load(paths: [dir])
        guard let fleet = loaded.fleet else { throw BenchFailure(loaded.diagnostics.map(\.description).joined(separator: "\n")) }
        return Session(fleet: fleet)
    }
    func apply(_ s: Session, _ options: ApplyOptions = ApplyOptions()) throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let plan = s.plan().0
        let report = s.executor(plan, options: options) { _ in }.run()
        guard report.failed == 0, report.skipped == 0 else {
            throw BenchFailure("apply failed: \(report.results.filter { $0.outcome != .applied }.prefix(3))")
        }
        return seconds(since: t0)
    }
    var destroyOptions = ApplyOptions()
    destroyOptions.allowDestroy = true
    let running = try session("running")

    // fleet: define and start N from nothing, then destroy them with their disks.
    let create = try apply(running)
    guard running.plan().0.isEmpty else { throw BenchFailure("plan not empty after apply") }
    let conn = try Connection(uri: uri)
    let active = try conn.listAllDomains().filter { $0.name.hasPrefix(prefix) && ((try? $0.isActive) ?? false) }.count
    guard active == n else { throw BenchFailure("\(active) of \(n) VMs running after apply") }
    let empty = Session(fleet: Fleet(name: running.fleet.name, hosts: running.fleet.hosts, tree: running.fleet.tree))
    let teardown = try apply(empty, destroyOptions)

    // The floor: the same N VMs defined (by fleet, not timed), started one after another, then destroyed.
    _ = try apply(try session("stopped"))
    let domains = try conn.listAllDomains().filter { $0.name.hasPrefix(prefix) }.sorted { $0.name < $1.name }
    var t = DispatchTime.now().uptimeNanoseconds
    for d in domains { try d.create() }
    let startFloor = seconds(since: t)
    t = DispatchTime.now().uptimeNanoseconds
    for d in domains { try d.destroy() }
    let destroyFloor = seconds(since: t)

    print("running: \(n) VMs (32 MiB, TCG, a 16 MiB disk with nothing to boot) on \(uri), host CPUs \(try conn.nodeInfo().cpus)")
    print(
        String(
            format:
                "  apply of %d running VMs from nothing: %.2f s; floor (%d sequential virDomainCreate, define not counted): %.2f s; ratio %.2fx",
            n, create, n, startFloor, startFloor > 0 ? create / startFloor : 0))
    print(
        String(
            format: "  destroy of %d running VMs with their disks: %.2f s (target 5 s); sequential virDomainDestroy alone: %.2f s",
            n, teardown, destroyFloor))
    print("  command: swift run -c release fleet-bench running \(n) \(uri)")
}
