// Owned by the manifest work: generates 1,000 VMs over 50 files and times loading + validation.
import FleetManifest
import Foundation

/// `fleet-bench validate [runs]`: 50 files, each with a pool, a network, a profile and 20 VMs
/// (mixed count:/single, static IPs, disks, NICs), then `ManifestLoader().load` timed `runs` times (default 10).
func validateBenchmark(_ args: [String]) throws {
    let runs = args.first.flatMap { Int($0) }.map { max(1, min($0, 1000)) } ?? 10
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-bench-validate-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    var bytes = 0
    try Data("fleet: bench\nhosts:\n  kvm1: {uri: \"qemu:///system\"}\n  kvm2: {uri: \"qemu+ssh://root@kvm2/system\"}\n".utf8)
        .write(to: dir.appendingPathComponent("00-hosts.yaml"))
    for f in 0..<50 {
        var y = """
            pools:
              pool\(f): {type: dir, path: /var/lib/fleet-bench/pool\(f), autostart: true}
            networks:
              net\(f): {mode: nat, subnet: 10.\(f).0.0/16, dhcp: {range: [10.\(f).200.1, 10.\(f).250.254]}, autostart: true}
            profiles:
              prof\(f): {vcpus: 2, max_vcpus: 4, memory: 2GiB, max_memory: 4GiB, virt_type: qemu, graphics: {type: vnc, listen: 127.0.0.1}}
            vms:

            """
        // 16 single VMs with static IPs + one count: 4 group = 20 VMs per file.
        for v in 0..<16 {
            y += """
                  vm\(f)x\(v):
                    host: kvm\(v % 2 + 1)
                    profile: prof\(f)
                    disks:
                      - {size: 20GiB, pool: pool\(f)}
                      - {name: data, size: 50GiB, pool: pool\(f), format: raw, bus: scsi}
                    networks:
                      - {network: net\(f), ip: 10.\(f).\(v / 200).\(v % 200 + 10)}
                    snapshots: [baseline]
                    description: "benchmark vm \(v) of file \(f)"

                """
        }
        y += """
              grp\(f):
                count: 4
                host: kvm1
                profile: prof\(f)
                memory: 1GiB
                disks: [{size: 10GiB, pool: pool\(f)}]
                networks: [{network: net\(f), model: e1000}]

            """
        bytes += y.utf8.count
        try Data(y.utf8).write(to: dir.appendingPathComponent(String(format: "vms-%02d.yaml", f)))
    }

    var vmCount = 0
    let times = try measure(iterations: runs) {
        let r = ManifestLoader().load(paths: [dir.path])
        guard let fleet = r.fleet, r.diagnostics.isEmpty else {
            throw ValidateBenchError.invalid(r.diagnostics.prefix(5).map(\.description))
        }
        vmCount = fleet.vms.count
    }
    print("fleet-bench validate: \(vmCount) VMs, 51 files, \(bytes / 1024) KiB of YAML")
    print(
        "  ManifestLoader().load: median \(fmt(median(times))), min \(fmt(times.first ?? 0)), max \(fmt(times.last ?? 0)) over \(runs) runs"
    )
    print("  command: swift run -c release fleet-bench validate \(runs)")
}

enum ValidateBenchError: Error, CustomStringConvertible {
    case invalid([String])
    var description: String {
        switch self {
        case .invalid(let d): return "generated manifest is not valid: " + d.joined(separator: "; ")
        }
    }
}
