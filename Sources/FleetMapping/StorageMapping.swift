import FleetModel
import LibvirtXML

/// PoolSpec <-> storage pool XML.
public enum PoolMapping {
    public static func pool(_ spec: PoolSpec) -> StoragePoolXML {
        var p = StoragePoolXML(type: spec.type.rawValue, name: spec.name)
        switch spec.type {
        case .dir:
            p.targetPath = spec.path
        case .logical:
            let vg = spec.volumeGroup ?? spec.name
            p.source = StoragePoolXML.Source(devices: spec.sourceDevices, name: vg, format: "lvm2")
            p.targetPath = spec.path ?? "/dev/\(vg)"
        case .netfs:
            p.source = StoragePoolXML.Source(hostName: spec.sourceHost, dirPath: spec.sourceDir, format: "nfs")
            p.targetPath = spec.path
        case .other:
            // Never declared by a manifest (PoolType(rawValue:) rejects other types); written as read.
            p.source = StoragePoolXML.Source(
                devices: spec.sourceDevices, name: spec.volumeGroup, hostName: spec.sourceHost,
                dirPath: spec.sourceDir)
            p.targetPath = spec.path
        }
        return p
    }

    public static func render(_ spec: PoolSpec) -> String { pool(spec).xml() }

    /// The pool as a spec (autostart and hosts nil) and its sizes (0 when the XML has none).
    public static func spec(
        fromXML xml: String
    ) throws
        -> (
            spec: PoolSpec, capacity: ByteSize, allocation: ByteSize, available: ByteSize, source: LivePoolSource,
            permissions: PathPermissions?
        )
    {
        let p = try StoragePoolXML(xml: xml)
        // Types fleet does not create (iscsi, disk, fs, …) read as themselves, `.other(type)`, never as a known type.
        let type = PoolType(libvirt: p.type)
        var spec = PoolSpec(name: p.name, type: type, path: p.targetPath)
        switch type {
        case .logical:
            spec.sourceDevices = p.source.devices
            spec.volumeGroup = p.source.name
        case .netfs:
            spec.sourceHost = p.source.hostName
            spec.sourceDir = p.source.dirPath
        case .dir:
            break
        case .other:
            spec.sourceDevices = p.source.devices
            spec.sourceHost = p.source.hostName
            spec.sourceDir = p.source.dirPath
        }
        let source = LivePoolSource(
            hosts: p.source.hosts, name: p.source.name, format: p.source.format, adapter: p.source.adapter,
            initiator: p.source.initiator)
        return (
            spec, ByteSize(bytes: p.capacity ?? 0), ByteSize(bytes: p.allocation ?? 0), ByteSize(bytes: p.available ?? 0), source,
            permissions(p.permissions)
        )
    }

    /// `<target><permissions>` with a numeric mode, owner and group (what libvirt reports for a directory it
    /// stat()s); nil when any is missing or not a number (`-1`: libvirt does not know).
    static func permissions(_ p: StoragePoolXML.Permissions?) -> PathPermissions? {
        guard let p, let m = p.mode.flatMap({ UInt32($0, radix: 8) }), let o = p.owner.flatMap({ Int($0) }),
            let g = p.group.flatMap({ Int($0) }), o >= 0, g >= 0
        else { return nil }
        return PathPermissions(mode: m & 0o7777, owner: o, group: g, label: p.label)
    }
}

/// Volumes <-> storage volume XML.
public enum VolumeMapping {
    /// `mode`: the file's octal mode (`0600` for volumes that may hold secrets); nil leaves the pool's default.
    public static func volume(
        name: String, format: DiskFormat, capacity: ByteSize, backingPath: String? = nil,
        backingFormat: DiskFormat? = nil, mode: String? = nil
    ) -> StorageVolumeXML {
        // Thin, like virt-install's default (sparse=yes): without <allocation> libvirt preallocates raw volumes.
        StorageVolumeXML(
            name: name, capacity: capacity.bytes, allocation: 0, format: format.rawValue, backingPath: backingPath,
            backingFormat: backingPath == nil ? nil : (backingFormat ?? .qcow2).rawValue, mode: mode)
    }

    public static func render(
        name: String, format: DiskFormat, capacity: ByteSize, backingPath: String? = nil,
        backingFormat: DiskFormat? = nil, mode: String? = nil
    ) -> String {
        volume(name: name, format: format, capacity: capacity, backingPath: backingPath, backingFormat: backingFormat, mode: mode).xml()
    }

    /// The volume as libvirt describes it; `owner` is nil (the reader fills it from the ledger).
    public static func volume(fromXML xml: String, pool: String) throws -> LiveVolume {
        let v = try StorageVolumeXML(xml: xml)
        return LiveVolume(
            pool: pool, name: v.name, path: v.targetPath ?? v.key ?? "", format: v.format,
            capacity: ByteSize(bytes: v.capacity), allocation: ByteSize(bytes: v.allocation ?? 0),
            backingPath: v.backingPath, backingFormat: v.backingFormat)
    }
}

/// Snapshots <-> domain snapshot XML.
public enum SnapshotMapping {
    public static func render(name: String, description: String?) -> String {
        DomainSnapshotXML(name: name, description: description).xml()
    }
    public static func name(fromXML xml: String) throws -> String { try DomainSnapshotXML(xml: xml).name }
    /// A snapshot as the live state holds it: its name, and the fleet its description names.
    public static func snapshot(fromXML xml: String) throws -> LiveSnapshot {
        let doc = try DomainSnapshotXML(xml: xml)
        return LiveSnapshot(name: doc.name, fleet: LiveSnapshot.fleet(fromDescription: doc.description))
    }
}

/// Node devices -> passthrough device kinds.
public enum NodeDeviceMapping {
    /// A `pci` node device as the preflight checks see it (driver, IOMMU group); nil for other capabilities.
    public static func pciDevice(fromXML xml: String) throws -> LivePCIDevice? {
        let d = try NodeDeviceXML(xml: xml)
        guard case .pci(let dom, let b, let s, let f, _, _) = d.capability, s <= 0x1f, f <= 7 else { return nil }
        let members = (d.iommuGroup?.members ?? []).filter { $0.slot <= 0x1f && $0.function <= 7 }.map {
            PCIAddress(domain: $0.domain, bus: $0.bus, slot: $0.slot, function: $0.function)
        }
        return LivePCIDevice(
            address: PCIAddress(domain: dom, bus: b, slot: s, function: f), driver: d.driver, iommuGroup: d.iommuGroup?.number,
            iommuGroupMembers: members)
    }

    /// The capabilities XML's `<host><iommu support=>` and DAC base label (`+64055:+64055`, the first one).
    public static func hostFacts(capabilitiesXML xml: String) throws -> (iommu: Bool?, qemuUser: ProcessLabel?) {
        let caps = try XElement.parse(xml)
        let host = caps.child("host")
        let iommu = host?.child("iommu")?["support"].flatMap { $0 == "yes" ? true : $0 == "no" ? false : nil }
        var user: ProcessLabel?
        for m in host?.all("secmodel") ?? [] where m.childText("model") == "dac" {
            guard let label = m.all("baselabel").first?.text.trimmedXMLSpace() else { continue }
            let parts = label.split(separator: ":").map { $0.hasPrefix("+") ? $0.dropFirst() : $0 }
            if parts.count == 2, let u = Int(parts[0]), let g = Int(parts[1]) { user = ProcessLabel(uid: u, gid: g) }
        }
        return (iommu, user)
    }

    /// `pci` -> `.pci(address)`, `usb_device` -> `.usb(vendor:product:)`, other capabilities nil.
    public static func kind(fromXML xml: String) throws -> DeviceKind? {
        let d = try NodeDeviceXML(xml: xml)
        switch d.capability {
        case .pci(let dom, let b, let s, let f, _, _):
            guard s <= 0x1f, f <= 7 else { throw XMLError("node device \(d.name): PCI slot/function out of range") }
            return .pci(PCIAddress(domain: dom, bus: b, slot: s, function: f))
        case .usbDevice(_, _, let product, let vendor):
            return .usb(vendor: vendor.id, product: product.id)
        case .other:
            return nil
        }
    }
}
