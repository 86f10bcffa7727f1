import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// End-to-end on the real libvirtd (qemu:///system, inside the test network namespace):
/// manifests → plan → apply → re-plan, out-of-band changes, live updates, destroy.
/// Every object is named with a unique prefix and removed at the end, even on failure.

@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct SystemTests {
    let uri = systemURI ?? "qemu:///system"

    @Test func applyPlanUpdateDestroy() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let before = try t.unmanagedInventory()

        var fleet = try t.load(t.manifest())
        var report = t.apply(t.plan(fleet))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")

        // Planning the same manifest after apply: nothing to do.
        var p = t.plan(fleet)
        #expect(p.changes.isEmpty, "\(p.changes)")

        let conn = try Connection(uri: uri)
        let web = try #require(try conn.domain(named: "\(t.prefix)web"))
        let id = try #require(web.id)
        #expect(try conn.domain(named: "\(t.prefix)gpu")?.isActive == false)

        // Out-of-band: virsh autostart, virsh setvcpus --config.
        try web.setAutostart(true)
        try web.setVcpus(2, flags: .config)
        p = t.plan(fleet)
        let drift = try #require(p.changes.first { $0.object.description == "vm/\(t.prefix)web" })
        #expect(drift.action == .update)
        #expect(Set(drift.attributes.map(\.name)) == ["autostart", "vcpus"])
        report = t.apply(p)
        #expect(report.failed == 0, "\(report.results)")
        #expect(t.plan(fleet).changes.isEmpty)

        // Every live update class on the running guest, without a restart.
        fleet = try t.load(t.manifest(memory: "96MiB", vcpus: 2, extraNIC: true, dataDisk: true, systemDiskSize: "96MiB"))
        p = t.plan(fleet)
        let vmChange = try #require(p.changes.first { $0.object.description == "vm/\(t.prefix)web" })
        #expect(vmChange.action == .update, "\(vmChange)")
        report = t.apply(p)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        let after = try #require(try conn.domain(named: "\(t.prefix)web"))
        #expect(after.id == id, "the guest was restarted")
        let persistent = try after.xmlDesc(flags: .inactive)
        #expect(try after.vcpus(flags: .config) == 2)
        #expect(persistent.contains("98304"), "memory 96MiB persisted in the config")
        #expect(persistent.contains("\(t.prefix)web-data.qcow2"))
        #expect(try after.vcpus(flags: .live) == 2)
        let grown = try #require(try conn.storagePool(named: "\(t.prefix)pool")?.volume(named: "\(t.prefix)web-disk0.qcow2"))
        #expect(try grown.info().capacityBytes == 96 << 20)
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes)")

        // Restart-class change: written to the config, applied to the guest only with --allow-restart.
        fleet = try t.load(
            t.manifest(memory: "96MiB", vcpus: 2, extraNIC: true, dataDisk: true, systemDiskSize: "96MiB", maxMemory: "192MiB"))
        p = t.plan(fleet)
        #expect(p.changes.first { $0.object.description == "vm/\(t.prefix)web" }?.action == .updateRestart)
        report = t.apply(p)
        #expect(report.failed == 0)
        #expect(try conn.domain(named: "\(t.prefix)web")?.id == id, "restarted without --allow-restart")

        // Destroy: everything owned goes, the host's unmanaged objects are as before.
        t.destroy(fleet)
        #expect(try t.unmanagedInventory() == before)
        #expect(try conn.domain(named: LedgerName.of(t.fleetName)) == nil)
    }

    @Test func refusedChangesAreNeverAttempted() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        var fleet = try t.load(t.manifest())
        #expect(t.apply(t.plan(fleet)).failed == 0)
        // A snapshot on the PCI VM (the validator rejects this in a manifest; a plan must refuse it too).
        let i = try #require(fleet.vms.firstIndex { $0.name == "\(t.prefix)gpu" })
        fleet.vms[i].snapshots = ["before"]
        let p = t.plan(fleet)
        let refused = try #require(p.changes.first { $0.object.description == "snapshot/\(t.prefix)gpu/before" })
        #expect(refused.action == .refused)
        #expect(refused.reason.contains("PCI passthrough"))
        let report = t.apply(p)
        #expect(!report.results.contains { $0.object == "snapshot/\(t.prefix)gpu/before" })
        let conn = try Connection(uri: uri)
        #expect(try conn.domain(named: "\(t.prefix)gpu")?.listAllSnapshots().isEmpty == true)
        t.destroy(fleet)
    }

    /// A declared name taken by an unmanaged object is refused, and taken over only with --adopt.
    @Test func adoptTakesOverAnUnmanagedObject() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        _ = try conn.defineNetwork(
            xml:
                "<network><name>\(t.prefix)net</name><forward mode='nat'/><ip address='10.251.\(t.subnet).1' prefix='24'><dhcp><range start='10.251.\(t.subnet).100' end='10.251.\(t.subnet).200'/></dhcp></ip></network>"
        )
        let fleet = try t.load(t.manifest())
        var p = t.plan(fleet)
        #expect(p.changes.first { $0.object.description == "network/\(t.prefix)net" }?.action == .refused)
        let refusedRun = t.apply(p)
        #expect(!refusedRun.results.contains { $0.object == "network/\(t.prefix)net" }, "a refused change is never attempted")

        p = t.plan(fleet, options: PlanOptions(adopt: true))
        #expect(p.changes.first { $0.object.description == "network/\(t.prefix)net" }?.action == .adopt)
        let report = t.apply(p)
        #expect(report.failed == 0, "\(report.results)")
        let live = StateReader(fleet: fleet.name).read(hosts: fleet.hosts)
        #expect(live.hosts[0].networks.first { $0.name == "\(t.prefix)net" }?.owner?.fleet == fleet.name)
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes)")
        t.destroy(fleet)
        #expect(try conn.network(named: "\(t.prefix)net") == nil, "an adopted object is owned: destroy removes it")
    }

    @Test func aFailedBranchDoesNotStopIndependentOnes() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        // The pool's directory cannot be created (its parent is a regular file): the pool, its
        // volumes and the VMs on them fail or are skipped; the network is independent and applied.
        let blocker = NSTemporaryDirectory() + "\(t.prefix)file"
        FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: blocker) }
        let fleet = try t.load(t.manifest(poolPath: blocker + "/pool"))
        let report = t.apply(t.plan(fleet))
        #expect(report.results.first { $0.object == "pool/\(t.prefix)pool" }?.outcome == .failed)
        #expect(report.results.first { $0.object == "network/\(t.prefix)net" }?.outcome == .applied)
        let skipped = report.results.filter { $0.outcome == .skipped }.map(\.object)
        #expect(skipped.contains("vm/\(t.prefix)web"))
        let message = report.results.first { $0.object == "pool/\(t.prefix)pool" }?.message ?? ""
        #expect(message.contains(blocker), "libvirt's own message names the path: \(message)")
        // The half-made pool was rolled back: the next plan is a clean create, and a fixed manifest converges.
        #expect(t.plan(fleet).changes.first { $0.object.description == "pool/\(t.prefix)pool" }?.action == .create)
        let fixed = try t.load(t.manifest())
        #expect(t.apply(t.plan(fixed)).failed == 0)
        #expect(t.plan(fixed).changes.isEmpty)
        t.destroy(fixed)
    }
}

enum LedgerName {
    static func of(_ fleet: String) -> String { "fleet-ledger-\(fleet)" }
}

/// One test's fleet: unique names, a manifest written to a temp dir, and cleanup by prefix.
struct TestFleet {
    let uri: String
    let prefix: String
    let fleetName: String
    let dir: URL
    let subnet: Int

    init(uri: String) throws {
        self.uri = uri
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        prefix = "ft-\(hex)-"
        fleetName = "ft\(hex)"
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + "manifests")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        subnet = Int.random(in: 1...250)
    }

    func manifest(
        memory: String = "64MiB", vcpus: Int = 1, extraNIC: Bool = false, dataDisk: Bool = false,
        systemDiskSize: String = "64MiB", maxMemory: String = "128MiB", poolPath: String? = nil
    ) -> String {
        """
        fleet: \(fleetName)
        hosts:
          local: {uri: "\(uri)"}
        pools:
          \(prefix)pool: {type: dir, path: "\(poolPath ?? "/var/lib/libvirt/images/\(prefix)pool")"}
        networks:
          \(prefix)net:
            mode: nat
            subnet: 10.251.\(subnet).0/24
            dhcp: {range: [10.251.\(subnet).100, 10.251.\(subnet).200]}
        devices:
          \(prefix)pci: {host: local, type: pci, address: "0000:00:00.0"}
        vms:
          \(prefix)web:
            virt_type: qemu
            vcpus: \(vcpus)
            max_vcpus: 2
            memory: \(memory)
            max_memory: \(maxMemory)
            disks:
              - {size: \(systemDiskSize), pool: \(prefix)pool}
        \(dataDisk ? "      - {name: data, size: 32MiB, pool: \(prefix)pool}" : "")
            networks:
              - {network: \(prefix)net, ip: 10.251.\(subnet).11}
        \(extraNIC ? "      - {network: \(prefix)net}" : "")
            graphics: {type: vnc, listen: 127.0.0.1}
            autostart: false
            state: running
          \(prefix)gpu:
            virt_type: qemu
            memory: 64MiB
            disks:
              - {size: 32MiB, pool: \(prefix)pool}
            hostdevs: [\(prefix)pci]
            state: stopped
        """
    }

    func load(_ yaml: String) throws -> Fleet {
        let file = dir.appendingPathComponent("fleet.yaml")
        try Data(yaml.utf8).write(to: file)
        let result = ManifestLoader().load(paths: [dir.path])
        guard let fleet = result.fleet else {
            throw TestFailure("manifest does not load: \(result.diagnostics.map(\.description).joined(separator: "\n"))\n\(yaml)")
        }
        return fleet
    }

    /// The plan the CLI would make (image inputs, live state, planner), through `Session`.
    func plan(_ fleet: Fleet, options: PlanOptions = PlanOptions()) -> Plan {
        Session(fleet: fleet).plan(options).0
    }

    func apply(_ plan: Plan, allowDestroy: Bool = false) -> ApplyReport {
        var o = ApplyOptions()
        o.shutdownTimeout = 3
        o.allowDestroy = allowDestroy
        return Executor(plan: plan, options: o) { _ in }.run()
    }

    func destroy(_ fleet: Fleet) {
        let empty = Fleet(name: fleet.name, hosts: fleet.hosts)
        for _ in 0..<3 {
            let p = plan(empty)
            if p.changes.isEmpty { return }
            _ = apply(p, allowDestroy: true)
        }
    }

    /// Everything on the host that no fleet owns, by name (the comparison `fleet destroy` must keep).
    func unmanagedInventory() throws -> [String] {
        let live = StateReader(fleet: nil).read(hosts: [HostSpec(name: "local", uri: uri)])
        let h = live.hosts[0]
        if let e = h.error { throw TestFailure(e) }
        // Other tests run concurrently on this daemon: only what is not theirs counts.
        let stable = { (name: String) in !name.hasPrefix("ft-") && !name.hasPrefix("ft") }
        return
            (h.domains.filter { $0.owner == nil && stable($0.name) }.map { "vm/\($0.name)" }
            + h.networks.filter { $0.owner == nil && stable($0.name) }.map { "network/\($0.name)" }
            + h.pools.filter { $0.owner == nil && stable($0.name) }.map { "pool/\($0.name)" }).sorted()
    }

    /// Removes whatever a failed test left, by prefix.
    func cleanup() {
        guard let conn = try? Connection(uri: uri) else { return }
        for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(prefix) || d.name == LedgerName.of(fleetName) {
            if (try? d.isActive) == true { try? d.destroy() }
            try? d.undefine(flags: [.managedSave, .snapshotsMetadata, .nvram])
        }
        for n in (try? conn.listAllNetworks()) ?? [] where n.name.hasPrefix(prefix) {
            if (try? n.isActive) == true { try? n.destroy() }
            try? n.undefine()
        }
        for p in (try? conn.listAllStoragePools()) ?? [] where p.name.hasPrefix(prefix) {
            for v in (try? p.listAllVolumes()) ?? [] { try? v.delete() }
            if (try? p.isActive) == true { try? p.destroy() }
            try? p.delete()
            try? p.undefine()
        }
        try? FileManager.default.removeItem(at: dir)
        try? FileManager.default.removeItem(atPath: "/var/lib/libvirt/images/\(prefix)pool")
    }
}

@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct ImageSystemTests {
    let uri = systemURI ?? "qemu:///system"

    /// An image uploaded through the stream API, an overlay disk on it, a cloud-init seed; re-plan is empty;
    /// new user-data rebuilds only the seed; a new image version reimages the disk (with --allow-destroy).
    @Test func imagesOverlaysAndSeeds() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let image = t.dir.appendingPathComponent("base.qcow2").path
        try run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", image, "48M"])
        let userData = t.dir.appendingPathComponent("user-data.cfg")
        try Data("#cloud-config\nhostname: one\n".utf8).write(to: userData)
        func manifest(_ sha: String) -> String {
            """
            fleet: \(t.fleetName)
            hosts:
              local: {uri: "\(uri)"}
            pools:
              \(t.prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(t.prefix)pool"}
            images:
              \(t.prefix)base: {source: base.qcow2, checksum: "sha256:\(sha)", pool: \(t.prefix)pool}
            vms:
              \(t.prefix)vm:
                virt_type: qemu
                memory: 64MiB
                disks:
                  - {image: \(t.prefix)base, size: 64MiB}
                cloud_init: {user_data: user-data.cfg}
                state: running
              \(t.prefix)full:
                virt_type: qemu
                memory: 64MiB
                disks:
                  - {image: \(t.prefix)base, clone: full, format: qcow2}
                state: stopped
            """
        }
        let sha = try sha256(image)
        let fleet = try t.load(manifest(sha))
        var report = t.apply(t.plan(fleet))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes)")

        let conn = try Connection(uri: uri)
        let pool = try #require(try conn.storagePool(named: "\(t.prefix)pool"))
        let base = try #require(try pool.volume(named: "\(t.prefix)base-\(sha.prefix(12)).qcow2"))
        let disk = try #require(try pool.volume(named: "\(t.prefix)vm-disk0.qcow2"))
        #expect(try disk.xmlDesc().contains(base.path), "the disk is an overlay backed by the image volume")
        #expect(try disk.info().capacityBytes == 64 << 20)
        // The uploaded volume has the source's bytes.
        #expect(try sha256(base.path) == sha)
        // clone: full copies the image: no backing store, the image's size.
        let full = try #require(try pool.volume(named: "\(t.prefix)full-disk0.qcow2"))
        #expect(try !full.xmlDesc().contains("<backingStore>"), "a full clone has no backing store")
        #expect(try full.info().capacityBytes == 48 << 20)

        // New user-data: only the seed is rebuilt.
        try Data("#cloud-config\nhostname: two\n".utf8).write(to: userData)
        var p = t.plan(fleet)
        #expect(p.changes.map { "\($0.action.rawValue) \($0.object)" } == ["replace volume/\(t.prefix)pool/\(t.prefix)vm-cidata.img"])
        report = t.apply(p)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(t.plan(fleet).changes.isEmpty)

        // A new image version: a new image volume, and the disk is reimaged (destructive).
        try run("/usr/bin/qemu-img", ["resize", "-q", image, "56M"])
        let sha2 = try sha256(image)
        let fleet2 = try t.load(manifest(sha2))
        p = t.plan(fleet2)
        #expect(p.changes.first { $0.object.description == "image/\(t.prefix)base" }?.action == .create)
        let reimage = try #require(p.changes.first { $0.object.description == "volume/\(t.prefix)pool/\(t.prefix)vm-disk0.qcow2" })
        #expect(reimage.action == .replace && reimage.destructive)
        #expect(
            p.changes.first { $0.object.description == "volume/\(t.prefix)pool/\(t.prefix)full-disk0.qcow2" }?.action == .replace,
            "a full copy is remade from the new version too")
        report = t.apply(p)
        #expect(report.results.first { $0.object == reimage.object.description }?.outcome == .skipped, "replace needs --allow-destroy")
        let before = try #require(try conn.domain(named: "\(t.prefix)vm"))
        let (uuid, id) = (try before.uuidString, try before.id)
        report = t.apply(t.plan(fleet2), allowDestroy: true)
        #expect(report.failed == 0, "\(report.results)")
        // Reimaged: same domain (UUID), restarted (new id), running on the new image version.
        let after = try #require(try conn.domain(named: "\(t.prefix)vm"))
        #expect(try after.uuidString == uuid)
        #expect(try after.isActive)
        #expect(try after.id != id)
        let newBase = try #require(try pool.volume(named: "\(t.prefix)base-\(sha2.prefix(12)).qcow2"))
        #expect(try pool.volume(named: "\(t.prefix)vm-disk0.qcow2")?.xmlDesc().contains(newBase.path) == true)
        // The old version is no longer used by any disk: deleted on the next run.
        report = t.apply(t.plan(fleet2), allowDestroy: true)
        #expect(report.failed == 0, "\(report.results)")
        #expect(t.plan(fleet2).changes.isEmpty, "\(t.plan(fleet2).changes)")
        #expect(try pool.volume(named: "\(t.prefix)base-\(sha.prefix(12)).qcow2") == nil)
        t.destroy(fleet2)
    }
}

func run(_ tool: String, _ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    try p.run()
    p.waitUntilExit()
    if p.terminationStatus != 0 { throw TestFailure("\(tool) \(args) exited \(p.terminationStatus)") }
}

func sha256(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(String(decoding: out, as: UTF8.self).prefix(64))
}

/// The same apply → plan → destroy cycle on libvirt's test driver served by the daemon
/// (`test+unix:///default`, whose state lasts while a client holds a connection): proves the
/// executor and the reader agree on the test driver's normalisation too.
@Suite(.serialized, .enabled(if: systemURI != nil, "needs a running libvirtd to serve test+unix:///default"))
struct TestDriverApplyTests {
    @Test func applyPlanDestroyOnTheTestDriver() throws {
        let uri = "test+unix:///default"
        let keepAlive = try Connection(uri: uri)  // holds the driver's state for the test's duration
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let before = try t.unmanagedInventory()
        // The test driver has no PCI device 0000:00:00.0: leave the passthrough VM out.
        var fleet = try t.load(t.manifest())
        fleet.vms.removeAll { $0.name == "\(t.prefix)gpu" }
        fleet.devices = []
        let report = t.apply(t.plan(fleet))
        #expect(
            report.failed == 0 && report.skipped == 0,
            "\(report.results.filter { $0.outcome != .applied }.map { "\($0.object): \($0.message ?? "")" })")
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes)")
        #expect(try keepAlive.domain(named: "\(t.prefix)web")?.isActive == true)
        t.destroy(fleet)
        #expect(try t.unmanagedInventory() == before)
        #expect(t.plan(Fleet(name: fleet.name, hosts: fleet.hosts)).changes.isEmpty, "destroy left owned objects behind")
    }
}
