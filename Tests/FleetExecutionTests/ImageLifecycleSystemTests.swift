import FleetExecution
import FleetImages
import FleetManifest
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// The image lifecycle on the real daemon: one destroy pass removes images, overlays and seeds, the pool and
/// the ledger; a re-apply after a partial destroy (the old behaviour: pool undefined with the image volume
/// still in its directory) reuses the volume fleet owns; a foreign file with that name is refused, not overwritten.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct ImageLifecycleSystemTests {
    let uri = systemURI ?? "qemu:///system"

    func setUp(_ t: TestFleet) throws -> (Fleet, ImageInputs, String) {
        let image = t.dir.appendingPathComponent("base.qcow2").path
        try run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", image, "16M"])
        try Data("#cloud-config\n{}\n".utf8).write(to: t.dir.appendingPathComponent("ud.cfg"))
        let poolPath = "/var/lib/libvirt/images/\(t.prefix)pool"
        let fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(t.prefix)pool: {type: dir, path: "\(poolPath)"}}
            images: {\(t.prefix)base: {source: base.qcow2, format: qcow2, pool: \(t.prefix)pool}}
            vms:
              \(t.prefix)vm:
                virt_type: qemu
                memory: 64MiB
                disks: [{image: \(t.prefix)base}]
                cloud_init: {user_data: ud.cfg}
                state: stopped
            """)
        return (fleet, ImageInputs.compute(fleet), poolPath)
    }

    func plan(_ fleet: Fleet, _ inputs: ImageInputs) -> Plan {
        Planner.plan(
            desired: fleet, live: StateReader(fleet: fleet.name).read(hosts: fleet.hosts),
            options: PlanOptions(customizationDigests: inputs.digests, seedInstanceIDs: inputs.seedIDs))
    }

    func files(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    @Test func oneDestroyPassLeavesNothingAndReapplyReusesOwnedImage() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let (fleet, inputs, poolPath) = try setUp(t)
        var report = t.apply(plan(fleet, inputs))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        let imageVolume = fleet.images[0].volumeName
        #expect(files(poolPath) == [imageVolume, "\(t.prefix)vm-cidata.img", "\(t.prefix)vm-disk0.qcow2"].sorted())

        // Destroy, as `fleet destroy` plans it, one pass only.
        let empty = Fleet(name: fleet.name, hosts: fleet.hosts)
        report = t.apply(plan(empty, ImageInputs.compute(empty)), allowDestroy: true)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(plan(empty, ImageInputs.compute(empty)).changes.isEmpty)
        #expect(files(poolPath).isEmpty, "images, overlays and seeds are gone: \(files(poolPath))")
        let conn = try Connection(uri: uri)
        #expect(try conn.storagePool(named: "\(t.prefix)pool") == nil)
        #expect(try conn.domain(named: LedgerMapping.domainName(fleet: fleet.name)) == nil, "no ledger is left")

        // The old destroy's leftovers: VM, disk and seed gone, the pool undefined, the image volume still in
        // its directory and in the ledger. A re-apply reuses it instead of failing with "exists already".
        report = t.apply(plan(fleet, inputs))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        let pool = try #require(try conn.storagePool(named: "\(t.prefix)pool"))
        let inode = { (p: String) -> UInt64? in
            (try? FileManager.default.attributesOfItem(atPath: p)[.systemFileNumber] as? UInt64) ?? nil
        }
        let before = inode(poolPath + "/" + imageVolume)
        if let d = try conn.domain(named: "\(t.prefix)vm") { try d.undefine() }
        for v in ["\(t.prefix)vm-disk0.qcow2", "\(t.prefix)vm-cidata.img"] { try pool.volume(named: v)?.delete() }
        try pool.destroy()
        try pool.undefine()
        #expect(files(poolPath) == [imageVolume])
        let again = plan(fleet, inputs)
        #expect(again.changes.contains { $0.object.description == "image/\(t.prefix)base" && $0.action == .create })
        report = t.apply(again)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(plan(fleet, inputs).changes.isEmpty, "\(plan(fleet, inputs).changes)")
        #expect(inode(poolPath + "/" + imageVolume) == before, "the owned image volume was reused, not uploaded again")
        t.destroy(fleet)
    }

    @Test func aForeignVolumeWithTheImageNameIsLeftAlone() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let (fleet, inputs, poolPath) = try setUp(t)
        let imageVolume = fleet.images[0].volumeName
        try FileManager.default.createDirectory(atPath: poolPath, withIntermediateDirectories: true)
        let foreign = Data("not fleet's\n".utf8)
        try foreign.write(to: URL(fileURLWithPath: poolPath + "/" + imageVolume))
        let report = t.apply(plan(fleet, inputs))
        let failure = try #require(report.results.first { $0.object == "image/\(t.prefix)base" })
        #expect(failure.outcome == .failed)
        // Refused by the ownership check at the moment of change (no ledger entry): never reused, never overwritten.
        #expect(failure.message?.contains("was created by someone else") == true, "\(failure.message ?? "")")
        #expect(try Data(contentsOf: URL(fileURLWithPath: poolPath + "/" + imageVolume)) == foreign, "left as it was")
        t.destroy(fleet)
        try? FileManager.default.removeItem(atPath: poolPath + "/" + imageVolume)
    }
}
