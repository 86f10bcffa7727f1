import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

/// Disk volumes, cloud-init seeds and image uploads.
extension HostContext {
    // MARK: Volumes, seeds and images

    func createVolume(_ c: Change) throws {
        let (poolName, volName) = try volumeRef(c)
        let (vm, i, image) = try c.diskSpec()
        let disk = vm.disks[i]
        let p = try pool(poolName)
        // Recorded before the volume exists (a no-op when the run pre-recorded it).
        try ledger.record(object: "\(poolName)/\(volName)", mark: volumeMark(vm, disk, image: image))
        if let image {
            guard let base = try self.pool(image.pool).volume(named: image.volumeName) else {
                throw ExecutionError.missing("image volume \(image.pool)/\(image.volumeName) does not exist on \(host)")
            }
            let baseInfo = try base.info()
            let capacity = ByteSize(bytes: max(disk.size?.bytes ?? 0, baseInfo.capacityBytes))
            let baseFormat: DiskFormat =
                (try? VolumeMapping.volume(fromXML: base.xmlDesc(), pool: image.pool).format).flatMap {
                    $0.flatMap(DiskFormat.init(rawValue:))
                } ?? .qcow2
            let v: StorageVolume
            if disk.clone == .full {
                v = try p.createVolume(xml: VolumeMapping.render(name: volName, format: disk.format, capacity: capacity), cloneFrom: base)
            } else {
                v = try p.createVolume(
                    xml: VolumeMapping.render(
                        name: volName, format: .qcow2, capacity: capacity,
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
            guard let size = disk.size else { throw ExecutionError.refused("blank disk \(disk.name) of \(vm.name) has no size") }
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
        guard HostSpec.isLocal(uri: (try? conn.uri) ?? "") else {
            throw ExecutionError.refused("customizing disks on remote host \(host) is not supported yet; customize the image instead")
        }
        _ = try Customizer.apply(c, hostname: hostname, toDisk: volume.path, format: format, secrets: options.secrets)
    }

    func resizeVolume(_ c: Change, _ size: ByteSize) throws {
        let (poolName, volName) = try volumeRef(c)
        guard let v = try pool(poolName).volume(named: volName) else {
            throw ExecutionError.missing("volume \(c.object.name) does not exist")
        }
        // A disk in use by a running guest is grown through QEMU so the guest sees the new size at once.
        let (vm, i, _) = try c.diskSpec()
        if let d = try conn.domain(named: vm.name), try d.isActive {
            try d.blockResize(disk: DomainMapping.diskTargets(vm)[i], bytes: size.bytes)
        } else {
            try v.resize(capacity: size.bytes)
        }
    }

    /// Grows the partition and filesystem on a disk the running guest just saw grow (`growGuestFilesystem`).
    func growGuestFilesystem(_ c: Change) throws {
        guard case .resizeVolume(let size)? = c.steps.first(where: { if case .resizeVolume = $0 { return true } else { return false } })
        else { throw ExecutionError.notDeclared("\(c.object): no disk growth to follow") }
        let (vm, _, _) = try c.diskSpec()
        guard let d = try conn.domain(named: vm.name), try d.isActive else { return }  // stopped since: growpart at boot
        do {
            _ = try GuestGrowth(domain: d).grow(diskBytes: size.bytes)
        } catch {
            throw ExecutionError.refused(
                "\(c.object) grew to \(size), but growing its filesystem through the guest agent failed: \(error); "
                    + "cloud-init's growpart grows the root filesystem at the next boot, or grow it by hand")
        }
    }

    /// Uploads a VM's Ignition config through the stream API (so remote hosts work too) into a 0600 volume
    /// beside its disks; the domain's fw_cfg entry names the volume's path.
    func createIgnition(_ c: Change) throws {
        guard case .ignition(let vm)? = c.subject, let spec = vm.ignition, let (poolName, volName) = vm.ignitionVolume else {
            throw ExecutionError.notDeclared("\(c.object) is no declared Ignition config")
        }
        let digest = try IgnitionFile.digest(spec)
        let size = (try FileManager.default.attributesOfItem(atPath: spec.config)[.size] as? NSNumber)?.uint64Value ?? 0
        try ledger.record(
            object: "\(poolName)/\(volName)", mark: mark(.volume, vm.group, ["vm": vm.name, "role": "ignition", "digest": digest]))
        let v = try pool(poolName).createVolume(
            xml: VolumeMapping.render(name: volName, format: .raw, capacity: ByteSize(bytes: max(size, 1)), mode: "0600"))
        do {
            try v.upload(fromFile: spec.config, progress: nil)
        } catch {
            try? v.delete()
            try? ledger.remove(object: "\(poolName)/\(volName)", kind: .volume)
            throw error
        }
    }

    /// Builds the NoCloud seed (ISO 9660, `cidata`) in a private temporary directory and uploads it through the
    /// stream API, so it works for remote hosts too. The volume is created with mode 0600: it holds user-data
    /// and, with `root_password:`, a password hash.
    func createSeed(_ c: Change) throws {
        guard case .seed(let vm)? = c.subject, let spec = vm.cloudInit,
            let (poolName, volName) = vm.seedVolume
        else { throw ExecutionError.notDeclared("\(c.object) is no declared cloud-init seed") }
        let id = try CloudInitSeed.instanceID(spec, vmName: vm.name, secrets: options.secrets, fleet: fleet.name)
        try CloudInitSeed.withSeedFile(spec, vmName: vm.name, secrets: options.secrets, fleet: fleet.name) { tmp in
            let size = try FileManager.default.attributesOfItem(atPath: tmp)[.size] as? UInt64 ?? 0
            try ledger.record(
                object: "\(poolName)/\(volName)", mark: mark(.volume, vm.group, ["vm": vm.name, "role": "seed", "instance-id": id]))
            let p = try pool(poolName)
            let v = try p.createVolume(
                xml: VolumeMapping.render(name: volName, format: .raw, capacity: ByteSize(bytes: size), mode: "0600"))
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
        let image = try c.imageSpec()
        // Verify before anything is created: a bad checksum leaves nothing behind.
        let file = try ImageSource.prepare(image, cacheDirectory: options.imageCache)
        // The volume may be there although the plan did not see it: its pool was undefined (a partial destroy
        // keeps the directory) and has just been defined again. Reuse it when the ledger says this fleet
        // uploaded it with this content; anything else with that name is not fleet's to overwrite.
        let object = "\(image.pool)/\(image.volumeName)"
        if try pool(image.pool).volume(named: image.volumeName) != nil {
            let mark = try ledger.entry(object, .image)?.mark
            if let mark, mark.fleet == fleet.name, mark.attributes["sha256"] == file.sha256,
                mark.attributes["customize"] == image.customizationDigest
            {
                return
            }
            throw ExecutionError.refused(
                "storage volume \(image.volumeName) exists in pool \(image.pool) but fleet \(fleet.name) has no record of uploading it with this content (sha256 \(file.sha256.prefix(12))); it is left alone: remove it by hand or give the image another name"
            )
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
}
