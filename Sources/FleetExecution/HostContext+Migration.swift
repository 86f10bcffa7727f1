import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

/// A move between hosts (`host:` changed) as one change, run on the new host (docs/planning.md, "Moves"):
/// the disks are made here (copied, or found on a shared pool), the domain migrates, and only then are the
/// old host's disks and its ledger entries for them removed. Nothing is lost, so it needs no --allow-destroy.
extension HostContext {

    /// One disk of the moving VM: its volume on the old host, and whether this host already sees it (shared pool).
    struct MovingDisk {
        var disk: DiskSpec
        var object: String
        var source: StorageVolume
        var sourceVolume: LiveVolume
        var shared: Bool
    }

    func migrate(_ c: Change, to target: String, live: Bool) throws {
        let vm = try c.vmSpec()
        let name = vm.name
        // The domain is on whichever other host has it (the plan was made against it: verifyOwnership checked).
        var found: (String, Connection, Domain)?
        for h in executor.plan.hosts.map(\.host) where h != target {
            if let c = try? executor.connection(h), let d = try c.domain(named: name) {
                found = (h, c, d)
                break
            }
        }
        guard let (sourceHost, sourceConn, dom) = found else {
            throw ExecutionError.missing("domain \(name) was not found on any other host")
        }
        let source = HostContext(executor: executor, host: sourceHost, conn: sourceConn)
        let running = try dom.isActive
        guard running == live else {
            throw ExecutionError.ownership(ObjectRef(.vm, name), live ? "stopped" : "started")
        }

        let disks = try movingDisks(vm, from: source)
        // This host records the disks before it makes them (a killed run leaves marks without volumes).
        let sourceEntries = try source.ledger.entries()
        let hadHere = Set(try ledger.entries().filter { $0.mark.kind == .volume }.map(\.object))
        try ledger.recordAll(disks.compactMap { d in sourceEntries.first { $0.object == d.object && $0.mark.kind == .volume } })
        var made: [StorageVolume] = []
        do {
            for d in disks where !d.shared {
                made.append(live ? try precreate(d, vm: vm) : try copyContents(d, vm: vm))
            }
            var flags: MigrateFlags = [.persistDest, .undefineSource]
            if live {
                flags.formUnion([.live, .abortOnError])
                // QEMU copies what is not shared, whole: libvirt 9.0 refuses VIR_MIGRATE_NON_SHARED_INC for a
                // `<disk type='volume'>` ("pre-creation of storage targets for incremental storage migration is not
                // supported": it cannot tell that the volume made above exists), so an overlay gets every block.
                if disks.contains(where: { !$0.shared }) { flags.insert(.nonSharedDisk) }
            } else {
                flags.insert(.offline)
            }
            _ = try dom.migrate(to: conn, flags: flags)
        } catch {
            // The domain stays where it was, with its disks: what this host got of them goes, and so do the entries
            // recorded above (a shared disk's too: it stays the old host's).
            for v in made { try? v.delete() }
            try? ledger.removeAll(disks.filter { !hadHere.contains($0.object) }.map { ($0.object, .volume) })
            throw error
        }
        // The domain runs (or is defined) here now: the old host's copies of its disks are no longer anybody's.
        for d in disks where !d.shared { try d.source.delete() }
        var gone = disks.map { ($0.object, ObjectKind.volume) }
        // The old host's cloud-init seed and Ignition config: this host made its own before the move (the domain's
        // fw_cfg entry names the same path here, the pool's).
        for (volPool, volName) in [vm.seedVolume, vm.ignitionVolume].compactMap({ $0 }) {
            if let old = try? source.pool(volPool).volume(named: volName), let here = try? pool(volPool).volume(named: volName),
                (try? here.path) != (try? old.path)
            {
                try old.delete()
                gone.append(("\(volPool)/\(volName)", .volume))
            }
        }
        try source.ledger.removeAll(gone)
    }

    /// The VM's disks on the old host. A volume of the same name here is fine only when it is the very same one.
    func movingDisks(_ vm: VMSpec, from source: HostContext) throws -> [MovingDisk] {
        var out: [MovingDisk] = []
        for d in vm.disks {
            let volName = d.volumeName(vm: vm.name)
            let object = "\(d.pool)/\(volName)"
            guard let src = try source.pool(d.pool).volume(named: volName) else {
                throw ExecutionError.missing("disk volume \(object) of \(vm.name) does not exist on \(source.host)")
            }
            let srcLive = try VolumeMapping.volume(fromXML: src.xmlDesc(), pool: d.pool)
            let here = try pool(d.pool)
            try? here.refresh()
            var shared = false
            if let existing = try here.volume(named: volName) {
                guard try VolumeMapping.volume(fromXML: existing.xmlDesc(), pool: d.pool).isSameStorage(as: srcLive) else {
                    throw ExecutionError.refused(
                        "storage volume \(object) exists on \(host) already and is not the one on \(source.host); "
                            + "it is left alone: remove it by hand")
                }
                shared = true
            }
            out.append(MovingDisk(disk: d, object: object, source: src, sourceVolume: srcLive, shared: shared))
        }
        return out
    }

    /// The backing file an overlay gets here: this host's volume of the disk's image.
    func backingHere(_ d: MovingDisk) throws -> (path: String, format: DiskFormat)? {
        guard d.sourceVolume.backingPath != nil else { return nil }
        guard let image = d.disk.image.flatMap({ n in fleet.images.first { $0.name == n } }),
            let base = try pool(image.pool).volume(named: image.volumeName)
        else {
            throw ExecutionError.missing(
                "the image of \(d.object) (backing file \(d.sourceVolume.backingPath ?? "")) "
                    + "does not exist on \(host)")
        }
        let format = d.sourceVolume.backingFormat.flatMap(DiskFormat.init(rawValue:)) ?? .qcow2
        return (try base.path, format)
    }

    /// An empty volume like the source one, for QEMU to copy into during a live migration: same format and size,
    /// an overlay on this host's copy of the image.
    func precreate(_ d: MovingDisk, vm: VMSpec) throws -> StorageVolume {
        let format = d.sourceVolume.format.flatMap(DiskFormat.init(rawValue:)) ?? d.disk.format
        let backing = try backingHere(d)
        let xml = VolumeMapping.render(
            name: d.source.name, format: format, capacity: d.sourceVolume.capacity,
            backingPath: backing?.path, backingFormat: backing?.format)
        return try pool(d.disk.pool).createVolume(xml: xml)
    }

    /// Copies a stopped VM's disk here through the stream API: downloaded from the old host (holes stay holes),
    /// its overlay pointed at this host's image, uploaded, then downloaded again and compared by SHA-256.
    func copyContents(_ d: MovingDisk, vm: VMSpec) throws -> StorageVolume {
        let scratch = try Scratch(label: "fleet-move")
        let file = scratch.file("disk")
        let total = d.sourceVolume.allocation.bytes
        let report = options.uploadProgress
        let (hostName, object) = (host, "volume/\(d.object)")
        let downloaded = report.map { r in { (done: UInt64) in r(hostName, object + " (download)", done, max(done, total)) } }
        try d.source.download(toFile: file, sparse: true, progress: downloaded)
        chmod(file, 0o600)
        if let backing = try backingHere(d), try Qcow2Backing.backingFile(ofFile: file) != backing.path {
            try Qcow2Backing.setBackingFile(ofFile: file, to: backing.path)
        }
        let want = try ImageSource.sha256(ofFile: file)
        let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.uint64Value ?? 0
        let p = try pool(d.disk.pool)
        let v = try p.createVolume(xml: VolumeMapping.render(name: d.source.name, format: .raw, capacity: ByteSize(bytes: size)))
        do {
            try v.upload(fromFile: file, sparse: true, progress: report.map { r in { done, all in r(hostName, object, done, all) } })
            let check = scratch.file("check")
            try v.download(toFile: check, sparse: true)
            let have = try ImageSource.sha256(ofFile: check)
            guard have == want else {
                throw ExecutionError.refused(
                    "the copy of \(d.object) on \(host) does not match the original (sha256 \(have.prefix(12)), "
                        + "expected \(want.prefix(12))); the VM stays on its old host")
            }
            try p.refresh()
        } catch {
            try? v.delete()
            throw error
        }
        return try p.volume(named: d.source.name) ?? v
    }

    /// A volume in `pool` whose backing file is `path`: an image version still in use is never deleted.
    func volumeBacked(by path: String, in poolName: String) throws -> String? {
        for v in try pool(poolName).listAllVolumes() {
            if let lv = try? VolumeMapping.volume(fromXML: v.xmlDesc(), pool: poolName), lv.backingPath == path { return lv.name }
        }
        return nil
    }
}
