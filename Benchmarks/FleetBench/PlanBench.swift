// `fleet-bench plan [VMS=1000] [HOSTS=10] [ITERATIONS=5]`: plan a fleet of VMS VMs over HOSTS hosts,
// each host a libvirt test-driver fixture file holding exactly what apply would have left (so the
// plan must be empty: no spurious diffs at scale). Times (a) fleet's whole plan (read every host
// into live state + plan) and (b) the floor: the same libvirt calls with no parsing, mapping or
// planning. fleet's own overhead is (a - b) / a.
import Dispatch
import FleetExecution
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

func planBenchmark(_ args: [String]) throws {
    let vms = args.count > 0 ? max(Int(args[0]) ?? 1000, 1) : 1000
    let hostCount = args.count > 1 ? max(Int(args[1]) ?? 10, 1) : 10
    let iterations = args.count > 2 ? max(Int(args[2]) ?? 5, 1) : 5
    let dir = NSTemporaryDirectory() + "fleet-bench-plan-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }

    let fleet = benchFleet(vms: vms, hosts: hostCount, dir: dir)
    for h in fleet.hosts {
        try benchFixture(fleet, host: h.name).write(toFile: String(h.uri.dropFirst("test://".count)), atomically: true, encoding: .utf8)
    }

    var totals: [Double] = []
    var floors: [Double] = []
    var plan: Plan?
    for i in 0...iterations {
        let t0 = DispatchTime.now().uptimeNanoseconds
        plan = Session(fleet: fleet).plan().0
        let t1 = DispatchTime.now().uptimeNanoseconds
        try libvirtCallsOnly(fleet.hosts)
        let t2 = DispatchTime.now().uptimeNanoseconds
        if i > 0 {
            totals.append(Double(t1 - t0) / 1e9)
            floors.append(Double(t2 - t1) / 1e9)
        }
    }
    totals.sort()
    floors.sort()
    guard let plan else { return }
    if let e = plan.hosts.first(where: { $0.error != nil })?.error { throw BenchFailure("host error: \(e)") }
    let t = median(totals)
    let f = median(floors)
    print("plan: \(vms) VMs over \(hostCount) hosts (test-driver fixtures), \(iterations) interleaved runs after 1 warm-up")
    print("  changes in the plan: \(plan.changes.count) (must be 0: the fixtures hold what apply leaves)")
    for c in plan.changes.prefix(5) {
        print("    \(c.action.rawValue) \(c.object): \(c.attributes.map { "\($0.name) \($0.before ?? "-") -> \($0.after ?? "-")" })")
    }
    print("  fleet plan (read + plan): median \(fmt(t))  (min \(fmt(totals.first ?? 0)), max \(fmt(totals.last ?? 0)))")
    print("  libvirt calls only (floor): median \(fmt(f))  (min \(fmt(floors.first ?? 0)), max \(fmt(floors.last ?? 0)))")
    print(String(format: "  fleet's own overhead: %.1f%% of the plan time", t > 0 ? max(0, (t - f) / t * 100) : 0))
    print("  command: swift run -c release fleet-bench plan \(vms) \(hostCount) \(iterations)")
    if !plan.changes.isEmpty { throw BenchFailure("spurious diffs: \(plan.changes.count) changes") }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func benchFleet(vms: Int, hosts: Int, dir: String) -> Fleet {
    let hostSpecs = (1...hosts).map { HostSpec(name: String(format: "h%02d", $0), uri: "test://\(dir)/h\($0).xml") }
    var fleet = Fleet(
        name: "bench", hosts: hostSpecs,
        pools: [PoolSpec(name: "benchpool", type: .dir, path: "/bench")],
        networks: [
            NetworkSpec(
                name: "benchnet", mode: .nat, bridge: "virbr-bench", subnet: IPv4Subnet(parsing: "10.99.0.0/16"),
                dhcp: DHCPSpec(start: IPv4Address(parsing: "10.99.1.1")!, end: IPv4Address(parsing: "10.99.200.254")!))
        ])
    // (autostart is left unmanaged: a test-driver fixture cannot express it.)
    for i in 0..<vms {
        let name = String(format: "vm-%05d", i)
        fleet.vms.append(
            VMSpec(
                name: name, host: hostSpecs[i % hosts].name, vcpus: 1, maxVcpus: 2, memory: .mib(64), maxMemory: .mib(128),
                virtType: .qemu, disks: [DiskSpec(name: "disk0", size: .gib(1), pool: "benchpool")],
                networks: [NICSpec(network: "benchnet", mac: MACAddress.stable(for: "bench/\(name)/0"))],
                graphics: GraphicsSpec(type: .vnc, listen: "127.0.0.1"), autostart: false, state: .running))
    }
    return fleet
}

/// What one host holds after `fleet apply`: the domains, network, pool, volumes and the ledger.
func benchFixture(_ fleet: Fleet, host: String) -> String {
    let vms = fleet.vms.filter { $0.host == host }
    var s =
        "<?xml version='1.0'?>\n<node>\n<cpu><mhz>2400</mhz><model>x86_64</model><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads></cpu>\n<memory>67108864</memory>\n"
    s += NetworkMapping.render(fleet.networks[0]) + "\n"
    var pool = PoolMapping.render(fleet.pools[0])
    var volumes = ""
    var entries = [
        LedgerEntry(object: "benchpool", mark: OwnerMark(fleet: "bench", kind: .pool, name: "benchpool")),
        LedgerEntry(object: "benchnet", mark: OwnerMark(fleet: "bench", kind: .network, name: "benchnet"))
    ]
    for vm in vms {
        let vol = vm.disks[0].volumeName(vm: vm.name)
        volumes += VolumeMapping.render(name: vol, format: .qcow2, capacity: .gib(1)) + "\n"
        entries.append(
            LedgerEntry(
                object: "benchpool/\(vol)", mark: OwnerMark(fleet: "bench", kind: .volume, name: vm.group, attributes: ["vm": vm.name])))
    }
    if let end = pool.range(of: "</pool>", options: .backwards) { pool.replaceSubrange(end, with: volumes + "</pool>") }
    s += pool + "\n"
    for vm in vms {
        s += DomainMapping.render(vm, hypervisor: .test, owner: OwnerMark(fleet: "bench", kind: .vm, name: vm.group)) + "\n"
    }
    s += LedgerMapping.render(fleet: "bench", entries: entries, hypervisor: .test) + "\n"
    return s + "</node>\n"
}

/// The libvirt calls fleet's reader makes, with their results thrown away: the floor.
func libvirtCallsOnly(_ hosts: [HostSpec]) throws {
    DispatchQueue.concurrentPerform(iterations: hosts.count) { i in
        guard let c = try? Connection(uri: hosts[i].uri) else { return }
        _ = try? c.nodeInfo()
        _ = try? c.hostname
        _ = try? c.libVersion
        _ = try? c.hypervisorType
        _ = try? c.hypervisorVersion
        for d in (try? c.listAllDomains()) ?? [] {
            _ = d.name
            _ = try? d.info()
            _ = try? d.xmlDesc(flags: .inactive)
            if (try? d.isActive) == true { _ = try? d.xmlDesc() }
            _ = try? d.autostart()
            _ = try? d.uuidString
            _ = try? d.id
            _ = try? d.isPersistent
            _ = try? d.hasManagedSave
            for s in (try? d.listAllSnapshots()) ?? [] { _ = try? s.xmlDesc() }
        }
        for n in (try? c.listAllNetworks()) ?? [] {
            _ = (try? n.xmlDesc(inactive: true)) ?? (try? n.xmlDesc())
            _ = try? n.autostart()
            _ = try? n.isActive
        }
        for p in (try? c.listAllStoragePools()) ?? [] {
            _ = try? p.xmlDesc()
            _ = try? p.autostart()
            _ = try? p.isActive
            for v in (try? p.listAllVolumes()) ?? [] { _ = try? v.xmlDesc() }
        }
        for d in ((try? c.listAllNodeDevices(capability: .pciDevice)) ?? []) + ((try? c.listAllNodeDevices(capability: .usbDevice)) ?? []) {
            _ = try? d.xmlDesc()
        }
    }
}
