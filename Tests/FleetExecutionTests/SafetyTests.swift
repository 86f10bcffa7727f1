import FleetExecution
import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// The host lock lives in libvirt: one holder per host, whatever the URI spelling or machine; a stale lock is
/// reported and removed only on request; a live one is never taken over silently.
@Suite(.serialized) struct HostLockTests {
    /// `test:///default` is one state per process, so two connections see the same lock, as two machines would.
    let uri = "test:///default"

    @Test func oneHolderAtATimeAndReleaseFreesIt() throws {
        let a = try HostLock.acquire(host: "h", conn: Connection(uri: uri), fleet: "f1", command: "apply", timeout: 0)
        var waited = false
        do {
            _ = try HostLock.acquire(host: "h", conn: Connection(uri: uri), fleet: "f2", command: "apply", timeout: 0.6) { _ in
                waited = true
            }
            Issue.record("a second holder got the lock")
        } catch let e as HostLockError {
            guard case .held(_, let by) = e else {
                Issue.record("expected held, got \(e)")
                return
            }
            #expect(by.fleet == "f1" && by.pid == getpid())
            #expect("\(e)".contains("--lock-timeout"))
        }
        #expect(waited, "the waiter is told who holds the lock")
        a.release()
        let b = try HostLock.acquire(host: "h", conn: Connection(uri: uri), fleet: "f2", command: "apply", timeout: 0)
        b.release()
        #expect(try Connection(uri: uri).domain(named: LockMapping.domainName) == nil)
    }

    @Test func aLiveLockIsNeverBrokenWithoutForce() throws {
        let a = try HostLock.acquire(host: "h", conn: Connection(uri: uri), fleet: "f1", command: "apply", timeout: 0)
        defer { a.release() }
        #expect(throws: HostLockError.self) { _ = try HostLock.breakLock(conn: Connection(uri: uri), host: "h", force: false) }
        #expect(try Connection(uri: uri).domain(named: LockMapping.domainName) != nil)
    }

    @Test(arguments: ["dead process", "expired lease"])
    func aStaleLockIsReportedAndUnlockRemovesIt(_ kind: String) throws {
        let conn = try Connection(uri: uri)
        let now = Date().timeIntervalSince1970
        let holder: LockHolder
        if kind == "dead process" {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/true")
            try p.run()
            p.waitUntilExit()
            holder = LockHolder(
                machine: ProcessInfo.processInfo.hostName, pid: p.processIdentifier, fleet: "gone", command: "apply",
                started: now - 5, expires: now + 100, token: "t")
        } else {
            holder = LockHolder(
                machine: "other-machine", pid: 1, fleet: "gone", command: "apply", started: now - 500, expires: now - 10, token: "t")
        }
        _ = try conn.defineDomain(xml: LockMapping.render(holder, hypervisor: .test))
        do {
            _ = try HostLock.acquire(host: "h", conn: conn, fleet: "f", command: "apply", timeout: 2)
            Issue.record("a stale lock was taken over silently")
        } catch let e as HostLockError {
            guard case .stale(_, let by, _) = e else {
                Issue.record("expected stale, got \(e)")
                return
            }
            #expect(by == holder)
            #expect("\(e)".contains("fleet unlock h"))
        }
        #expect(try HostLock.breakLock(conn: conn, host: "h", force: false) == holder)
        let lock = try HostLock.acquire(host: "h", conn: conn, fleet: "f", command: "apply", timeout: 0)
        lock.release()
    }
}

/// The same lock through two spellings of one daemon's URI: the second is refused while the first holds it.
@Suite(.serialized, .enabled(if: systemURI != nil, "needs a real libvirtd"))
struct HostLockSystemTests {
    @Test func twoURISpellingsShareOneLock() throws {
        let socket = ["/run/libvirt/libvirt-sock", "/var/run/libvirt/libvirt-sock"].first { FileManager.default.fileExists(atPath: $0) }
        let other = "qemu+unix:///system?socket=\(try #require(socket))"
        let a = try HostLock.acquire(host: "local", conn: Connection(uri: "qemu:///system"), fleet: "ft-a", command: "apply", timeout: 60)
        defer { a.release() }
        #expect(throws: HostLockError.self) {
            _ = try HostLock.acquire(host: "local", conn: Connection(uri: other), fleet: "ft-b", command: "apply", timeout: 0.5)
        }
    }
}

/// Ownership is checked at the moment of change, by name, UUID and mark.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct OwnershipAtChangeTests {
    let uri = systemURI ?? "qemu:///system"

    /// A VM planned as a create, but defined by someone else before apply: the create fails, their domain is untouched.
    @Test func aLookAlikeDefinedAfterThePlanIsNeverOverwritten() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        var fleet = try t.load(t.manifest())
        fleet.vms.removeAll { $0.name == "\(t.prefix)gpu" }
        let plan = t.plan(fleet)
        #expect(plan.changes.contains { $0.object.description == "vm/\(t.prefix)web" && $0.action == .create })
        let conn = try Connection(uri: uri)
        let theirs = try conn.defineDomain(
            xml: """
                <domain type='qemu'><name>\(t.prefix)web</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
                <description>owned by another tool</description><os><type arch='x86_64'>hvm</type></os></domain>
                """)
        let theirUUID = try theirs.uuidString
        let report = t.apply(plan)
        let vm = report.results.first { $0.object == "vm/\(t.prefix)web" && $0.action == "create" }
        #expect(vm?.outcome == .failed)
        #expect(vm?.message?.contains("was created by someone else") == true, "\(vm?.message ?? "")")
        let after = try #require(try conn.domain(named: "\(t.prefix)web"))
        #expect(try after.uuidString == theirUUID)
        #expect(try after.xmlDesc(flags: .inactive).contains("owned by another tool"))
        #expect(try after.metadata(uri: OwnerXML.namespace, flags: .config) == nil, "their domain did not take fleet's mark")
        try after.undefine()
        t.destroy(fleet)
    }

    /// A pool whose create fails leaves no ledger entry, so a pool someone defines later under that name is never deleted.
    @Test func aFailedCreateLeavesNoLedgerEntry() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        // Another pool already uses the path: libvirt refuses the define ("Storage source conflict").
        let path = "/var/lib/libvirt/images/\(t.prefix)shared"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let holder = try conn.definePool(xml: "<pool type='dir'><name>\(t.prefix)holder</name><target><path>\(path)</path></target></pool>")
        let fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(t.prefix)pool: {type: dir, path: "\(path)"}}
            """)
        let report = t.apply(t.plan(fleet))
        #expect(report.results.first { $0.object == "pool/\(t.prefix)pool" }?.outcome == .failed)
        let ledger = try conn.domain(named: LedgerName.of(t.fleetName))
        let entries = try ledger.map { try LedgerMapping.entries(fromXML: $0.xmlDesc(flags: .inactive)) } ?? []
        #expect(!entries.contains { $0.object == "\(t.prefix)pool" }, "\(entries)")
        try holder.undefine()

        // Someone else defines a pool with that name; the manifest no longer declares it: nothing deletes theirs.
        let theirs = try conn.definePool(xml: "<pool type='dir'><name>\(t.prefix)pool</name><target><path>\(path)</path></target></pool>")
        let empty = try t.load("fleet: \(t.fleetName)\nhosts: {local: {uri: \"\(uri)\"}}\n")
        let p = t.plan(empty)
        #expect(!p.changes.contains { $0.object.description == "pool/\(t.prefix)pool" }, "\(p.changes)")
        _ = t.apply(p, allowDestroy: true)
        #expect(try conn.storagePool(named: "\(t.prefix)pool") != nil)
        try theirs.undefine()
    }

    /// A network fleet created, then replaced by someone else under the same name (another UUID), is not fleet's.
    @Test func aReplacedNetworkIsNeverDeleted() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            networks: {\(t.prefix)net: {mode: isolated, subnet: 10.252.\(t.subnet).0/24}}
            """)
        #expect(t.apply(t.plan(fleet)).failed == 0)
        let ours = try #require(try conn.network(named: "\(t.prefix)net"))
        if try ours.isActive { try ours.destroy() }
        try ours.undefine()
        let theirs = try conn.defineNetwork(xml: "<network><name>\(t.prefix)net</name></network>")
        let empty = try t.load("fleet: \(t.fleetName)\nhosts: {local: {uri: \"\(uri)\"}}\n")
        let p = t.plan(empty)
        #expect(!p.changes.contains { $0.object.description == "network/\(t.prefix)net" }, "\(p.changes)")
        _ = t.apply(p, allowDestroy: true)
        #expect(try conn.network(named: "\(t.prefix)net")?.uuidString == theirs.uuidString)
        try theirs.undefine()
    }

    /// A change whose object was replaced after the plan fails at the moment of change, and nothing of its branch runs.
    @Test func anUpdateOfAReplacedDomainFails() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        var fleet = try t.load(t.manifest())
        fleet.vms.removeAll { $0.name == "\(t.prefix)gpu" }
        fleet.vms[0].state = .stopped
        #expect(t.apply(t.plan(fleet)).failed == 0)
        fleet.vms[0].memory = .mib(96)
        let plan = t.plan(fleet)
        #expect(plan.changes.contains { $0.object.description == "vm/\(t.prefix)web" && $0.action == .update })
        // Replaced by someone else: same name, same XML (their copy even carries fleet's mark), another UUID.
        let conn = try Connection(uri: uri)
        let old = try #require(try conn.domain(named: "\(t.prefix)web"))
        let xml = try old.xmlDesc(flags: .inactive).replacingOccurrences(of: try old.uuidString, with: UUID().uuidString.lowercased())
        try old.undefine()
        _ = try conn.defineDomain(xml: xml)
        let report = t.apply(plan)
        let r = report.results.first { $0.object == "vm/\(t.prefix)web" }
        #expect(r?.outcome == .failed)
        #expect(r?.message?.contains("was replaced by another object") == true, "\(r?.message ?? "")")
        #expect(try conn.domain(named: "\(t.prefix)web")?.info().maxMemKiB == 128 * 1024)
        #expect(
            try conn.domain(named: "\(t.prefix)web")?.xmlDesc(flags: .inactive).contains("<currentMemory unit='KiB'>65536</currentMemory>")
                == true)
        t.destroy(fleet)
    }
}

/// A VM with a graphics password converges (its XML is read with VIR_DOMAIN_XML_SECURE), and a changed password
/// is planned without being printed. Runs through `Session`, the pipeline the CLI uses.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct GraphicsPasswordTests {
    let uri = systemURI ?? "qemu:///system"

    @Test func aGraphicsPasswordConvergesAndAChangeIsPlannedUnprinted() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(t.prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(t.prefix)pool"}}
            vms:
              \(t.prefix)vnc:
                virt_type: qemu
                memory: 32MiB
                disks: [{size: 8MiB, pool: \(t.prefix)pool}]
                graphics: {type: vnc, listen: 127.0.0.1, password: {env: FT_VNC_PW}}
                state: stopped
            """)
        let first = Session(fleet: fleet, secrets: SecretResolver(environment: ["FT_VNC_PW": "s3cret"]))
        let report = first.executor(first.plan().0, options: ApplyOptions()) { _ in }.run()
        #expect(report.failed == 0, "\(report.results)")
        let again = first.plan().0
        #expect(again.changes.isEmpty, "a VM with a graphics password converges: \(again.changes)")

        let changed = Session(fleet: fleet, secrets: SecretResolver(environment: ["FT_VNC_PW": "n3wpass"]))
        let plan = changed.plan().0
        let c = try #require(plan.changes.first { $0.object.description == "vm/\(t.prefix)vnc" })
        let attr = try #require(c.attributes.first { $0.name == "graphics.password" })
        #expect(attr.sensitive)
        let rendered = PlanRenderer(color: false).render(plan)
        #expect(!rendered.contains("n3wpass") && !rendered.contains("s3cret"), "\(rendered)")
        #expect(changed.executor(plan, options: ApplyOptions()) { _ in }.run().failed == 0)
        #expect(changed.plan().0.changes.isEmpty, "the new password converges")
        t.destroy(fleet)
    }
}
