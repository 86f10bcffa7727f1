import FleetManifest
import FleetMapping
import FleetModel
import Foundation
import Testing

@testable import FleetPlanning

/// `memory: 1G` is 10^9 bytes, 976562.5 KiB. libvirt holds whole KiB, so the loader stores the size as
/// libvirt will (ByteSize.wholeKiB) and the renderer writes the same value: reading the rendered
/// domain back as live state plans nothing. Before, the planner compared 10^9 bytes with 976562 KiB
/// and planned a restart-class memory change on every run.
@Suite struct MemoryConvergenceTests {
    @Test(arguments: ["1G", "1000001K", "1073741823", "2GiB"])
    func memoryReadBackFromRenderedXMLPlansNothing(_ memory: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-mem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(
            """
            fleet: mem
            pools: {p: {path: /data/p}}
            vms:
              m: {memory: \(memory), max_memory: 3G, vcpus: 1, virt_type: qemu, state: stopped, disks: [{size: 1GiB}]}
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))
        let loaded = ManifestLoader().load(paths: [dir.path])
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let fleet = try #require(loaded.fleet)
        let vm = try #require(fleet.vms.first)
        #expect(vm.memory.bytes % 1024 == 0 && vm.maxMemory.map { $0.bytes % 1024 == 0 } == true)

        // Live state: what libvirt reads back from the XML fleet renders for the VM.
        let owner = OwnerMark(fleet: "mem", kind: .vm, name: "m")
        let xml = DomainMapping.render(vm, hypervisor: .qemu, owner: owner)
        let config = try DomainMapping.config(fromXML: xml)
        #expect(config.memory == vm.memory && config.maxMemory == vm.maxMemory)

        var host = LiveHost(name: "local", uri: "qemu:///system")
        let pool = fleet.pools[0]
        host.pools = [
            LivePool(
                name: "p", uuid: "u-p", active: true, autostart: false, spec: pool,
                owner: OwnerMark(fleet: "mem", kind: .pool, name: "p"))
        ]
        let disk = vm.disks[0]
        host.volumes = [
            LiveVolume(
                pool: "p", name: disk.volumeName(vm: "m"), path: "/data/p/\(disk.volumeName(vm: "m"))",
                format: "qcow2", capacity: .gib(1), allocation: .mib(1),
                owner: OwnerMark(fleet: "mem", kind: .volume, name: "m", attributes: ["vm": "m"]))
        ]
        host.domains = [LiveDomain(name: "m", uuid: "u-m", state: .shutoff, config: config)]
        let plan = Planner.plan(desired: fleet, live: LiveState(hosts: [host]), options: PlanOptions())
        #expect(plan.change("vm/m") == nil, "\(plan.changes.map { "\($0.object) \($0.attributes)" })")
    }
}
