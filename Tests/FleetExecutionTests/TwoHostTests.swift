import FleetExecution
import FleetImages
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Guestfs
import Libvirt
import Testing

/// The two-host lab beside the repository (`../shared/twohost`, brought up by scripts/test.sh): two libvirt
/// daemons on one machine, each with private /var/lib/libvirt (so a pool there is NOT shared storage).
enum TwoHostLab {
    static let dir: String =
        ProcessInfo.processInfo.environment["FLEET_TWOHOST_DIR"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/twohost").standardizedFileURL.path
    static var present: Bool { FileManager.default.fileExists(atPath: dir + "/up.sh") }
    static func uri(_ host: String) -> String { "qemu+unix:///system?socket=/var/tmp/twohost/\(host)/run/libvirt-sock" }

    /// A path inside a lab host's mount namespace, as the root namespace reaches it (through its libvirtd).
    static func hostPath(_ host: String, _ path: String) throws -> String {
        let pidText = try String(contentsOfFile: "/var/tmp/twohost/\(host)/libvirtd.pid", encoding: .utf8)
        let pid = pidText.trimmingCharacters(in: .whitespacesAndNewlines)
        return "/proc/\(pid)/root\(path)"
    }
}

/// Moves between the lab's two hosts with the real Debian guest (one boot): a live migration by changing `host:`
/// (the guest keeps running; the disk is copied by QEMU; the old host keeps nothing), then an offline move of the
/// stopped guest (the disk contents are copied through the stream API: a file written before is on the new host).
/// And a VM with a PCI hostdev, never started, is refused before anything is touched.
@Suite(
    .serialized,
    .enabled(
        if: TwoHostLab.present && FileManager.default.fileExists(atPath: realGuestImage),
        "the two-host lab (\(TwoHostLab.dir)/up.sh) or \(realGuestImage) is absent"))
struct TwoHostTests {
    let hostA = TwoHostLab.uri("hostA"), hostB = TwoHostLab.uri("hostB")

    func connections() throws -> (Connection, Connection) {
        // The lab's scripts are here, so it must be up (scripts/test.sh starts it): a down lab is a failure.
        do { return (try Connection(uri: hostA), try Connection(uri: hostB)) } catch {
            throw TestFailure("the two-host lab is not up (run \(TwoHostLab.dir)/up.sh as root): \(error)")
        }
    }

    func apply(_ plan: Plan, shutdownTimeout: Double = 180, allowDestroy: Bool = false) -> ApplyReport {
        var o = ApplyOptions()
        o.shutdownTimeout = shutdownTimeout
        o.allowDestroy = allowDestroy
        return Executor(plan: plan, options: o) { _ in }.run()
    }

    /// Everything named by the test's prefix on both hosts, and the fleet's ledger.
    func cleanup(_ t: TestFleet) {
        t.destroy(Fleet(name: t.fleetName, hosts: [HostSpec(name: "hostA", uri: hostA), HostSpec(name: "hostB", uri: hostB)]))
        for uri in [hostA, hostB] {
            guard let conn = try? Connection(uri: uri) else { continue }
            for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(t.prefix) || d.name == LedgerName.of(t.fleetName) {
                if (try? d.isActive) == true { try? d.destroy() }
                try? d.undefine(flags: [.managedSave, .snapshotsMetadata, .nvram])
            }
            for p in (try? conn.listAllStoragePools()) ?? [] where p.name.hasPrefix(t.prefix) {
                for v in (try? p.listAllVolumes()) ?? [] { try? v.delete() }
                if (try? p.isActive) == true { try? p.destroy() }
                try? p.delete()
                try? p.undefine()
            }
        }
        try? FileManager.default.removeItem(at: t.dir)
    }

    func manifest(_ t: TestFleet, host: String, state: String) -> String {
        """
        fleet: \(t.fleetName)
        hosts:
          hostA: {uri: "\(hostA)"}
          hostB: {uri: "\(hostB)"}
        pools:
          \(t.prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(t.prefix)pool"}
        images:
          \(t.prefix)debian12: {source: \(realGuestImage), format: qcow2, pool: \(t.prefix)pool}
        vms:
          \(t.prefix)deb:
            host: \(host)
            virt_type: qemu
            memory: 512MiB
            disks: [{image: \(t.prefix)debian12}]
            graphics: none
            guest_agent: true
            state: \(state)
        """
    }

    func volumes(_ conn: Connection, _ pool: String) throws -> [String] {
        guard let p = try conn.storagePool(named: pool) else { return [] }
        try p.refresh()
        return try p.listAllVolumes().map(\.name).sorted()
    }

    func uptime(_ agent: GuestAgent) throws -> Double {
        let r = try agent.exec("/bin/cat", ["/proc/uptime"])
        return Double(r.stdout.split(separator: " ").first ?? "") ?? -1
    }

    @Test func runningGuestMovesLiveThenStoppedGuestMovesOffline() throws {
        let (connA, connB) = try connections()
        let t = try TestFleet(uri: hostA)
        defer { cleanup(t) }
        let vm = "\(t.prefix)deb"
        let pool = "\(t.prefix)pool"
        let started = Date()
        func mark(_ what: String) { print("TwoHostTests: \(what) at \(Int(Date().timeIntervalSince(started))) s") }

        // Boot on hostA.
        var fleet = try t.load(manifest(t, host: "hostA", state: "running"))
        var report = apply(t.plan(fleet))
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        let agentA = GuestAgent(domain: try #require(try connA.domain(named: vm)))
        try agentA.waitForPing(timeout: 600)
        mark("booted on hostA")
        let before = try uptime(agentA)
        let marker = "moved-with-its-disk-\(t.prefix)"
        let wrote = try agentA.exec("/bin/sh", ["-c", "echo \(marker) > /root/fleet-move-marker && sync"])
        #expect(wrote.exitCode == 0, "\(wrote)")

        // Live: host: hostB. One change, the disk copied by QEMU, nothing destructive.
        fleet = try t.load(manifest(t, host: "hostB", state: "running"))
        var plan = t.plan(fleet)
        let move = try #require(plan.changes.first { $0.object.description == "vm/\(vm)" })
        #expect(move.action == .migrate && move.steps == [.migrate(toHost: "hostB", live: true)], "\(move)")
        #expect(move.reason.contains("live migration") && move.reason.contains("non-shared"), "\(move.reason)")
        #expect(move.attributes.contains { ($0.after ?? "").contains("onto the image here") }, "\(move.attributes)")
        #expect(!plan.changes.contains { $0.destructive }, "\(plan.changes.filter(\.destructive).map(\.object))")
        let t0 = Date()
        report = apply(plan)
        #expect(report.succeeded, "apply without --allow-destroy: \(report.results.filter { $0.outcome != .applied })")
        mark("live migration applied in \(Int(Date().timeIntervalSince(t0))) s")
        #expect(try connA.domain(named: vm) == nil)
        let domB = try #require(try connB.domain(named: vm))
        #expect(try domB.isActive)
        let agentB = GuestAgent(domain: domB)
        try agentB.waitForPing(timeout: 120)
        let after = try uptime(agentB)
        #expect(after > before, "uptime \(before) s before the move, \(after) s after: the guest was not restarted")
        let leftA = try volumes(connA, pool)
        #expect(leftA.isEmpty, "hostA keeps \(leftA)")
        #expect(try volumes(connB, pool).contains("\(vm)-disk0.qcow2"))
        plan = t.plan(fleet)
        #expect(plan.changes.isEmpty, "\(plan.changes.map { "\($0.action) \($0.object): \($0.reason)" })")

        // Offline: stop it on hostB, then host: hostA. Its disk (with the marker) is copied through the stream API.
        fleet = try t.load(manifest(t, host: "hostB", state: "stopped"))
        report = apply(t.plan(fleet))
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try !domB.isActive)
        fleet = try t.load(manifest(t, host: "hostA", state: "stopped"))
        plan = t.plan(fleet)
        let offline = try #require(plan.changes.first { $0.object.description == "vm/\(vm)" })
        #expect(offline.action == .migrate && offline.steps == [.migrate(toHost: "hostA", live: false)], "\(offline)")
        #expect(offline.reason.contains("disk contents copied ("), "\(offline.reason)")
        let t1 = Date()
        report = apply(plan)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        mark("offline move applied in \(Int(Date().timeIntervalSince(t1))) s")
        #expect(try connB.domain(named: vm) == nil)
        let domA = try #require(try connA.domain(named: vm))
        #expect(try !domA.isActive)
        let leftB = try volumes(connB, pool)
        #expect(leftB.isEmpty, "hostB keeps \(leftB)")
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes.map { "\($0.action) \($0.object): \($0.reason)" })")

        // The marker is in hostA's copy: read with libguestfs from a download of the volume, on hostA's image.
        let disk = try #require(try connA.storagePool(named: pool)?.volume(named: "\(vm)-disk0.qcow2"))
        let scratch = try Scratch(label: "fleet-twohost")
        let local = scratch.file("disk.qcow2")
        try disk.download(toFile: local, sparse: true)
        let backing = try #require(try Qcow2Backing.backingFile(ofFile: local))
        let imagePath = try #require(try connA.storagePool(named: pool)?.volume(named: fleet.images[0].volumeName)).path
        #expect(backing == imagePath, "the copied overlay names hostA's image")
        try Qcow2Backing.setBackingFile(ofFile: local, to: try TwoHostLab.hostPath("hostA", backing))
        let g = try Guestfs()
        try g.addDrive(local, format: "qcow2", readonly: true)
        try g.launch()
        let root = try #require(try g.inspectOS().first)
        try g.mountReadOnly(root, at: "/")
        #expect(try g.cat("/root/fleet-move-marker") == marker + "\n")
        try g.shutdown()
        mark("marker read on hostA")
    }

    /// A pool both hosts see at one path (the lab's /var/tmp/twohost/shared). No OS is needed: the guest idles in
    /// its firmware.
    /// - A running VM's live move is attempted without a disk copy, and libvirt itself refuses it, since the lab's
    ///   directory is on no filesystem libvirt recognises as shared (NFS, GFS2, OCFS2, CephFS, GlusterFS…). fleet
    ///   never adds VIR_MIGRATE_UNSAFE: the error is libvirt's own, and the VM keeps running where it was, with
    ///   nothing made on the other host and its disk untouched.
    /// - Stopped, it moves offline without a copy: the same file (same inode, same bytes) backs it on the new
    ///   host, nothing is deleted on the old one, and the next plan is empty on both.
    @Test func sharedPoolDisksStayInPlace() throws {
        let (connA, connB) = try connections()
        let t = try TestFleet(uri: hostA)
        defer { cleanup(t) }
        let vm = "\(t.prefix)probe"
        let pool = "\(t.prefix)shared"
        let dir = "/var/tmp/twohost/shared/\(pool)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func yaml(_ host: String, _ state: String) -> String {
            """
            fleet: \(t.fleetName)
            hosts:
              hostA: {uri: "\(hostA)"}
              hostB: {uri: "\(hostB)"}
            pools:
              \(pool): {type: dir, path: "\(dir)"}
            vms:
              \(vm):
                host: \(host)
                virt_type: qemu
                memory: 64MiB
                disks: [{size: 32MiB, pool: \(pool)}]
                graphics: none
                state: \(state)
            """
        }
        func describe(_ p: Plan) -> [String] { p.changes.map { "\($0.action) \($0.object): \($0.reason)" } }
        var fleet = try t.load(yaml("hostA", "running"))
        var report = apply(t.plan(fleet))
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        let domA = try #require(try connA.domain(named: vm))
        let idA = try domA.id
        #expect(try domA.isActive)
        let file = "\(dir)/\(vm)-disk0.qcow2"
        #expect(try volumes(connB, pool) == ["\(vm)-disk0.qcow2"], "hostB sees the disk in its own pool")
        var plan = t.plan(fleet)
        #expect(plan.changes.isEmpty, "\(describe(plan))")
        let inode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as? UInt64)

        // Live: planned without a copy, refused by libvirt, and nothing moved.
        fleet = try t.load(yaml("hostB", "running"))
        plan = t.plan(fleet)
        let live = try #require(plan.changes.first { $0.object.description == "vm/\(vm)" })
        #expect(live.action == .migrate && live.steps == [.migrate(toHost: "hostB", live: true)], "\(live)")
        #expect(live.reason.contains("shared pool, not copied") && live.reason.contains("requires a shared filesystem"), "\(live.reason)")
        #expect(live.attributes.contains { ($0.after ?? "").contains("(shared pool: not copied)") }, "\(live.attributes)")
        #expect(!plan.changes.contains { $0.destructive }, "\(describe(plan))")
        report = apply(plan)
        let failure = report.results.first { $0.object == "vm/\(vm)" }
        #expect(failure?.outcome == .failed, "\(report.results)")
        #expect((failure?.message ?? "").contains("Unsafe migration"), "libvirt's own text: \(failure?.message ?? "")")
        #expect(try connA.domain(named: vm)?.isActive == true && connA.domain(named: vm)?.id == idA, "still running on hostA")
        #expect(try connB.domain(named: vm) == nil, "nothing defined on hostB")
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(try volumes(connA, pool) == ["\(vm)-disk0.qcow2"])

        // Offline: stop it on hostA, then move it. The same file stays and backs the domain on hostB.
        // (Firmware alone does not answer ACPI: the graceful stop gives up after 5 s and forces it off.)
        report = apply(t.plan(try t.load(yaml("hostA", "stopped"))), shutdownTimeout: 5)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        // Bytes appended to the file (QEMU ignores data past a qcow2 image's clusters): a copy or a fresh volume
        // would not have them.
        let marker = Data("fleet-shared-\(t.prefix)".utf8)
        let h = try #require(FileHandle(forUpdatingAtPath: file))
        let size = try h.seekToEnd()
        try h.write(contentsOf: marker)
        try h.close()
        fleet = try t.load(yaml("hostB", "stopped"))
        plan = t.plan(fleet)
        let offline = try #require(plan.changes.first { $0.object.description == "vm/\(vm)" })
        #expect(offline.action == .migrate && offline.steps == [.migrate(toHost: "hostB", live: false)], "\(offline)")
        #expect(offline.reason.contains("shared pool, not copied"), "\(offline.reason)")
        #expect(!plan.changes.contains { $0.destructive }, "\(describe(plan))")
        report = apply(plan)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try connA.domain(named: vm) == nil)
        let domB = try #require(try connB.domain(named: vm))
        let xmlB = try domB.xmlDesc(flags: .inactive)
        #expect(xmlB.contains("pool='\(pool)' volume='\(vm)-disk0.qcow2'"), "hostB's domain uses the shared volume: \(xmlB)")
        let after = try FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as? UInt64
        #expect(after == inode, "the same file: inode \(inode) → \(String(describing: after))")
        let tail = try #require(FileHandle(forReadingAtPath: file))
        try tail.seek(toOffset: size)
        #expect(try tail.readToEnd() == marker, "the bytes written before the move are still there")
        try tail.close()
        #expect(try volumes(connA, pool) == ["\(vm)-disk0.qcow2"] && volumes(connB, pool) == ["\(vm)-disk0.qcow2"])
        plan = t.plan(fleet)
        #expect(plan.changes.isEmpty, "\(describe(plan))")

        // It starts on hostB from that disk.
        report = apply(t.plan(try t.load(yaml("hostB", "running"))))
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try domB.isActive)

        // Destroy: the disk is deleted once (by hostB, whose ledger lists it now), both pools and ledgers go.
        let destroy = t.plan(Fleet(name: fleet.name, hosts: fleet.hosts))
        let deletions = destroy.changes.filter { $0.object.description == "volume/\(pool)/\(vm)-disk0.qcow2" }
        #expect(deletions.count == 1, "\(describe(destroy))")
        report = apply(destroy, shutdownTimeout: 5, allowDestroy: true)
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        for conn in [connA, connB] {
            #expect(try conn.domain(named: vm) == nil && conn.storagePool(named: pool) == nil)
            #expect(try conn.domain(named: LedgerName.of(t.fleetName)) == nil, "no ledger left")
        }
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    /// A VM with a PCI hostdev (defined, never started) cannot migrate: the move is refused and nothing is made on
    /// hostB, although libvirt 9.0 itself moves such a stopped domain without complaint.
    @Test func pciHostdevVMIsRefusedBeforeAnythingIsTouched() throws {
        let (connA, connB) = try connections()
        let t = try TestFleet(uri: hostA)
        defer { cleanup(t) }
        let vm = "\(t.prefix)gpu"
        let pool = "\(t.prefix)pool"
        func yaml(_ host: String) -> String {
            """
            fleet: \(t.fleetName)
            hosts:
              hostA: {uri: "\(hostA)"}
              hostB: {uri: "\(hostB)"}
            pools:
              \(pool): {type: dir, path: "/var/lib/libvirt/images/\(pool)"}
            devices:
              \(t.prefix)pci: {host: \(host), type: pci, address: "0000:00:00.0"}
            vms:
              \(vm):
                host: \(host)
                virt_type: qemu
                memory: 64MiB
                disks: [{size: 32MiB, pool: \(pool)}]
                hostdevs: [\(t.prefix)pci]
                state: stopped
            """
        }
        var report = apply(t.plan(try t.load(yaml("hostA"))))
        #expect(report.succeeded, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try connA.domain(named: vm) != nil)
        let plan = t.plan(try t.load(yaml("hostB")))
        let c = try #require(plan.changes.first { $0.object.description == "vm/\(vm)" })
        #expect(c.action == .refused && c.steps.isEmpty, "\(c)")
        // (The lab's daemons read the machine's sysfs: 0000:00:00.0 is present on hostB, so this is the hostdev rule.)
        #expect(c.reason.contains("cannot migrate a domain with <hostdev mode='subsystem' type='pci'>"), "\(c.reason)")
        #expect(
            !plan.changes.contains { $0.parent?.name == vm && $0.action != .refused },
            "\(plan.changes.map { "\($0.action) \($0.object)" })")
        report = apply(plan)
        #expect(report.failed == 0, "\(report.results.filter { $0.outcome != .applied })")
        #expect(try connA.domain(named: vm) != nil && connB.domain(named: vm) == nil)
        #expect(try volumes(connA, pool) == ["\(vm)-disk0.qcow2"])
        #expect(try volumes(connB, pool).isEmpty)
    }
}
