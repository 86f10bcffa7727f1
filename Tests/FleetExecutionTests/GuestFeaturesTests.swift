import FleetExecution
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// One boot of the real Debian guest (RealGuestTests' image) checks issue 16's guest-facing features from inside:
/// - Ignition: the config fleet uploaded beside the disks is the guest's fw_cfg entry `opt/com.coreos/config`;
/// - a virtiofs share: `mount -t virtiofs data /mnt` shows a file written on the host;
/// - online growth: a larger `size:` applied with the guest running grows the root filesystem through the
///   agent (growpart + resize2fs), with no restart (same domain id).
@Suite(
    .serialized,
    .enabled(
        if: systemURI != nil && FileManager.default.fileExists(atPath: realGuestImage),
        "set FLEET_TEST_LIBVIRT_URI and build \(realGuestImage) (shared/realguest/build.sh)"))
struct GuestFeaturesTests {
    let uri = systemURI ?? "qemu:///system"

    @Test func ignitionShareAndOnlineGrowthReachTheGuest() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let vm = "\(t.prefix)deb"
        let pool = "\(t.prefix)pool"
        let share = t.dir.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        let marker = "written on the host for \(vm)\n"
        try Data(marker.utf8).write(to: share.appendingPathComponent("hello.txt"))
        let ignition = #"{"ignition": {"version": "3.3.0"}, "passwd": {"users": [{"name": "core"}]}}"# + "\n"
        try Data(ignition.utf8).write(to: t.dir.appendingPathComponent("config.ign"))
        let imageBytes = try #require(
            try Data(contentsOf: URL(fileURLWithPath: realGuestImage), options: .alwaysMapped).withUnsafeBytes { raw -> UInt64? in
                // qcow2 header: the virtual size is the big-endian UInt64 at offset 24.
                guard raw.count >= 32 else { return nil }
                return (24..<32).reduce(UInt64(0)) { $0 << 8 | UInt64(raw[$1]) }
            })
        let grown = ByteSize(bytes: imageBytes + 512 * 1024 * 1024)
        func manifest(size: String?) -> String {
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(pool): {type: dir, path: "/var/lib/libvirt/images/\(pool)"}}
            images:
              \(t.prefix)debian12: {source: \(realGuestImage), format: qcow2, pool: \(pool)}
            vms:
              \(vm):
                virt_type: qemu
                memory: 512MiB
                disks: [{image: \(t.prefix)debian12\(size.map { ", size: \($0)" } ?? "")}]
                graphics: none
                guest_agent: true
                ignition: {config: config.ign}
                shares: [{source: \(share.path), target: data}]
            """
        }

        // Create: the plan says what virtiofs adds; after apply nothing is left to do.
        let fleet1 = try t.load(manifest(size: nil))
        let plan1 = t.plan(fleet1)
        let create = try #require(plan1.changes.first { $0.object == ObjectRef(.vm, vm) && $0.action == .create })
        let names = create.attributes.map(\.name)
        #expect(names.contains("share data") && names.contains("memory_backing") && names.contains("ignition"), "\(names)")
        #expect(plan1.changes.contains { $0.object.name == "\(pool)/\(vm)-ignition.ign" && $0.steps == [.createIgnition] })
        let report = t.apply(plan1)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results.filter { $0.outcome != .applied })")
        #expect(t.plan(fleet1).changes.isEmpty, "\(t.plan(fleet1).changes)")

        // The Ignition volume: the file's bytes, private to its owner, named by the domain's fw_cfg entry.
        let vol = try #require(try conn.storagePool(named: pool)?.volume(named: "\(vm)-ignition.ign"))
        let volPath = try vol.path
        #expect(try String(contentsOfFile: volPath, encoding: .utf8) == ignition)
        var st = stat()
        #expect(stat(volPath, &st) == 0 && st.st_mode & 0o077 == 0, "mode \(String(st.st_mode & 0o7777, radix: 8))")
        let dom = try #require(try conn.domain(named: vm))
        let cfg = try DomainMapping.config(fromXML: dom.xmlDesc())
        #expect(cfg.ignitionFile == volPath && cfg.sharedMemory, "\(cfg.ignitionFile ?? "no fw_cfg entry")")
        #expect(cfg.shares == [ShareSpec(source: share.path, target: "data")], "\(cfg.shares)")

        let agent = GuestAgent(domain: dom)
        try agent.waitForPing(timeout: 600)

        // Ignition's fw_cfg entry, as Ignition reads it on QEMU.
        _ = try agent.exec("/sbin/modprobe", ["qemu_fw_cfg"])
        let raw = try agent.exec("/bin/cat", ["/sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw"])
        #expect(raw.exitCode == 0 && raw.stdout == ignition, "\(raw)")

        // The virtiofs share.
        let mount = try agent.exec("/bin/mount", ["-t", "virtiofs", "data", "/mnt"])
        #expect(mount.exitCode == 0, "\(mount)")
        let read = try agent.exec("/bin/cat", ["/mnt/hello.txt"])
        #expect(read.stdout == marker, "\(read)")
        _ = try agent.exec("/bin/umount", ["/mnt"])

        // Online growth: block device, partition and root filesystem, the guest running throughout.
        func rootBytes() throws -> Int {
            let fs = try agent.command("guest-get-fsinfo", timeout: 30) as? [[String: Any]] ?? []
            return fs.first { $0["mountpoint"] as? String == "/" }?["total-bytes"] as? Int ?? -1
        }
        let idBefore = dom.id
        let rootBefore = try rootBytes()
        let fleet2 = try t.load(manifest(size: "\(grown.bytes)B"))
        let plan2 = t.plan(fleet2)
        let grow = try #require(plan2.changes.first { $0.object.kind == .volume && $0.object.name.hasSuffix("-disk0.qcow2") })
        #expect(grow.steps == [.resizeVolume(grown), .growGuestFilesystem], "\(grow)")
        #expect(grow.reason.contains("guest agent"), "\(grow.reason)")
        #expect(plan2.changes.count == 1, "only the disk changes: \(plan2.changes)")
        let growReport = t.apply(plan2)
        #expect(growReport.failed == 0 && growReport.skipped == 0, "\(growReport.results.filter { $0.outcome != .applied })")
        let rootAfter = try rootBytes()
        #expect(rootBefore > 0 && rootAfter > rootBefore + 400 * 1024 * 1024, "root filesystem \(rootBefore) → \(rootAfter) bytes")
        #expect(try dom.id == idBefore && dom.isActive && idBefore != nil, "no restart")
        #expect(t.plan(fleet2).changes.isEmpty, "\(t.plan(fleet2).changes)")

        // destroy removes the Ignition volume with the rest.
        t.destroy(fleet2)
        #expect(try conn.domain(named: vm) == nil)
        #expect(try conn.storagePool(named: pool)?.volume(named: "\(vm)-ignition.ign") == nil)
    }
}
