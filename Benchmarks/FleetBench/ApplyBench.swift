// `fleet-bench apply [N=10,50,200] [URI=qemu:///system]`: on a real libvirtd, apply N small VMs
// (64 MiB, a qcow2 overlay disk on one image, one NIC on a NAT network), from nothing and then as a
// no-op re-apply (plan + apply), against the floor: the same objects made by one `virsh` session
// reading its commands from stdin (vol-create-as with a backing store + define per VM).
// VMs are defined, not started: 200 TCG guests would not fit the 2-core machines this runs on.
// Every object is named `fb-<hex>-…` and removed afterwards.
import Dispatch
import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

func applyBenchmark(_ args: [String]) throws {
    let sizes = (args.first ?? "10,50,200").split(separator: ",").compactMap { Int($0) }
    let uri = args.count > 1 ? args[1] : "qemu:///system"
    print("apply: small VMs (64 MiB, qcow2 overlay disk, 1 NIC), defined not started, on \(uri)")
    for n in sizes {
        let r = try applyRound(n: n, uri: uri)
        print(
            String(
                format:
                    "  N=%4d  fleet apply from nothing %8.2f s   no-op re-apply (plan+apply) %7.3f s   virsh floor %8.2f s   ratio %.2fx",
                n, r.create, r.noop, r.floor, r.floor > 0 ? r.create / r.floor : 0))
    }
    print("  command: swift run -c release fleet-bench apply \(sizes.map(String.init).joined(separator: ",")) \(uri)")
}

func applyRound(n: Int, uri: String) throws -> (create: Double, noop: Double, floor: Double) {
    let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let prefix = "fb-\(hex)-"
    let dir = NSTemporaryDirectory() + prefix + "bench"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let poolPath = "/var/lib/libvirt/images/\(prefix)pool"
    defer {
        benchCleanup(uri: uri, prefix: prefix, fleet: "fb\(hex)")
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: poolPath)
        try? FileManager.default.removeItem(atPath: poolPath + "-virsh")
    }
    let image = dir + "/base.qcow2"
    try shell("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"])
    let octet = Int.random(in: 1...250)
    let yaml = """
        fleet: fb\(hex)
        hosts: {local: {uri: "\(uri)"}}
        pools: {\(prefix)pool: {type: dir, path: "\(poolPath)"}}
        networks: {\(prefix)net: {mode: nat, subnet: 10.252.\(octet).0/24}}
        images: {\(prefix)base: {source: base.qcow2, format: qcow2, pool: \(prefix)pool}}
        vms:
          \(prefix)vm:
            count: \(n)
            virt_type: qemu
            memory: 64MiB
            disks: [{image: \(prefix)base}]
            networks: [{network: \(prefix)net}]
            state: stopped
        """
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/fleet.yaml"))
    let loaded = ManifestLoader().load(paths: [dir])
    guard let fleet = loaded.fleet else { throw BenchFailure(loaded.diagnostics.map(\.description).joined(separator: "\n")) }

    func planAndApply() -> (Plan, ApplyReport) {
        let session = Session(fleet: fleet)
        let plan = session.plan().0
        return (plan, session.executor(plan, options: ApplyOptions()) { _ in }.run())
    }
    var t0 = DispatchTime.now().uptimeNanoseconds
    let (_, first) = planAndApply()
    let create = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    guard first.failed == 0 else { throw BenchFailure("apply failed: \(first.results.filter { $0.outcome == .failed })") }
    t0 = DispatchTime.now().uptimeNanoseconds
    let (noopPlan, _) = planAndApply()
    let noop = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    guard noopPlan.changes.isEmpty else { throw BenchFailure("re-plan not empty: \(noopPlan.changes.count) changes") }
    // Plan alone against the floor (the same libvirt calls, results discarded), on this real daemon.
    var plans: [Double] = []
    var floors: [Double] = []
    for _ in 0..<5 {
        var s = DispatchTime.now().uptimeNanoseconds
        _ = Session(fleet: fleet).plan()
        plans.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
        s = DispatchTime.now().uptimeNanoseconds
        try libvirtCallsOnly(fleet.hosts)
        floors.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
    }
    plans.sort()
    floors.sort()
    let (pm, fm) = (median(plans), median(floors))
    print(
        String(
            format: "  N=%4d  plan on the real daemon: median %.1f ms, libvirt calls alone %.1f ms, fleet's own overhead %.1f%%",
            n, pm * 1000, fm * 1000, pm > 0 ? max(0, (pm - fm) / pm * 100) : 0))

    // The floor: one virsh session, the same objects.
    var cmds = "pool-define-as \(prefix)vpool dir --target \(poolPath)-virsh\npool-build \(prefix)vpool\npool-start \(prefix)vpool\n"
    cmds +=
        "vol-create-as \(prefix)vpool \(prefix)vbase.qcow2 64M --format qcow2\nvol-upload \(prefix)vbase.qcow2 \(image) --pool \(prefix)vpool\n"
    let netXML = dir + "/net.xml"
    try Data("<network><name>\(prefix)vnet</name><forward mode='nat'/><ip address='10.253.\(octet).1' prefix='24'/></network>".utf8)
        .write(to: URL(fileURLWithPath: netXML))
    cmds += "net-define \(netXML)\nnet-start \(prefix)vnet\n"
    for i in 1...n {
        let name = "\(prefix)v\(i)"
        cmds +=
            "vol-create-as \(prefix)vpool \(name).qcow2 64M --format qcow2 --backing-vol \(poolPath)-virsh/\(prefix)vbase.qcow2 --backing-vol-format qcow2\n"
        let xml = dir + "/\(name).xml"
        try Data(
            """
            <domain type='qemu'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
            <devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='\(prefix)vpool' volume='\(name).qcow2'/><target dev='vda' bus='virtio'/></disk>
            <interface type='network'><source network='\(prefix)vnet'/><model type='virtio'/></interface></devices></domain>
            """.utf8
        ).write(to: URL(fileURLWithPath: xml))
        cmds += "define \(xml)\n"
    }
    let cmdFile = dir + "/cmds.virsh"
    try Data(cmds.utf8).write(to: URL(fileURLWithPath: cmdFile))
    t0 = DispatchTime.now().uptimeNanoseconds
    try shell("/bin/sh", ["-c", "virsh -q -c '\(uri)' < '\(cmdFile)' > /dev/null"])
    let floor = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    return (create, noop, floor)
}

func shell(_ tool: String, _ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    try p.run()
    p.waitUntilExit()
    if p.terminationStatus != 0 { throw BenchFailure("\(tool) \(args.joined(separator: " ")) exited \(p.terminationStatus)") }
}

func benchCleanup(uri: String, prefix: String, fleet: String) {
    guard let conn = try? Connection(uri: uri) else { return }
    for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(prefix) || d.name == "fleet-ledger-\(fleet)" {
        if (try? d.isActive) == true { try? d.destroy() }
        try? d.undefine(flags: [.managedSave, .snapshotsMetadata, .nvram])
    }
    for net in (try? conn.listAllNetworks()) ?? [] where net.name.hasPrefix(prefix) {
        if (try? net.isActive) == true { try? net.destroy() }
        try? net.undefine()
    }
    for p in (try? conn.listAllStoragePools()) ?? [] where p.name.hasPrefix(prefix) {
        for v in (try? p.listAllVolumes()) ?? [] { try? v.delete() }
        if (try? p.isActive) == true { try? p.destroy() }
        try? p.undefine()
    }
}
