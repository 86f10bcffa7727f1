import Dispatch
import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

public struct ApplyOptions: Sendable {
    public var allowRestart = false
    public var allowDestroy = false
    /// Seconds a guest gets to shut down on ACPI before it is forced off.
    public var shutdownTimeout: Double = 60
    public var connectTimeout: Double = 10
    /// Hosts worked on at once. Within a host, changes run in plan order (which is dependency order).
    public var parallelism = 2
    public var secrets = SecretResolver()
    public var imageCache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/fleet/images").path
    /// Called while an image uploads: host, object (`image/NAME`), bytes sent, total bytes.
    public var uploadProgress: (@Sendable (String, String, UInt64, UInt64) -> Void)?
    public init() {}
}

/// What happened to one change.
public enum Outcome: String, Codable, Sendable {
    case applied, failed, skipped
}

public struct ApplyEvent: Codable, Sendable {
    public enum Phase: String, Codable, Sendable { case start, finish }
    public var phase: Phase
    public var host: String
    public var object: String
    public var action: String
    public var outcome: Outcome?
    /// libvirt's own message on failure, or why a change was skipped.
    public var message: String?
    public var time: Date
}

public struct ApplyReport: Codable, Sendable {
    public var results: [ApplyEvent]
    public init(results: [ApplyEvent]) { self.results = results }
    public var applied: Int { results.filter { $0.outcome == .applied }.count }
    public var failed: Int { results.filter { $0.outcome == .failed }.count }
    public var skipped: Int { results.filter { $0.outcome == .skipped }.count }
    public var succeeded: Bool { failed == 0 && skipped == 0 }
}

public struct ExecutionError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// Runs a plan through libvirt. Every step is one libvirt API call (or a short sequence of them);
/// refused changes are never attempted, destructive ones only with --allow-destroy.
public final class Executor: @unchecked Sendable {
    let plan: Plan
    let options: ApplyOptions
    let emit: @Sendable (ApplyEvent) -> Void
    private let lock = NSLock()
    private var connections: [String: Connection] = [:]
    /// Set by SIGINT handling: finish what runs, start nothing new.
    public let cancelled = ManagedFlag()

    public init(plan: Plan, options: ApplyOptions, emit: @escaping @Sendable (ApplyEvent) -> Void) {
        self.plan = plan; self.options = options; self.emit = emit
    }

    var fleet: Fleet { plan.desired }

    public func run() -> ApplyReport {
        let box = ResultBox<[ApplyEvent]>(count: plan.hosts.count)
        let semaphore = DispatchSemaphore(value: max(1, options.parallelism))
        DispatchQueue.concurrentPerform(iterations: plan.hosts.count) { i in
            semaphore.wait()
            defer { semaphore.signal() }
            box.set(i, runHost(plan.hosts[i]))
        }
        return ApplyReport(results: box.values.flatMap { $0 ?? [] })
    }

    func connection(_ host: String) throws -> Connection {
        lock.lock(); defer { lock.unlock() }
        if let c = connections[host] { return c }
        guard let uri = plan.hosts.first(where: { $0.host == host })?.uri ?? fleet.hosts.first(where: { $0.name == host })?.uri else {
            throw ExecutionError("unknown host \(host)")
        }
        let c = try Connection(uri: uri, timeout: options.connectTimeout)
        connections[host] = c
        return c
    }

    func runHost(_ hp: HostPlan) -> [ApplyEvent] {
        let state = RunState()
        @Sendable func finish(_ c: Change, _ outcome: Outcome, _ message: String?) {
            let e = ApplyEvent(phase: .finish, host: hp.host, object: c.object.description, action: c.action.rawValue,
                               outcome: outcome, message: message, time: Date())
            emit(e)
            state.record(e, failed: outcome != .applied ? c.object : nil)
        }
        let conn: Connection
        do { conn = try connection(hp.host) } catch {
            for c in hp.changes where c.action != .refused { finish(c, .failed, "\(error)") }
            return state.results
        }
        let ctx = HostContext(executor: self, host: hp.host, conn: conn)
        let prerecorded = ctx.prerecord(hp.changes.filter { c in
            !c.destructive || options.allowDestroy
        })
        defer {
            // Marks recorded up front for disks that were not created after all.
            let results = state.results
            let notMade = prerecorded.filter { p in results.contains { $0.object == "volume/\(p.0)" && $0.outcome != .applied } }
            if !notMade.isEmpty { try? ctx.ledger.removeAll(notMade) }
        }
        @Sendable func run(_ c: Change) {
            if c.action == .refused { return }
            if cancelled.isSet { finish(c, .skipped, "interrupted before it started"); return }
            if c.destructive && !options.allowDestroy {
                finish(c, .skipped, "destroys data: run with --allow-destroy"); return
            }
            if let dep = dependencies(c).first(where: state.hasFailed) {
                finish(c, .skipped, "depends on \(dep), which did not apply"); return
            }
            emit(ApplyEvent(phase: .start, host: hp.host, object: c.object.description, action: c.action.rawValue, time: Date()))
            do {
                try ctx.apply(c)
                finish(c, .applied, c.action == .updateRestart && !options.allowRestart
                       ? (c.object.kind == .network
                          ? "config written; the network runs the old config until it restarts (--allow-restart restarts it)"
                          : "config written; the guest runs the old config until it restarts (--allow-restart restarts it)") : nil)
            } catch {
                finish(c, .failed, "\(error)")
            }
        }
        // Stage by stage in plan order (pools, images, volumes, networks, VMs, snapshots; deletions in
        // reverse), lanes within a stage in parallel. A lane is one object's changes (create, then start),
        // or one pool's volumes: libvirt refuses concurrent volume jobs in a pool.
        for stage in Self.stages(hp.changes) {
            let limit = DispatchSemaphore(value: max(1, options.parallelism))
            DispatchQueue.concurrentPerform(iterations: stage.count) { i in
                limit.wait()
                defer { limit.signal() }
                for c in stage[i] { run(c) }
            }
        }
        return state.results
    }

    static func stages(_ changes: [Change]) -> [[[Change]]] {
        var stages: [[[Change]]] = []
        var lanes: [String: Int] = [:]
        var current: (delete: Bool, kind: ObjectKind)?
        for c in changes {
            let key = (c.action == .delete, c.object.kind)
            if current.map({ $0.delete != key.0 || $0.kind != key.1 }) ?? true {
                stages.append([])
                lanes = [:]
                current = key
            }
            let lane: String
            switch c.object.kind {
            case .volume, .image:
                // `pool/volume`; a declared image by its name (one pool each): one lane per pool is enough.
                lane = c.object.name.contains("/") ? String(c.object.name.prefix { $0 != "/" }) : "images"
            default:
                lane = c.object.description
            }
            if let i = lanes[lane] {
                stages[stages.count - 1][i].append(c)
            } else {
                lanes[lane] = stages[stages.count - 1].count
                stages[stages.count - 1].append([c])
            }
        }
        return stages
    }

    /// Objects a change needs: a disk its pool and image, a VM its disks and networks, a snapshot or start its VM.
    func dependencies(_ c: Change) -> [ObjectRef] {
        // Deletions: a pool goes only after every volume and image version fleet deletes in it, an image
        // version only after the disks in its pool (they may be backed by it). A skipped or failed one keeps
        // the pool defined, so the next run still sees, and removes, what is left.
        if c.action == .delete, c.object.kind == .pool || c.object.kind == .image {
            let pool = c.object.kind == .pool ? c.object.name : String(c.object.name.prefix { $0 != "/" })
            return plan.hosts.flatMap(\.changes).filter { d in
                d.action == .delete && d.object.name.hasPrefix(pool + "/")
                    && (d.object.kind == .volume || (c.object.kind == .pool && d.object.kind == .image))
            }.map(\.object)
        }
        switch c.object.kind {
        case .volume, .image:
            let pool = c.object.kind == .volume ? String(c.object.name.prefix { $0 != "/" })
                : (fleet.images.first { $0.name == c.object.name }?.pool ?? "")
            var deps = [ObjectRef(.pool, pool)]
            if c.object.kind == .volume, let vm = c.parent.flatMap({ p in fleet.vms.first { $0.name == p.name } }),
               let disk = vm.disks.first(where: { "\($0.pool)/\($0.volumeName(vm: vm.name))" == c.object.name }), let img = disk.image {
                deps.append(ObjectRef(.image, img))
            }
            return deps
        case .vm:
            guard let vm = fleet.vms.first(where: { $0.name == c.object.name }), c.action != .delete else { return [] }
            var deps = vm.disks.map { ObjectRef(.volume, "\($0.pool)/\($0.volumeName(vm: vm.name))") }
            if let seed = vm.seedVolume { deps.append(ObjectRef(.volume, "\(seed.pool)/\(seed.name)")) }
            deps += vm.networks.map { ObjectRef(.network, $0.network) }
            if c.action == .start { deps.append(ObjectRef(.vm, vm.name)) }
            return deps
        case .snapshot:
            return c.parent.map { [$0] } ?? []
        default:
            return []
        }
    }
}

/// Results and failures of one host's run, shared by its lanes.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ApplyEvent] = []
    private var failed: Set<ObjectRef> = []

    func record(_ e: ApplyEvent, failed object: ObjectRef?) {
        lock.lock(); defer { lock.unlock() }
        events.append(e)
        if let object { failed.insert(object) }
    }

    func hasFailed(_ ref: ObjectRef) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return failed.contains(ref)
    }

    var results: [ApplyEvent] {
        lock.lock(); defer { lock.unlock() }
        return events
    }
}

public final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public func set() { lock.lock(); value = true; lock.unlock() }
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// Applies one host's changes on one connection.
struct HostContext: Sendable {
    let executor: Executor
    let host: String
    let conn: Connection
    let hypervisor: Hypervisor
    let ledger: Ledger
    var fleet: Fleet { executor.fleet }
    var options: ApplyOptions { executor.options }

    init(executor: Executor, host: String, conn: Connection) {
        self.executor = executor; self.host = host; self.conn = conn
        hypervisor = ((try? conn.hypervisorType) ?? "") == "TEST" ? .test : .qemu
        ledger = Ledger(conn: conn, fleet: executor.fleet.name, hypervisor: hypervisor)
    }

    func apply(_ c: Change) throws {
        try verifyOwnership(c)
        let config = !c.steps.contains(.defineDomain)
        // Reimage: QEMU keeps a replaced disk open, so its VM is stopped first and started again after.
        // (A cloud-init seed is only read at boot: it is swapped under the running guest, no restart.)
        var restart: Domain?
        if c.action == .replace, c.object.kind == .volume, !c.steps.contains(.createSeed), let vm = c.parent, let d = try conn.domain(named: vm.name), try d.isActive {
            _ = try d.shutdown(timeout: options.shutdownTimeout)
            restart = d
        }
        do {
            for step in c.steps {
                try run(step, c, configToo: config)
            }
            try restart?.create()
        } catch {
            if c.action == .create { rollBackCreate(c) }
            throw error
        }
    }

    // MARK: Ownership at the moment of change

    /// Checks, right before the first call that changes anything, that the object is still the one the change
    /// was planned against: absent for a create; otherwise the same UUID, and fleet's mark (for an adoption: no
    /// mark at all). Anything else fails the change, so nothing of its branch runs.
    func verifyOwnership(_ c: Change) throws {
        let name = c.object.name
        func refuse(_ why: String) -> ExecutionError {
            ExecutionError("\(c.object) \(why) since the plan was made; nothing was changed (run plan again)")
        }
        func check(exists: Bool, uuid: String?, owned: @autoclosure () throws -> Bool) throws {
            if c.action == .create {
                if exists { throw refuse("was created by someone else") }
                return
            }
            if c.action == .migrate && !exists { return }
            guard exists else { throw refuse("no longer exists") }
            if let want = c.uuid, let uuid, want != uuid { throw refuse("was replaced by another object of the same name (UUID \(uuid), planned against \(want))") }
            let mine = try owned()
            if c.action == .adopt {
                if mine { throw refuse("was taken under management by this fleet") }
            } else if !mine {
                throw refuse("no longer carries fleet \(fleet.name)'s ownership mark")
            }
        }
        switch c.object.kind {
        case .vm:
            let d = try conn.domain(named: name)
            if c.action == .adopt {
                // Unmarked, or marked by nobody we know: an adoption writes the first mark.
                let mark = try d.flatMap { try $0.metadata(uri: OwnerXML.namespace, flags: .config) }.flatMap(OwnerXML.parse)
                if mark != nil { throw refuse("was marked by fleet \(mark!.fleet)") }
                try check(exists: d != nil, uuid: d?.uuidString, owned: false)
                return
            }
            try check(exists: d != nil, uuid: d?.uuidString, owned: try d.flatMap { try $0.metadata(uri: OwnerXML.namespace, flags: .config) }
                .flatMap(OwnerXML.parse)?.fleet == fleet.name)
        case .network:
            let n = try conn.network(named: name)
            try check(exists: n != nil, uuid: n?.uuidString, owned: try ledgerOwns(name, .network, uuid: n?.uuidString))
        case .pool:
            let p = try conn.storagePool(named: name)
            try check(exists: p != nil, uuid: p?.uuidString, owned: try ledgerOwns(name, .pool, uuid: p?.uuidString))
        case .volume, .image:
            // Volumes have no UUID: their ledger entry is the mark. A declared image's version is named by its content.
            if c.steps.contains(.createVolume) || c.steps.contains(.createSeed) || c.steps.contains(.uploadImage),
               !c.steps.contains(.deleteVolume) {
                let (poolName, volName) = try volumeRef(c)
                if let p = try conn.storagePool(named: poolName), try p.volume(named: volName) != nil {
                    throw refuse("was created by someone else")
                }
            } else if c.action != .adopt {
                let (poolName, volName) = try volumeRef(c)
                let kind: ObjectKind = c.object.kind == .image ? .image : .volume
                guard try ledger.entries().contains(where: { $0.object == "\(poolName)/\(volName)" && $0.mark.kind == kind }) else {
                    throw refuse("is no longer recorded in fleet \(fleet.name)'s ledger")
                }
            }
        default:
            break
        }
    }

    /// Whether this fleet's ledger records `name` of `kind` (and, when it recorded a UUID, this very object).
    func ledgerOwns(_ name: String, _ kind: ObjectKind, uuid: String?) throws -> Bool {
        guard let e = try ledger.entries().first(where: { $0.object == name && $0.mark.kind == kind }) else { return false }
        if let recorded = e.mark.attributes["uuid"], let uuid, recorded != uuid { return false }
        return true
    }

    /// A failed create leaves nothing behind: not a half-made object, not a ledger entry that a later run could
    /// take for ownership of somebody else's object of the same name.
    func rollBackCreate(_ c: Change) {
        let name = c.object.name
        switch c.object.kind {
        case .pool:
            // Only the pool this change defined: the one whose UUID the ledger recorded after the define.
            if let p = try? conn.storagePool(named: name), (try? ledgerOwns(name, .pool, uuid: p.uuidString)) == true,
               (try? ledger.entries().first { $0.object == name && $0.mark.kind == .pool }?.mark.attributes["uuid"]) != nil {
                if (try? p.isActive) == true { try? p.destroy() }
                try? p.undefine()
            }
            try? ledger.remove(object: name, kind: .pool)
        case .network:
            if let n = try? conn.network(named: name), (try? ledgerOwns(name, .network, uuid: n.uuidString)) == true,
               (try? ledger.entries().first { $0.object == name && $0.mark.kind == .network }?.mark.attributes["uuid"]) != nil {
                if (try? n.isActive) == true { try? n.destroy() }
                try? n.undefine()
            }
            try? ledger.remove(object: name, kind: .network)
        case .volume, .image:
            guard let (poolName, volName) = try? volumeRef(c) else { return }
            let exists = (try? conn.storagePool(named: poolName)?.volume(named: volName)) != nil
            if !exists { try? ledger.remove(object: "\(poolName)/\(volName)", kind: c.object.kind == .image ? .image : .volume) }
        default:
            break
        }
    }

    // MARK: Ledger

    /// The mark a VM disk volume gets: which VM, which image, which customization inputs.
    func volumeMark(_ vm: VMSpec, _ disk: DiskSpec) throws -> OwnerMark {
        var attrs = ["vm": vm.name]
        if let image = disk.image {
            attrs["image"] = image
            // The image version (its volume) the disk was made from: a full copy has no backing file to compare.
            if let spec = fleet.images.first(where: { $0.name == image }) { attrs["version"] = spec.volumeName }
            if let c = vm.customize, !c.isEmpty {
                attrs["customize"] = try Customizer.digest(c, hostname: vm.name, secrets: options.secrets, fleet: fleet.name)
            }
        }
        return mark(.volume, vm.group, attrs)
    }

    /// Disk volumes this run creates, recorded in one ledger write up front instead of one per disk.
    func prerecord(_ changes: [Change]) -> [(String, ObjectKind)] {
        var entries: [LedgerEntry] = []
        for c in changes where c.action == .create && c.steps == [.createVolume] {
            guard let vm = c.parent.flatMap({ p in fleet.vms.first { $0.name == p.name } }),
                  let disk = vm.disks.first(where: { "\($0.pool)/\($0.volumeName(vm: vm.name))" == c.object.name }),
                  let mark = try? volumeMark(vm, disk) else { continue }
            entries.append(LedgerEntry(object: c.object.name, mark: mark))
        }
        if (try? ledger.recordAll(entries)) == nil { return [] }
        return entries.map { ($0.object, $0.mark.kind) }
    }

    /// The mark of an object this run makes, naming the manifest tree it came from.
    func mark(_ kind: ObjectKind, _ name: String, _ attrs: [String: String] = [:]) -> OwnerMark {
        var attrs = attrs
        if let tree = fleet.tree { attrs["tree"] = tree }
        return OwnerMark(fleet: fleet.name, kind: kind, name: name, attributes: attrs)
    }

    // MARK: Steps

    func run(_ step: Step, _ c: Change, configToo: Bool) throws {
        let name = c.object.name
        switch step {
        case .definePool:
            guard let spec = fleet.pools.first(where: { $0.name == name }) else { throw ExecutionError("pool \(name) is not declared") }
            // Record ownership first: a run killed in between leaves a mark without an object (planned as create).
            try ledger.record(object: name, mark: mark(.pool, name))
            let p = try conn.definePool(xml: PoolMapping.render(spec))
            // The UUID ties the entry to this very pool: a look-alike made later is never taken for it.
            try ledger.record(object: name, mark: mark(.pool, name, ["uuid": p.uuidString]))
        case .buildPool:
            let p = try pool(name)
            if !(try p.isActive) {
                // dir: mkdir -p; logical: vgcreate; netfs: mount point. Never overwrite existing data.
                do { try p.build(flags: fleet.pools.first { $0.name == name }?.type == .dir ? [] : .noOverwrite) } catch let e as LibvirtError where e.message.contains("exist") {}
            }
        case .startPool:
            let p = try pool(name)
            if !(try p.isActive) { try p.create() }
        case .undefinePool:
            let p = try pool(name)
            if try p.isActive { try p.destroy() }
            // Undefine only: the directory and any volume fleet did not create stay on disk.
            try p.undefine()
            try ledger.remove(object: name, kind: .pool)
        case .setAutostart(let on):
            switch c.object.kind {
            case .pool: try pool(name).setAutostart(on)
            case .network: try network(name).setAutostart(on)
            case .vm: try domain(name).setAutostart(on)
            default: throw ExecutionError("autostart does not apply to \(c.object)")
            }
        case .createVolume:
            try createVolume(c)
        case .createSeed:
            try createSeed(c)
        case .resizeVolume(let size):
            try resizeVolume(c, size)
        case .deleteVolume:
            let (poolName, volName) = try volumeRef(c)
            if let v = try pool(poolName).volume(named: volName) { try v.delete() }
            try ledger.remove(object: "\(poolName)/\(volName)", kind: c.object.kind == .image ? .image : .volume)
        case .uploadImage:
            try uploadImage(c)
        case .defineNetwork:
            guard let spec = fleet.networks.first(where: { $0.name == name }) else { throw ExecutionError("network \(name) is not declared") }
            if c.action == .create {
                // A create names no UUID, so libvirt refuses if the name was taken since the ownership check.
                try ledger.record(object: name, mark: mark(.network, name))
                let n = try conn.defineNetwork(xml: NetworkMapping.render(spec))
                try ledger.record(object: name, mark: mark(.network, name, ["uuid": n.uuidString]))
            } else {
                // An update patches the persistent definition: <dns>, <portgroup>, <route>, other <ip>s stay.
                let existing = try network(name)
                if let xml = try NetworkPatch.update(try existing.xmlDesc(inactive: true), spec: spec) { _ = try conn.defineNetwork(xml: xml) }
                try ledger.record(object: name, mark: mark(.network, name, ["uuid": try existing.uuidString]))
            }
        case .startNetwork:
            let n = try network(name)
            if !(try n.isActive) { try n.create() }
        case .restartNetwork:
            // Guests on the network lose connectivity while it restarts: only with --allow-restart.
            guard options.allowRestart else { return }
            let n = try network(name)
            if try n.isActive { try n.destroy() }
            try n.create()
        case .undefineNetwork:
            let n = try network(name)
            if try n.isActive { try n.destroy() }
            try n.undefine()
            try ledger.remove(object: name, kind: .network)
        case .addLease(let l), .removeLease(let l):
            let n = try network(name)
            let flags: NetworkUpdateFlags = try n.isActive ? [.live, .config] : [.config]
            let command: NetworkUpdateCommand
            if case .addLease = step { command = .add } else { command = .delete }
            try n.update(command: command, section: .ipDHCPHost, xml: NetworkMapping.leaseXML(l), flags: flags)
        case .defineDomain:
            let vm = try vmSpec(name)
            let password = try vm.graphics?.password.map { try options.secrets.resolve($0) }
            if let g = vm.graphics, let password, let problem = g.passwordProblem(password) {
                throw ExecutionError("\(name): graphics password: \(problem)")
            }
            // A create names no UUID, so libvirt refuses if the name was taken since the ownership check.
            if c.action != .create, let existing = try conn.domain(named: name) {
                // An update patches the persistent definition (with secrets, so a graphics password stays):
                // devices, controllers, addresses and settings fleet does not model are kept as they are.
                let current = try existing.xmlDesc(flags: [.inactive, .secure])
                let owned = Set(try ledger.entries().filter { $0.mark.kind == .volume && $0.mark.fleet == fleet.name }.map(\.object))
                if let xml = try DomainPatch.update(current, vm: vm, fleet: fleet, hypervisor: hypervisor, graphicsPassword: password,
                                                    owner: mark(.vm, vm.group), removableVolumes: owned) {
                    _ = try conn.defineDomain(xml: xml)
                }
            } else {
                let xml = DomainMapping.render(vm, fleet: fleet, hypervisor: hypervisor, graphicsPassword: password, owner: mark(.vm, vm.group))
                _ = try conn.defineDomain(xml: xml)
            }
        case .startDomain:
            let d = try domain(name)
            if !(try d.isActive) { try d.create() }
        case .stopDomain:
            let d = try domain(name)
            if try d.isActive { _ = try d.shutdown(timeout: options.shutdownTimeout) }
        case .restartDomain:
            guard options.allowRestart else { return }
            let d = try domain(name)
            if try d.isActive { _ = try d.shutdown(timeout: options.shutdownTimeout) }
            try d.create()
        case .undefineDomain:
            let d = try domain(name)
            if try d.isActive { try d.destroy() }
            // Managed save, snapshot metadata and NVRAM go with the domain; without these flags libvirt refuses.
            // Drivers that know fewer flags (the test driver) get the ones they know.
            let flagSets: [UndefineFlags] = [[.managedSave, .snapshotsMetadata, .nvram, .checkpointsMetadata], [.managedSave, .snapshotsMetadata], []]
            for (i, flags) in flagSets.enumerated() {
                do {
                    try d.undefine(flags: flags)
                    break
                } catch let e as LibvirtError where (e.isUnsupportedFlags || e.isUnsupported) && i < flagSets.count - 1 {
                    continue
                }
            }
        case let .setVcpus(n, live):
            let d = try domain(name)
            var flags: VcpuFlags = []
            if configToo { flags.insert(.config) }
            if live, try d.isActive { flags.insert(.live) }
            guard let count = UInt32(exactly: n), count > 0 else { throw ExecutionError("\(name): invalid vCPU count \(n)") }
            if !flags.isEmpty { try d.setVcpus(count, flags: flags) }
        case let .setMemory(size, live):
            let d = try domain(name)
            var flags: MemoryFlags = []
            if configToo { flags.insert(.config) }
            if live, try d.isActive { flags.insert(.live) }
            if !flags.isEmpty { try d.setMemory(kib: size.kib, flags: flags) }
        case let .attachDisk(diskName, live):
            let vm = try vmSpec(name)
            guard let i = vm.disks.firstIndex(where: { $0.name == diskName }) else { throw ExecutionError("\(name) has no disk \(diskName)") }
            let target = DomainMapping.diskTargets(vm)[i]
            try device(name, attach: true, xml: DomainMapping.diskXML(vm.disks[i], vm: vm, target: target), live: live, config: configToo)
        case let .attachInterface(mac, live):
            let vm = try vmSpec(name)
            guard let nic = vm.networks.first(where: { $0.mac == mac }) else { throw ExecutionError("\(name) declares no NIC \(mac)") }
            try device(name, attach: true, xml: DomainMapping.interfaceXML(nic), live: live, config: configToo)
        case let .detachInterface(mac, live):
            // libvirt finds the interface by its MAC.
            try device(name, attach: false, xml: "<interface type='network'><mac address='\(mac)'/></interface>", live: live, config: configToo)
        case let .attachHostdev(kind, live):
            try device(name, attach: true, xml: DomainMapping.hostdevXML(kind), live: live, config: configToo)
        case let .detachHostdev(kind, live):
            try device(name, attach: false, xml: DomainMapping.hostdevXML(kind), live: live, config: configToo)
        case .createSnapshot(let snap):
            let vmName = String(name.prefix { $0 != "/" })
            _ = try domain(vmName).createSnapshot(xml: SnapshotMapping.render(name: snap, description: LiveSnapshot.description(fleet: fleet.name)))
        case .deleteSnapshot(let snap):
            let vmName = String(name.prefix { $0 != "/" })
            try domain(vmName).snapshot(named: snap)?.delete()
        case let .migrate(toHost, live):
            try migrate(name, to: toHost, live: live)
        case .writeOwnerMark:
            switch c.object.kind {
            case .vm:
                let vm = try vmSpec(name)
                try domain(name).setMetadata(OwnerXML.metadataElement(mark(.vm, vm.group)), key: OwnerXML.prefix, uri: OwnerXML.namespace,
                                             flags: try domain(name).isActive ? [.live, .config] : [.config])
            case .pool: try ledger.record(object: name, mark: mark(.pool, name, ["uuid": try pool(name).uuidString]))
            case .network: try ledger.record(object: name, mark: mark(.network, name, ["uuid": try network(name).uuidString]))
            case .volume:
                let vmName = c.parent?.name ?? ""
                try ledger.record(object: name, mark: mark(.volume, fleet.vms.first { $0.name == vmName }?.group ?? vmName, ["vm": vmName]))
            case .image:
                if let img = fleet.images.first(where: { $0.name == name }) {
                    try ledger.record(object: "\(img.pool)/\(img.volumeName)", mark: mark(.image, name, img.sha256.map { ["sha256": $0] } ?? [:]))
                }
            default: throw ExecutionError("\(c.object) cannot be adopted")
            }
        }
    }

    // MARK: Helpers

    func pool(_ name: String) throws -> StoragePool {
        guard let p = try conn.storagePool(named: name) else { throw ExecutionError("storage pool \(name) does not exist on \(host)") }
        return p
    }

    func network(_ name: String) throws -> Network {
        guard let n = try conn.network(named: name) else { throw ExecutionError("network \(name) does not exist on \(host)") }
        return n
    }

    func domain(_ name: String) throws -> Domain {
        guard let d = try conn.domain(named: name) else { throw ExecutionError("domain \(name) does not exist on \(host)") }
        return d
    }

    func vmSpec(_ name: String) throws -> VMSpec {
        guard let vm = fleet.vms.first(where: { $0.name == name }) else { throw ExecutionError("VM \(name) is not declared") }
        return vm
    }

    func device(_ domainName: String, attach: Bool, xml: String, live: Bool, config: Bool) throws {
        let d = try domain(domainName)
        var flags: DeviceModifyFlags = []
        if config { flags.insert(.config) }
        if live, try d.isActive { flags.insert(.live) }
        if flags.isEmpty { return }
        if attach { try d.attachDevice(xml: xml, flags: flags) } else { try d.detachDevice(xml: xml, flags: flags) }
    }

    func volumeRef(_ c: Change) throws -> (String, String) {
        // A declared image is named by its manifest name; an old version by its `pool/volume`.
        if c.object.kind == .image, !c.object.name.contains("/") {
            guard let img = fleet.images.first(where: { $0.name == c.object.name }) else {
                throw ExecutionError("image \(c.object.name) is not declared")
            }
            return (img.pool, img.volumeName)
        }
        let parts = c.object.name.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ExecutionError("bad volume reference \(c.object.name)") }
        return (parts[0], parts[1])
    }

    func createVolume(_ c: Change) throws {
        let (poolName, volName) = try volumeRef(c)
        guard let vm = c.parent.flatMap({ p in fleet.vms.first { $0.name == p.name } }),
              let disk = vm.disks.first(where: { $0.pool == poolName && $0.volumeName(vm: vm.name) == volName }) else {
            throw ExecutionError("no declared disk is volume \(c.object.name)")
        }
        let p = try pool(poolName)
        // Recorded before the volume exists (a no-op when the run pre-recorded it).
        try ledger.record(object: "\(poolName)/\(volName)", mark: volumeMark(vm, disk))
        if let image = disk.image.flatMap({ n in fleet.images.first { $0.name == n } }) {
            guard let base = try self.pool(image.pool).volume(named: image.volumeName) else {
                throw ExecutionError("image volume \(image.pool)/\(image.volumeName) does not exist on \(host)")
            }
            let baseInfo = try base.info()
            let capacity = ByteSize(bytes: max(disk.size?.bytes ?? 0, baseInfo.capacityBytes))
            let baseFormat: DiskFormat = (try? VolumeMapping.volume(fromXML: base.xmlDesc(), pool: image.pool).format).flatMap { $0.flatMap(DiskFormat.init(rawValue:)) } ?? .qcow2
            let v: StorageVolume
            if disk.clone == .full {
                v = try p.createVolume(xml: VolumeMapping.render(name: volName, format: disk.format, capacity: capacity), cloneFrom: base)
            } else {
                v = try p.createVolume(xml: VolumeMapping.render(name: volName, format: .qcow2, capacity: capacity,
                                                                  backingPath: base.path, backingFormat: baseFormat))
            }
            if let custom = vm.customize, !custom.isEmpty {
                do {
                    try customizeLocal(volume: v, format: disk.clone == .full ? disk.format : .qcow2, custom, hostname: vm.name)
                } catch {
                    // A half-customized disk is worse than none: remove it so the next apply starts afresh.
                    try? v.delete()
                    try? ledger.remove(object: "\(poolName)/\(volName)", kind: .volume)
                    throw error
                }
            }
        } else {
            guard let size = disk.size else { throw ExecutionError("blank disk \(disk.name) of \(vm.name) has no size") }
            let xml = VolumeMapping.render(name: volName, format: disk.format, capacity: size)
            do {
                // qcow2 metadata preallocated, as virt-install does: fewer allocations on first writes.
                _ = try p.createVolume(xml: xml, flags: disk.format == .qcow2 ? .preallocMetadata : [])
            } catch let e as LibvirtError where e.isUnsupported || e.isUnsupportedFlags {
                // Drivers without the flag (the test driver) get a plain volume.
                _ = try p.createVolume(xml: xml)
            }
        }
    }

    /// libguestfs works on files: a local host's volume is customized in place. Remote hosts would need a
    /// download/upload round trip through the stream API, which fleet does not do yet: it says so.
    func customizeLocal(volume: StorageVolume, format: DiskFormat, _ c: Customization, hostname: String?) throws {
        let uri = (try? conn.uri) ?? ""
        // A URI without a host part (qemu:///system) is this machine.
        let afterScheme = uri.range(of: "://").map { uri[$0.upperBound...] } ?? ""
        guard afterScheme.hasPrefix("/") else {
            throw ExecutionError("customizing disks on remote host \(host) is not supported yet; customize the image instead")
        }
        _ = try Customizer.apply(c, hostname: hostname, toDisk: volume.path, format: format, secrets: options.secrets)
    }

    func resizeVolume(_ c: Change, _ size: ByteSize) throws {
        let (poolName, volName) = try volumeRef(c)
        guard let v = try pool(poolName).volume(named: volName) else { throw ExecutionError("volume \(c.object.name) does not exist") }
        // A disk in use by a running guest is grown through QEMU so the guest sees the new size at once.
        if let vm = c.parent.flatMap({ p in fleet.vms.first { $0.name == p.name } }), let d = try conn.domain(named: vm.name), try d.isActive,
           let i = vm.disks.firstIndex(where: { $0.volumeName(vm: vm.name) == volName }) {
            try d.blockResize(disk: DomainMapping.diskTargets(vm)[i], bytes: size.bytes)
        } else {
            try v.resize(capacity: size.bytes)
        }
    }

    /// Builds the NoCloud seed (ISO 9660, `cidata`) in a private temporary directory and uploads it through the
    /// stream API, so it works for remote hosts too. The volume is created with mode 0600: it holds user-data
    /// and, with `root_password:`, a password hash.
    func createSeed(_ c: Change) throws {
        guard let vm = c.parent.flatMap({ p in fleet.vms.first { $0.name == p.name } }), let spec = vm.cloudInit,
              let (poolName, volName) = vm.seedVolume else { throw ExecutionError("\(c.object) is no declared cloud-init seed") }
        let id = try CloudInitSeed.instanceID(spec, vmName: vm.name, secrets: options.secrets, fleet: fleet.name)
        try CloudInitSeed.withSeedFile(spec, vmName: vm.name, secrets: options.secrets, fleet: fleet.name) { tmp in
            let size = try FileManager.default.attributesOfItem(atPath: tmp)[.size] as? UInt64 ?? 0
            try ledger.record(object: "\(poolName)/\(volName)", mark: mark(.volume, vm.group, ["vm": vm.name, "role": "seed", "instance-id": id]))
            let p = try pool(poolName)
            let v = try p.createVolume(xml: VolumeMapping.render(name: volName, format: .raw, capacity: ByteSize(bytes: size), mode: "0600"))
            do {
                try v.upload(fromFile: tmp, progress: nil)
            } catch {
                try? v.delete()
                try? ledger.remove(object: "\(poolName)/\(volName)", kind: .volume)
                throw error
            }
        }
    }

    func uploadImage(_ c: Change) throws {
        guard let image = fleet.images.first(where: { $0.name == c.object.name }) else { throw ExecutionError("image \(c.object.name) is not declared") }
        // Verify before anything is created: a bad checksum leaves nothing behind.
        let file = try ImageSource.prepare(image, cacheDirectory: options.imageCache)
        // The volume may be there although the plan did not see it: its pool was undefined (a partial destroy
        // keeps the directory) and has just been defined again. Reuse it when the ledger says this fleet
        // uploaded it with this content; anything else with that name is not fleet's to overwrite.
        let object = "\(image.pool)/\(image.volumeName)"
        if try pool(image.pool).volume(named: image.volumeName) != nil {
            let mark = try ledger.entries().first { $0.object == object && $0.mark.kind == .image }?.mark
            if let mark, mark.fleet == fleet.name, mark.attributes["sha256"] == file.sha256,
               mark.attributes["customize"] == image.customizationDigest {
                return
            }
            throw ExecutionError("storage volume \(image.volumeName) exists in pool \(image.pool) but fleet \(fleet.name) has no record of uploading it with this content (sha256 \(file.sha256.prefix(12))); it is left alone: remove it by hand or give the image another name")
        }
        // Image-level customization runs on a local copy before upload, so it works for remote hosts too
        // and a failure leaves no volume behind.
        var uploadPath = file.path
        // The customized copy holds the root password's hash: a private directory, removed on every exit path.
        var scratch: Scratch?
        defer { withExtendedLifetime(scratch) {} }  // kept until the upload is done
        if let custom = image.customize, !custom.isEmptyForImage {
            let dir = try Scratch(label: "fleet-image")
            scratch = dir
            let copy = try dir.copy(file.path, as: "image")
            _ = try Customizer.apply(custom, hostname: nil, toDisk: copy, format: file.format, secrets: options.secrets)
            uploadPath = copy
        }
        let size = (try FileManager.default.attributesOfItem(atPath: uploadPath)[.size] as? NSNumber)?.uint64Value ?? file.size
        let p = try pool(image.pool)
        var attrs = ["sha256": file.sha256]
        if let d = image.customizationDigest { attrs["customize"] = d }
        try ledger.record(object: "\(image.pool)/\(image.volumeName)", mark: mark(.image, image.name, attrs))
        let v = try p.createVolume(xml: VolumeMapping.render(name: image.volumeName, format: .raw, capacity: ByteSize(bytes: size)))
        do {
            let report = options.uploadProgress
            let (hostName, object) = (host, c.object.description)
            try v.upload(fromFile: uploadPath, progress: report.map { r in { done, total in r(hostName, object, done, total) } })
            try p.refresh()
        } catch {
            // No partial volume is left in the pool.
            try? v.delete()
            try? ledger.remove(object: "\(image.pool)/\(image.volumeName)", kind: .image)
            throw error
        }
    }

    func migrate(_ name: String, to target: String, live: Bool) throws {
        guard let sourceHost = executor.plan.hosts.first(where: { hp in hp.host != target }).map(\.host) else {
            throw ExecutionError("no source host for \(name)")
        }
        // Find the domain on whichever other host has it.
        var source: (Connection, Domain)?
        for h in executor.plan.hosts.map(\.host) where h != target {
            if let c = try? executor.connection(h), let d = try c.domain(named: name) { source = (c, d); break }
        }
        guard let (_, dom) = source else { throw ExecutionError("domain \(name) was not found on \(sourceHost) or any other host") }
        var flags: MigrateFlags = [.persistDest, .undefineSource]
        if live { flags.formUnion([.live, .nonSharedDisk, .abortOnError]) } else { flags.insert(.offline) }
        _ = try dom.migrate(to: conn, flags: flags)
    }
}
