import FleetModel

extension Assembly {
    /// Volume names are unique per pool on each host, across VM disks (`<vm>-<disk>.<ext>`), cloud-init
    /// seeds (`<vm>-cidata.img`) and image volumes: VM `web` disk `1-disk0` and VM `web-1` disk `disk0`
    /// are the same volume, and so are a disk named `cidata` (raw) and the seed. Volume names must not
    /// take a reserved prefix either. The first claimant (images, then VMs in name order, each VM's seed
    /// before its disks) keeps the name; later ones are reported.
    func checkVolumes(_ expanded: [(vm: VMSpec, draft: VMDraft)], hosts: [String: HostSpec]) {
        struct Slot: Hashable {
            let host: String
            let pool: String
            let volume: String
        }
        var owners: [Slot: String] = [:]
        func claim(_ slot: Slot, owner: String, label: String, at loc: SourceLocation, named object: String) {
            // An object whose own name is reserved is reported once, for its name.
            if ObjectName.reservedPrefix(of: object) == nil, let prefix = ObjectName.reservedPrefix(of: slot.volume) {
                session.error(
                    "\(label): volume \"\(slot.volume)\" of \(owner) starts with \"\(prefix)\", which fleet reserves for its ledgers and locks",
                    at: loc)
            }
            if let other = owners[slot] {
                // The same disk name twice in one VM is reported as a duplicate disk name already.
                guard other != owner else { return }
                session.error(
                    "\(label): volume \"\(slot.volume)\" of \(owner) is also the volume of \(other) in pool \"\(slot.pool)\" on host \"\(slot.host)\"",
                    at: loc)
            } else {
                owners[slot] = owner
            }
        }
        for key in images.keys.sorted() {
            guard let img = images[key], !img.spec.pool.isEmpty, pools[img.spec.pool] != nil else { continue }
            let poolHosts = pools[img.spec.pool]?.spec.hosts
            for host in (img.spec.hosts ?? hosts.keys.sorted()) where poolHosts?.contains(host) ?? true {
                claim(
                    Slot(host: host, pool: img.spec.pool, volume: img.spec.volumeName),
                    owner: "image \"\(key)\"", label: "image \"\(key)\"", at: img.loc, named: key)
            }
        }
        for (vm, d) in expanded where !vm.host.isEmpty {
            // The seed name is claimed first, so a disk that takes it is the one reported. It is kept for every
            // VM with disks (DomainMapping.seedVolumeName names it whether or not cloud_init: is set today).
            if let pool = vm.disks.first?.pool, !pool.isEmpty {
                let seed = vm.seedVolume?.name ?? "\(vm.name)-cidata.img"
                let owner =
                    vm.cloudInit != nil ? "the cloud-init seed of vm \"\(vm.name)\"" : "the cloud-init seed name of vm \"\(vm.name)\""
                claim(
                    Slot(host: vm.host, pool: pool, volume: seed), owner: owner, label: "cloud_init", at: d.cloudInitLoc ?? d.loc,
                    named: vm.name)
            }
            for (i, disk) in vm.disks.enumerated() where !disk.pool.isEmpty {
                let loc = i < d.diskLocs.count ? d.diskLocs[i] : d.loc
                let label = i < d.diskLabels.count ? d.diskLabels[i] : "disks[\(i)]"
                claim(
                    Slot(host: vm.host, pool: disk.pool, volume: disk.volumeName(vm: vm.name)),
                    owner: "vm \"\(vm.name)\" disk \"\(disk.name)\"", label: label, at: loc, named: vm.name)
            }
        }
    }
}
