import FleetExecution
import FleetManifest
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// Preflight on the real daemon (docs/planning.md, "Preflight"): the facts come from libvirt (pool `<permissions>`,
/// the capabilities' DAC label and IOMMU, node info, node devices), and a plan refuses before anything is touched.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct PreflightSystemTests {
    let uri = systemURI ?? "qemu:///system"

    func manifest(_ t: TestFleet, poolPath: String, memory: String = "64MiB", device: String? = nil) -> String {
        """
        fleet: \(t.fleetName)
        hosts:
          local: {uri: "\(uri)"}
        pools:
          \(t.prefix)pool: {type: dir, path: "\(poolPath)"}
        \(device.map { "devices:\n  \(t.prefix)dev: {host: local, type: pci, address: \"\($0)\"}" } ?? "")
        vms:
          \(t.prefix)vm:
            virt_type: qemu
            memory: \(memory)
            disks:
              - {size: 32MiB, pool: \(t.prefix)pool}
            state: running
        \(device == nil ? "" : "    hostdevs: [\(t.prefix)dev]")
        """
    }

    /// Nothing of the VM exists on the host: no domain, no volume.
    func expectUntouched(_ t: TestFleet) throws {
        let conn = try Connection(uri: uri)
        #expect(try conn.domain(named: "\(t.prefix)vm") == nil)
        let pool = try conn.storagePool(named: "\(t.prefix)pool")
        #expect(try pool?.listAllVolumes().map(\.name) ?? [] == [])
    }

    /// A pool directory of mode 0700 owned by nobody: libvirt reports its `<permissions>`, the capabilities say QEMU
    /// runs as libvirt-qemu, and the VM is refused with the fix; apply makes nothing of it.
    @Test func aPoolQEMUCannotEnterIsRefused() throws {
        let t = try TestFleet(uri: uri)
        let path = "/var/lib/libvirt/images/\(t.prefix)closed"
        defer {
            t.cleanup()
            try? FileManager.default.removeItem(atPath: path)
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.setAttributes(
            [.ownerAccountID: 65534, .groupOwnerAccountID: 65534, .posixPermissions: 0o700], ofItemAtPath: path)
        let fleet = try t.load(manifest(t, poolPath: path))
        // The pool first (fleet builds and starts it; the directory keeps its owner and mode).
        let poolOnly = t.plan(fleet, options: PlanOptions(targets: [ObjectRef(.pool, "\(t.prefix)pool")]))
        #expect(t.apply(poolOnly).failed == 0)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o700 && (attrs[.ownerAccountID] as? Int) == 65534, "\(attrs)")

        let plan = t.plan(fleet)
        let vm = try #require(plan.changes.first { $0.object == ObjectRef(.vm, "\(t.prefix)vm") })
        #expect(vm.action == .refused, "\(plan.changes)")
        #expect(vm.reason.contains("directory \(path) is 0700 65534:65534"), "\(vm.reason)")
        #expect(vm.reason.contains("fix: chmod o+x \(path)"), "\(vm.reason)")
        #expect(!plan.changes.contains { $0.parent == vm.object }, "\(plan.changes)")
        _ = t.apply(plan)
        try expectUntouched(t)
    }

    /// A VM asking for more memory than the host has (node info): refused, nothing made.
    @Test func moreMemoryThanTheHostHasIsRefused() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let host = try Connection(uri: uri).nodeInfo()
        let ask = ByteSize.kib(host.memoryKiB).bytes / (1 << 30) + 64
        let fleet = try t.load(manifest(t, poolPath: "/var/lib/libvirt/images/\(t.prefix)pool", memory: "\(ask)GiB"))
        let plan = t.plan(fleet)
        let vm = try #require(plan.changes.first { $0.object == ObjectRef(.vm, "\(t.prefix)vm") })
        #expect(vm.action == .refused, "\(plan.changes)")
        #expect(vm.reason.contains("asks for \(ask)GiB of memory and host local has"), "\(vm.reason)")
        #expect(vm.reason.contains("fix: lower its memory:"), "\(vm.reason)")
        #expect(!plan.changes.contains { $0.parent == vm.object }, "\(plan.changes)")
        #expect(t.apply(plan).failed == 0)
        try expectUntouched(t)
    }

    /// A PCI function of this machine (a virtio device at its real address): the IOMMU is off here, so it is in no
    /// IOMMU group and the VM that would start with it is refused. PLAN ONLY: nothing is applied, let alone started
    /// (the machine's PCI devices are its own disk and NIC).
    @Test func aPCIDeviceWithoutAViableIOMMUGroupIsRefused() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let caps = try conn.capabilitiesXML()
        let virtio = try conn.listAllNodeDevices(capability: .pciDevice).map { try $0.xmlDesc() }.first {
            $0.contains("<name>virtio-pci</name>")
        }
        let xml = try #require(virtio, "no virtio PCI device on this host")
        let address = try #require(try NodeDeviceMapping.pciDevice(fromXML: xml)).address
        let fleet = try t.load(manifest(t, poolPath: "/var/lib/libvirt/images/\(t.prefix)pool", device: address.description))
        let plan = t.plan(fleet)
        let vm = try #require(plan.changes.first { $0.object == ObjectRef(.vm, "\(t.prefix)vm") })
        #expect(vm.action == .refused, "\(plan.changes)")
        if caps.contains("<iommu support='no'/>") {
            #expect(vm.reason.contains("the IOMMU is off on host local"), "\(vm.reason)")
        } else {
            #expect(vm.reason.contains("IOMMU group"), "\(vm.reason)")
        }
        #expect(vm.reason.contains("fix:"), "\(vm.reason)")
        #expect(!plan.changes.contains { $0.parent == vm.object }, "\(plan.changes)")
        #expect(try conn.domain(named: "\(t.prefix)vm") == nil)
    }
}
