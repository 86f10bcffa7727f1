import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

/// One libvirt call (or a short sequence) per plan step.
extension HostContext {
    // MARK: Steps

    func run(_ step: Step, _ c: Change, configToo: Bool) throws {
        let name = c.object.name
        switch step {
        case .definePool:
            let spec = try c.poolSpec()
            // Record ownership first: a run killed in between leaves a mark without an object (planned as create).
            try ledger.record(object: name, mark: mark(.pool, name))
            let p = try conn.definePool(xml: PoolMapping.render(spec))
            // The UUID ties the entry to this very pool: a look-alike made later is never taken for it.
            try ledger.record(object: name, mark: mark(.pool, name, ["uuid": p.uuidString]))
        case .buildPool:
            let p = try pool(name)
            if !(try p.isActive) {
                // dir: mkdir -p; logical: vgcreate; netfs: mount point. Never overwrite existing data.
                do { try p.build(flags: try c.poolSpec().type == .dir ? [] : .noOverwrite) } catch let e as LibvirtError
                    where e.isPoolAlreadyBuilt
                {}
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
            default: throw ExecutionError.refused("autostart does not apply to \(c.object)")
            }
        case .createVolume:
            try createVolume(c)
        case .createSeed:
            try createSeed(c)
        case .createIgnition:
            try createIgnition(c)
        case .growGuestFilesystem:
            try growGuestFilesystem(c)
        case .resizeVolume(let size):
            try resizeVolume(c, size)
        case .deleteVolume:
            let (poolName, volName) = try volumeRef(c)
            if let v = try pool(poolName).volume(named: volName) {
                if c.object.kind == .image, let user = try volumeBacked(by: v.path, in: poolName) {
                    throw ExecutionError.refused("image volume \(volName) still backs \(user) on \(host); it is kept")
                }
                try v.delete()
            }
            try ledger.removeSoon(object: "\(poolName)/\(volName)", kind: c.object.kind == .image ? .image : .volume)
        case .uploadImage:
            try uploadImage(c)
        case .defineNetwork:
            let spec = try c.networkSpec()
            if c.action == .create {
                // A create names no UUID, so libvirt refuses if the name was taken since the ownership check.
                try ledger.record(object: name, mark: mark(.network, name))
                let n = try conn.defineNetwork(xml: NetworkMapping.render(spec))
                try ledger.record(object: name, mark: mark(.network, name, ["uuid": n.uuidString]))
            } else {
                // An update patches the persistent definition: <dns>, <portgroup>, <route>, other <ip>s stay.
                let existing = try network(name)
                if let xml = try NetworkPatch.update(try existing.xmlDesc(inactive: true), spec: spec) {
                    _ = try conn.defineNetwork(xml: xml)
                }
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
            let vm = try c.vmSpec()
            let password = try vm.graphics?.password.map { try options.secrets.resolve($0) }
            if let g = vm.graphics, let password, let problem = g.passwordProblem(password) {
                throw ExecutionError.refused("\(name): graphics password: \(problem)")
            }
            // A create names no UUID, so libvirt refuses if the name was taken since the ownership check.
            if c.action != .create, let existing = try conn.domain(named: name) {
                // An update patches the persistent definition (with secrets, so a graphics password stays):
                // devices, controllers, addresses and settings fleet does not model are kept as they are.
                let current = try existing.xmlDesc(flags: [.inactive, .secure])
                let owned = Set(try ledger.entries().filter { $0.mark.kind == .volume && $0.mark.fleet == fleet.name }.map(\.object))
                if let xml = try DomainPatch.update(
                    current, vm: vm, fleet: fleet, hypervisor: hypervisor, graphicsPassword: password,
                    owner: mark(.vm, vm.group), removableVolumes: owned, ignitionFile: try ignitionFile(vm))
                {
                    _ = try conn.defineDomain(xml: xml)
                }
            } else {
                let xml = DomainMapping.render(
                    vm, hypervisor: hypervisor, graphicsPassword: password, owner: mark(.vm, vm.group), ignitionFile: try ignitionFile(vm))
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
            // Managed save, snapshot metadata, NVRAM and TPM state go with the domain; without these flags libvirt
            // refuses (NVRAM) or leaves files behind (TPM state of a persistent_state TPM). --keep-nvram keeps the
            // NVRAM file, which a VM of the same name picks up again; TPM state is kept by UUID, which a new VM
            // never has, so it goes. Drivers that know fewer flags (libvirt < 8.9, the test driver) get the ones
            // they know.
            let nvram: UndefineFlags = options.keepNvram ? .keepNvram : .nvram
            let flagSets: [UndefineFlags] = [
                [.managedSave, .snapshotsMetadata, nvram, .checkpointsMetadata, .tpm],
                [.managedSave, .snapshotsMetadata, nvram, .checkpointsMetadata], [.managedSave, .snapshotsMetadata], []
            ]
            // The first set this host accepted (its driver does not change within a run): one call per domain.
            for (i, flags) in flagSets.enumerated() where i >= executor.memo(host, "undefine") {
                do {
                    try d.undefine(flags: flags)
                    executor.remember(host, "undefine", i)
                    break
                } catch let e as LibvirtError where (e.isUnsupportedFlags || e.isUnsupported) && i < flagSets.count - 1 {
                    continue
                }
            }
        case .setVcpus(let n, let live):
            let d = try domain(name)
            var flags: VcpuFlags = []
            if configToo { flags.insert(.config) }
            if live, try d.isActive { flags.insert(.live) }
            guard let count = UInt32(exactly: n), count > 0 else { throw ExecutionError.refused("\(name): invalid vCPU count \(n)") }
            if !flags.isEmpty { try d.setVcpus(count, flags: flags) }
        case .setMemory(let size, let live):
            let d = try domain(name)
            var flags: MemoryFlags = []
            if configToo { flags.insert(.config) }
            if live, try d.isActive { flags.insert(.live) }
            if !flags.isEmpty { try d.setMemory(kib: size.kib, flags: flags) }
        case .attachDisk(let diskName, let live):
            let vm = try c.vmSpec()
            guard let i = vm.disks.firstIndex(where: { $0.name == diskName }) else {
                throw ExecutionError.notDeclared("\(name) has no disk \(diskName)")
            }
            let target = DomainMapping.diskTargets(vm)[i]
            try device(name, attach: true, xml: DomainMapping.diskXML(vm.disks[i], vm: vm, target: target), live: live, config: configToo)
        case .attachInterface(let mac, let live):
            let vm = try c.vmSpec()
            guard let nic = vm.networks.first(where: { $0.mac == mac }) else {
                throw ExecutionError.notDeclared("\(name) declares no NIC \(mac)")
            }
            try device(name, attach: true, xml: DomainMapping.interfaceXML(nic), live: live, config: configToo)
        case .detachInterface(let mac, let live):
            // libvirt finds the interface by its MAC.
            try device(
                name, attach: false, xml: "<interface type='network'><mac address='\(mac)'/></interface>", live: live, config: configToo)
        case .attachHostdev(let kind, let live):
            try device(name, attach: true, xml: DomainMapping.hostdevXML(kind), live: live, config: configToo)
        case .detachHostdev(let kind, let live):
            try device(name, attach: false, xml: DomainMapping.hostdevXML(kind), live: live, config: configToo)
        case .createSnapshot(let snap):
            let vmName = String(name.prefix { $0 != "/" })
            _ = try domain(vmName).createSnapshot(
                xml: SnapshotMapping.render(name: snap, description: LiveSnapshot.description(fleet: fleet.name)))
        case .deleteSnapshot(let snap):
            let vmName = String(name.prefix { $0 != "/" })
            try domain(vmName).snapshot(named: snap)?.delete()
        case .migrate(let toHost, let live):
            try migrate(c, to: toHost, live: live)
        case .writeOwnerMark:
            switch c.object.kind {
            case .vm:
                let vm = try c.vmSpec()
                try domain(name).setMetadata(
                    OwnerXML.metadataElement(mark(.vm, vm.group)), key: OwnerXML.prefix, uri: OwnerXML.namespace,
                    flags: try domain(name).isActive ? [.live, .config] : [.config])
            case .pool: try ledger.record(object: name, mark: mark(.pool, name, ["uuid": try pool(name).uuidString]))
            case .network: try ledger.record(object: name, mark: mark(.network, name, ["uuid": try network(name).uuidString]))
            case .volume:
                let vm = try c.vmSpec()
                try ledger.record(object: name, mark: mark(.volume, vm.group, ["vm": vm.name]))
            case .image:
                let img = try c.imageSpec()
                try ledger.record(
                    object: "\(img.pool)/\(img.volumeName)", mark: mark(.image, name, img.sha256.map { ["sha256": $0] } ?? [:]))
            default: throw ExecutionError.refused("\(c.object) cannot be adopted")
            }
        }
    }
}
