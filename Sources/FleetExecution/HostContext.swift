import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

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
        self.executor = executor
        self.host = host
        self.conn = conn
        hypervisor = ((try? conn.hypervisorType) ?? "") == "TEST" ? .test : .qemu
        ledger = executor.ledger(host, conn: conn, hypervisor: hypervisor)
    }

    func apply(_ c: Change) throws {
        try verifyOwnership(c)
        let config = !c.steps.contains(.defineDomain)
        // Reimage: QEMU keeps a replaced disk open, so its VM is stopped first and started again after.
        // (A cloud-init seed is only read at boot, an Ignition config only when QEMU starts: they are swapped under
        // the running guest, no restart.)
        var restart: Domain?
        if c.action == .replace, c.object.kind == .volume, !c.steps.contains(.createSeed), !c.steps.contains(.createIgnition),
            let vm = c.parent,
            let d = try conn.domain(named: vm.name), try d.isActive
        {
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

    // MARK: Ledger

    /// The mark a VM disk volume gets: which VM, which image, which customization inputs.
    func volumeMark(_ vm: VMSpec, _ disk: DiskSpec, image spec: ImageSpec?) throws -> OwnerMark {
        var attrs = ["vm": vm.name]
        if let image = disk.image {
            attrs["image"] = image
            // The image version (its volume) the disk was made from: a full copy has no backing file to compare.
            if let spec { attrs["version"] = spec.volumeName }
            if let c = vm.customize, !c.isEmpty {
                attrs["customize"] = try Customizer.digest(c, hostname: vm.name, secrets: options.secrets, fleet: fleet.name)
            }
            // Ignition configures the system disk at its first boot: the disk records which config it saw.
            if let ign = vm.ignition, disk == vm.disks.first { attrs["ignition"] = try IgnitionFile.digest(ign) }
        }
        return mark(.volume, vm.group, attrs)
    }

    /// The host path of a VM's Ignition volume, for its fw_cfg entry (the scheduler uploads it before the define).
    func ignitionFile(_ vm: VMSpec) throws -> String? {
        guard let (p, n) = vm.ignitionVolume else { return nil }
        guard let v = try pool(p).volume(named: n) else {
            throw ExecutionError.missing("the Ignition config volume \(p)/\(n) of \(vm.name) does not exist on \(host)")
        }
        return try v.path
    }

    /// Disk volumes this run creates, recorded in one ledger write up front instead of one per disk.
    func prerecord(_ changes: [Change]) -> [(String, ObjectKind)] {
        var entries: [LedgerEntry] = []
        for c in changes where c.action == .create && c.steps == [.createVolume] {
            guard case .disk(let vm, let i, let image)? = c.subject, let mark = try? volumeMark(vm, vm.disks[i], image: image) else {
                continue
            }
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

    // MARK: Helpers

    func pool(_ name: String) throws -> StoragePool {
        guard let p = try conn.storagePool(named: name) else {
            throw ExecutionError.missing("storage pool \(name) does not exist on \(host)")
        }
        return p
    }

    func network(_ name: String) throws -> Network {
        guard let n = try conn.network(named: name) else { throw ExecutionError.missing("network \(name) does not exist on \(host)") }
        return n
    }

    func domain(_ name: String) throws -> Domain {
        guard let d = try conn.domain(named: name) else { throw ExecutionError.missing("domain \(name) does not exist on \(host)") }
        return d
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
            let img = try c.imageSpec()
            return (img.pool, img.volumeName)
        }
        let parts = c.object.name.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ExecutionError.notDeclared("bad volume reference \(c.object.name)") }
        return (parts[0], parts[1])
    }
}

/// The specs the planner resolved for a change (`Change.subject`): the executor never looks them up by name.
extension Change {
    private func noSpec(_ what: String) -> ExecutionError {
        .notDeclared("\(object) carries no \(what) spec: the plan was not made from declared objects")
    }

    func poolSpec() throws -> PoolSpec {
        if case .pool(let spec)? = subject { return spec }
        throw noSpec("pool")
    }

    func networkSpec() throws -> NetworkSpec {
        if case .network(let spec)? = subject { return spec }
        throw noSpec("network")
    }

    func imageSpec() throws -> ImageSpec {
        if case .image(let spec)? = subject { return spec }
        throw noSpec("image")
    }

    /// The VM of a domain, disk or seed change.
    func vmSpec() throws -> VMSpec {
        guard let vm = subject?.vm else { throw noSpec("VM") }
        return vm
    }

    /// A disk volume's VM, the disk's index in it, and its image.
    func diskSpec() throws -> (vm: VMSpec, index: Int, image: ImageSpec?) {
        guard case .disk(let vm, let i, let image)? = subject, vm.disks.indices.contains(i) else { throw noSpec("disk") }
        return (vm, i, image)
    }
}
