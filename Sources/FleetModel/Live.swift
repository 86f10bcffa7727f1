/// What a host really has, as values. The live-state reader fills these from libvirt
/// (one bulk listing and one XML read per object); the planner compares them with the specs.

/// The kinds of object fleet manages, as they appear in plans, `--target KIND/NAME` and ownership marks.
public enum ObjectKind: String, Hashable, Codable, Sendable, CaseIterable, Comparable {
    case pool, image, volume, network, vm, snapshot, device
    public static func < (a: ObjectKind, b: ObjectKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// fleet's ownership mark: recorded on everything fleet creates (see docs/ownership.md).
/// An object without a mark, or with another fleet's mark, is never modified or deleted.
public struct OwnerMark: Hashable, Codable, Sendable {
    public var fleet: String
    public var kind: ObjectKind
    /// The manifest name the object came from (a VM's group for `count:` VMs, an image's name, …).
    public var name: String
    /// Facts fleet records to decide later whether the object is still what the manifest asks for,
    /// e.g. an image's sha256 or a digest of the customization inputs of a disk.
    public var attributes: [String: String]

    public init(fleet: String, kind: ObjectKind, name: String, attributes: [String: String] = [:]) {
        self.fleet = fleet
        self.kind = kind
        self.name = name
        self.attributes = attributes
    }
}

public struct HostInfo: Hashable, Codable, Sendable {
    public var hostname: String
    public var cpuModel: String
    public var cpus: Int
    public var mhz: Int
    public var sockets: Int
    public var cores: Int
    public var threads: Int
    public var memory: ByteSize
    public var libvirtVersion: String
    public var hypervisor: String
    public var hypervisorVersion: String
    public init(
        hostname: String, cpuModel: String, cpus: Int, mhz: Int, sockets: Int, cores: Int, threads: Int,
        memory: ByteSize, libvirtVersion: String, hypervisor: String, hypervisorVersion: String
    ) {
        self.hostname = hostname
        self.cpuModel = cpuModel
        self.cpus = cpus
        self.mhz = mhz
        self.sockets = sockets
        self.cores = cores
        self.threads = threads
        self.memory = memory
        self.libvirtVersion = libvirtVersion
        self.hypervisor = hypervisor
        self.hypervisorVersion = hypervisorVersion
    }
}

public enum DomainRunState: String, Hashable, Codable, Sendable {
    case running, blocked, paused, shutdown, shutoff, crashed, pmsuspended, unknown
    /// States in which the guest occupies resources and a live update applies.
    public var isActive: Bool { self != .shutoff && self != .crashed && self != .unknown }
}

public enum DiskDevice: String, Hashable, Codable, Sendable { case disk, cdrom, floppy, lun }

/// A disk as the domain XML shows it.
public struct LiveDisk: Hashable, Codable, Sendable {
    public var device: DiskDevice
    /// `<disk type=>`: file, block, dir, volume, network, nvme, vhostuser.
    public var type: String
    /// Guest device name, `vda`.
    public var target: String
    /// `<target bus=>`; a bus fleet does not create keeps libvirt's name (`.other("fdc")`).
    public var bus: DiskBus?
    /// `<driver type=>`: qcow2, raw, or another format as libvirt names it (`.other("vmdk")`).
    public var format: DiskFormat?
    /// `<source pool= volume=>` when the disk refers to a pool volume.
    public var pool: String?
    public var volume: String?
    /// `<source file=|dev=|dir=>` otherwise (or as resolved by libvirt for a running domain).
    public var path: String?
    /// type network: `<source protocol= name=>` and its hosts (`name`, `name:port`, or `unix:SOCKET`).
    public var `protocol`: String?
    public var name: String?
    public var hosts: [String]
    /// type nvme: the controller's PCI address and namespace, as virsh domblklist prints them (`nvme://0000:01:00.0/1`).
    public var nvme: String?
    /// type vhostuser: the vhost-user socket.
    public var socket: String?
    public var serial: String?
    public var readonly: Bool
    public init(
        device: DiskDevice = .disk, type: String = "file", target: String, bus: DiskBus? = nil, format: DiskFormat? = nil,
        pool: String? = nil, volume: String? = nil, path: String? = nil, protocol: String? = nil, name: String? = nil,
        hosts: [String] = [], nvme: String? = nil, socket: String? = nil, serial: String? = nil, readonly: Bool = false
    ) {
        self.device = device
        self.type = type
        self.target = target
        self.bus = bus
        self.format = format
        self.pool = pool
        self.volume = volume
        self.path = path
        self.protocol = `protocol`
        self.name = name
        self.hosts = hosts
        self.nvme = nvme
        self.socket = socket
        self.serial = serial
        self.readonly = readonly
    }

    /// What the disk reads, as one line: a path, `pool/volume`, `rbd://host:port/name`, `nvme://0000:01:00.0/1`,
    /// the vhost-user socket; `-` for an empty drive.
    public var sourceText: String {
        if let v = volume { return pool.map { "\($0)/\(v)" } ?? v }
        if let p = path { return p }
        if let proto = `protocol` {
            return "\(proto)://\(hosts.joined(separator: ","))" + (name.map { "/" + $0 } ?? "")
        }
        if let n = nvme { return n }
        if let s = socket { return s }
        return "-"
    }
}

public enum InterfaceSource: Hashable, Codable, Sendable {
    case network(String)
    case bridge(String)
    /// type direct (macvtap): the host interface and the macvtap mode (vepa, bridge, private, passthrough).
    case direct(dev: String, mode: String?)
    /// type hostdev: the passed-through function (`0000:03:10.2`, or `usb BUS:DEV`).
    case hostdev(String)
    /// type vhostuser: the socket and who serves it (`server`/`client`).
    case vhostuser(path: String, mode: String?)
    /// type vdpa: the vhost-vdpa character device.
    case vdpa(String)
    /// type user: QEMU's user-mode networking (no host-side source).
    case user
    /// type ethernet: a tap device the host sets up (its name if given).
    case ethernet(String?)
    /// types mcast, udp, server, client: the socket address.
    case socket(type: String, address: String)
    /// Any other type (or one whose source is missing): the type.
    case other(String)
}

extension InterfaceSource: CustomStringConvertible {
    public var description: String {
        switch self {
        case .network(let n): return n
        case .bridge(let b): return "bridge \(b)"
        case .direct(let d, let m): return "direct \(d)" + (m.map { " (\($0))" } ?? "")
        case .hostdev(let a): return "hostdev \(a)"
        case .vhostuser(let p, let m): return "vhostuser \(p)" + (m.map { " (\($0))" } ?? "")
        case .vdpa(let d): return "vdpa \(d)"
        case .user: return "user"
        case .ethernet(let t): return "ethernet" + (t.map { " \($0)" } ?? "")
        case .socket(let t, let a): return "\(t) \(a)"
        case .other(let o): return o
        }
    }
}

/// A `<hostdev>` as the domain XML shows it: every type libvirt has, whether fleet manages it or not.
public struct LiveHostdev: Hashable, Codable, Sendable {
    /// subsystem | capabilities
    public var mode: String
    /// subsystem: pci, usb, scsi, scsi_host, mdev; capabilities: storage, misc, net.
    public var type: String
    public var managed: Bool?
    /// What it points at, as libvirt's XML says: `0000:3b:00.0`, `1050:0407`, `usb bus 1 device 3`,
    /// `scsi_host0 0:0:0`, `iscsi iqn…/1 @ host:3260`, `vhost naa.…`, `mdev UUID (vfio-pci)`, a block/char/interface path.
    public var source: String
    /// The device fleet itself can declare (PCI by address, USB by vendor/product); nil for the others.
    public var kind: DeviceKind?
    public init(mode: String = "subsystem", type: String, managed: Bool? = nil, source: String, kind: DeviceKind? = nil) {
        self.mode = mode
        self.type = type
        self.managed = managed
        self.source = source
        self.kind = kind
    }

    /// libvirt 9.0 refuses to migrate a domain holding this device (qemuMigrationSrcIsAllowedHostdev): every
    /// capabilities-mode hostdev and every subsystem type except USB (PCI, SCSI, scsi_host, mdev). The same check
    /// guards snapshots that save the guest's memory (qemu_snapshot.c), so it blocks both. See docs/planning.md.
    public var bindsToHost: Bool { !(mode == "subsystem" && type == "usb") }

    /// `pci 0000:3b:00.0`, `scsi scsi_host0 0:0:0`, as `fleet show` prints it.
    public var description: String { mode == "capabilities" ? "\(type) (capabilities) \(source)" : "\(type) \(source)" }
}

public struct LiveNIC: Hashable, Codable, Sendable {
    /// `<interface type=>`, as libvirt names it (virsh domiflist's Type).
    public var type: String
    public var source: InterfaceSource
    public var model: String?
    public var mac: MACAddress?
    /// `<target dev=>`: the host-side interface name (virsh domiflist's Interface), when libvirt gave one.
    public var target: String?
    /// Guest addresses the hypervisor knows of (DHCP leases), for display only.
    public var addresses: [String]
    public init(
        type: String? = nil, source: InterfaceSource, model: String? = nil, mac: MACAddress? = nil, target: String? = nil,
        addresses: [String] = []
    ) {
        self.source = source
        self.model = model
        self.mac = mac
        self.target = target
        self.addresses = addresses
        switch source {
        case .network: self.type = type ?? "network"
        case .bridge: self.type = type ?? "bridge"
        case .direct: self.type = type ?? "direct"
        case .hostdev: self.type = type ?? "hostdev"
        case .vhostuser: self.type = type ?? "vhostuser"
        case .vdpa: self.type = type ?? "vdpa"
        case .user: self.type = type ?? "user"
        case .ethernet: self.type = type ?? "ethernet"
        case .socket(let t, _): self.type = type ?? t
        case .other(let t): self.type = type ?? t
        }
    }
}

public struct LiveGraphics: Hashable, Codable, Sendable {
    public var type: String
    public var listen: String?
    /// The configured port; nil with autoport.
    public var port: Int?
    /// The port a running domain was given (autoport), for display.
    public var activePort: Int?
    public var hasPassword: Bool
    /// A digest of the password (read with VIR_DOMAIN_XML_SECURE), to compare with the declared one; never the password.
    public var passwordDigest: String?
    public init(
        type: String, listen: String? = nil, port: Int? = nil, activePort: Int? = nil, hasPassword: Bool = false,
        passwordDigest: String? = nil
    ) {
        self.type = type
        self.listen = listen
        self.port = port
        self.activePort = activePort
        self.hasPassword = hasPassword
        self.passwordDigest = passwordDigest
    }
}

/// A domain's `<tpm>` as libvirt holds it.
public struct LiveTPM: Hashable, Codable, Sendable {
    /// `tpm-crb`, `tpm-tis`, `tpm-spapr`, …
    public var model: String?
    /// `emulator`, `passthrough`, `external`.
    public var backend: String?
    /// `1.2` or `2.0` (libvirt writes the version it chose when the definition names none).
    public var version: String?
    public init(model: String? = nil, backend: String? = nil, version: String? = nil) {
        self.model = model
        self.backend = backend
        self.version = version
    }

    /// Whether this is the TPM the manifest declares (an emulator of that model and version).
    public func matches(_ spec: TPMSpec) -> Bool {
        model == spec.model.libvirt && backend == "emulator" && version == spec.version.rawValue
    }

    public var description: String {
        [model.map { $0.hasPrefix("tpm-") ? String($0.dropFirst(4)) : $0 }, version, backend == "emulator" ? nil : backend]
            .compactMap { $0 }.joined(separator: " ")
    }
}

/// The configuration of a domain, read from one XML document (inactive or live).
public struct DomainConfig: Hashable, Codable, Sendable {
    public var vcpus: Int
    public var maxVcpus: Int
    public var memory: ByteSize
    public var maxMemory: ByteSize
    public var firmware: Firmware?
    public var virtType: String
    public var machine: String?
    public var disks: [LiveDisk]
    public var nics: [LiveNIC]
    public var graphics: [LiveGraphics]
    /// The passthrough devices fleet can declare (PCI by address, USB by vendor/product): what the planner compares.
    public var hostdevs: [DeviceKind]
    /// Every `<hostdev>` of the domain, fleet's kinds and all others (SCSI, scsi_host, mdev, USB by address, capabilities).
    /// nil: not read (values built by hand); `hostDevices` then stands for `hostdevs`.
    public var allHostdevs: [LiveHostdev]?
    public var description: String?
    public var owner: OwnerMark?
    /// Whether the domain has the `org.qemu.guest_agent.0` virtio channel.
    public var guestAgent: Bool
    /// UEFI secure boot: the `secure-boot` firmware feature libvirt selects by, else the loader's `secure`
    /// attribute once libvirt has expanded the selection; nil when the XML says neither.
    public var secureBoot: Bool?
    /// The `enrolled-keys` firmware feature; nil when the XML does not name it.
    public var enrolledKeys: Bool?
    /// `<features><smm state='on'/>`.
    public var smm = false
    /// The first `<tpm>`: its model (`tpm-crb`), backend type (`emulator`) and version (`2.0`).
    public var tpm: LiveTPM?
    /// Devices fleet neither renders nor models and libvirt does not add by itself (a watchdog, an RNG, a
    /// channel other than the agent's, a filesystem, a TPM…), as `kind detail`: what a recreation would drop.
    public var unmanagedDevices: [String] = []
    /// The file of the `opt/com.coreos/config` fw_cfg entry (Ignition), if any.
    public var ignitionFile: String?
    /// `<filesystem type='mount'>` devices as shares (virtiofs or 9p; others are not listed).
    public var shares: [ShareSpec] = []
    /// Whether `<memoryBacking>` shares guest memory (`<access mode='shared'/>`), as virtiofs needs.
    public var sharedMemory = false

    public init(
        vcpus: Int, maxVcpus: Int, memory: ByteSize, maxMemory: ByteSize, firmware: Firmware? = nil,
        virtType: String = "kvm", machine: String? = nil, disks: [LiveDisk] = [], nics: [LiveNIC] = [],
        graphics: [LiveGraphics] = [], hostdevs: [DeviceKind] = [], allHostdevs: [LiveHostdev]? = nil,
        description: String? = nil, owner: OwnerMark? = nil, guestAgent: Bool = false
    ) {
        self.vcpus = vcpus
        self.maxVcpus = maxVcpus
        self.memory = memory
        self.maxMemory = maxMemory
        self.firmware = firmware
        self.virtType = virtType
        self.machine = machine
        self.disks = disks
        self.nics = nics
        self.graphics = graphics
        self.hostdevs = hostdevs
        self.allHostdevs = allHostdevs
        self.description = description
        self.owner = owner
        self.guestAgent = guestAgent
    }

    /// Every hostdev of the domain: `allHostdevs` when read from XML, else `hostdevs` as hostdev values.
    public var hostDevices: [LiveHostdev] { allHostdevs ?? hostdevs.map(\.hostdev) }
}

extension DeviceKind {
    /// The subsystem `<hostdev>` of a device fleet declares, as the live state shows it. Its `bindsToHost` is
    /// the one rule, for the loader and the planner alike, of which declared devices block migration and snapshots.
    public var hostdev: LiveHostdev {
        switch self {
        case .pci(let a): return LiveHostdev(type: "pci", source: a.description, kind: self)
        case .usb: return LiveHostdev(type: "usb", source: String(description.dropFirst(4)), kind: self)
        }
    }
}

public struct LiveDomain: Hashable, Codable, Sendable {
    public var name: String
    public var uuid: String
    /// The hypervisor id of a running domain; it changes on every start, so it proves "no restart".
    public var id: Int?
    public var state: DomainRunState
    public var persistent: Bool
    public var autostart: Bool
    /// The persistent definition (what the next boot gets).
    public var config: DomainConfig
    /// The running definition, when the domain is active.
    public var live: DomainConfig?
    public var snapshots: [LiveSnapshot]
    public var hasManagedSave: Bool

    public init(
        name: String, uuid: String, id: Int? = nil, state: DomainRunState, persistent: Bool = true,
        autostart: Bool = false, config: DomainConfig, live: DomainConfig? = nil, snapshots: [LiveSnapshot] = [],
        hasManagedSave: Bool = false
    ) {
        self.name = name
        self.uuid = uuid
        self.id = id
        self.state = state
        self.persistent = persistent
        self.autostart = autostart
        self.config = config
        self.live = live
        self.snapshots = snapshots
        self.hasManagedSave = hasManagedSave
    }

    public var owner: OwnerMark? { config.owner }
}

/// A domain snapshot. libvirt keeps no metadata on snapshots: fleet marks the ones it creates
/// with a description `managed by fleet <name>` and only ever deletes those.
public struct LiveSnapshot: Hashable, Codable, Sendable {
    public var name: String
    /// The fleet whose mark the description carries, if any.
    public var fleet: String?
    public init(name: String, fleet: String? = nil) {
        self.name = name
        self.fleet = fleet
    }

    public static func description(fleet: String) -> String { "managed by fleet \(fleet)" }
    /// Reads the fleet name back from a snapshot description fleet wrote.
    public static func fleet(fromDescription d: String?) -> String? {
        guard let d, d.hasPrefix("managed by fleet ") else { return nil }
        let name = String(d.dropFirst("managed by fleet ".count))
        return name.isEmpty ? nil : name
    }
}

public struct LiveNetwork: Hashable, Codable, Sendable {
    public var name: String
    public var uuid: String
    public var active: Bool
    public var persistent: Bool
    public var autostart: Bool
    /// The network read back as a spec (hosts left nil). A forward mode fleet does not create is `.other(mode)`.
    public var spec: NetworkSpec
    /// The devices under `<forward>` (`dev=`, `<interface dev>`, `<pf dev>` as `pf DEV`, PCI addresses).
    public var forwardDevices: [String]
    public var owner: OwnerMark?
    /// Dynamic leases dnsmasq handed out, for display.
    public var activeLeases: [String]
    public init(
        name: String, uuid: String, active: Bool, persistent: Bool = true, autostart: Bool, spec: NetworkSpec,
        forwardDevices: [String] = [], owner: OwnerMark? = nil, activeLeases: [String] = []
    ) {
        self.name = name
        self.uuid = uuid
        self.active = active
        self.persistent = persistent
        self.autostart = autostart
        self.spec = spec
        self.forwardDevices = forwardDevices
        self.owner = owner
        self.activeLeases = activeLeases
    }
}

public struct LivePool: Hashable, Codable, Sendable {
    public var name: String
    public var uuid: String
    public var active: Bool
    public var autostart: Bool
    /// The pool read back as a spec. A type fleet does not create is `.other(type)`; its target path, source
    /// devices, first host and directory are still filled in.
    public var spec: PoolSpec
    /// What `<source>` says beyond the spec: every host, the source name (volume group, RBD pool, iSCSI target…),
    /// format, adapter (scsi) and initiator IQN (iscsi-direct).
    public var source: LivePoolSource
    public var capacity: ByteSize
    public var allocation: ByteSize
    public var available: ByteSize
    public var owner: OwnerMark?
    /// The target directory's mode and owner as libvirt reports them (`<target><permissions>`); nil when it gives none.
    public var permissions: PathPermissions?
    public init(
        name: String, uuid: String, active: Bool, autostart: Bool, spec: PoolSpec, source: LivePoolSource = LivePoolSource(),
        capacity: ByteSize = .init(bytes: 0), allocation: ByteSize = .init(bytes: 0), available: ByteSize = .init(bytes: 0),
        owner: OwnerMark? = nil, permissions: PathPermissions? = nil
    ) {
        self.permissions = permissions
        self.name = name
        self.uuid = uuid
        self.active = active
        self.autostart = autostart
        self.spec = spec
        self.source = source
        self.capacity = capacity
        self.allocation = allocation
        self.available = available
        self.owner = owner
    }
}

public struct LivePoolSource: Hashable, Codable, Sendable {
    public var hosts: [String]
    public var name: String?
    public var format: String?
    public var adapter: String?
    public var initiator: String?
    public init(hosts: [String] = [], name: String? = nil, format: String? = nil, adapter: String? = nil, initiator: String? = nil) {
        self.hosts = hosts
        self.name = name
        self.format = format
        self.adapter = adapter
        self.initiator = initiator
    }
}

public struct LiveVolume: Hashable, Codable, Sendable {
    public var pool: String
    public var name: String
    public var path: String
    public var format: String?
    public var capacity: ByteSize
    public var allocation: ByteSize
    public var backingPath: String?
    public var backingFormat: String?
    public var owner: OwnerMark?
    public init(
        pool: String, name: String, path: String, format: String? = nil, capacity: ByteSize, allocation: ByteSize,
        backingPath: String? = nil, backingFormat: String? = nil, owner: OwnerMark? = nil
    ) {
        self.pool = pool
        self.name = name
        self.path = path
        self.format = format
        self.capacity = capacity
        self.allocation = allocation
        self.backingPath = backingPath
        self.backingFormat = backingFormat
        self.owner = owner
    }
}

/// One host's live state. `error` is set when the host could not be read; the rest is then empty.
public struct LiveHost: Hashable, Codable, Sendable {
    public var name: String
    public var uri: String
    public var info: HostInfo?
    public var domains: [LiveDomain]
    public var networks: [LiveNetwork]
    public var pools: [LivePool]
    public var volumes: [LiveVolume]
    /// Passthrough devices present on the host (from node devices); nil when the driver cannot list them.
    public var nodeDevices: [DeviceKind]?
    /// What the preflight checks need beyond the objects (free memory, IOMMU, QEMU's user, PCI functions).
    public var facts: HostFacts = HostFacts()
    public var error: String?

    public init(
        name: String, uri: String, info: HostInfo? = nil, domains: [LiveDomain] = [], networks: [LiveNetwork] = [],
        pools: [LivePool] = [], volumes: [LiveVolume] = [], nodeDevices: [DeviceKind]? = nil, error: String? = nil
    ) {
        self.name = name
        self.uri = uri
        self.info = info
        self.domains = domains
        self.networks = networks
        self.pools = pools
        self.volumes = volumes
        self.nodeDevices = nodeDevices
        self.error = error
    }
}

/// The owner, group and mode of a directory, as libvirt reports a pool target's `<permissions>`.
public struct PathPermissions: Hashable, Codable, Sendable {
    /// Permission bits, e.g. 0o755.
    public var mode: UInt32
    public var owner: Int
    public var group: Int
    /// The SELinux label, when libvirt reports one.
    public var label: String?
    public init(mode: UInt32, owner: Int, group: Int, label: String? = nil) {
        self.mode = mode
        self.owner = owner
        self.group = group
        self.label = label
    }
    /// `0700 65534:65534`.
    public var description: String {
        let m = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - m.count)) + m + " \(owner):\(group)"
    }
}

/// The user and group QEMU processes run as: libvirt's DAC security model base label (`+64055:+64055`).
public struct ProcessLabel: Hashable, Codable, Sendable {
    public var uid: Int
    public var gid: Int
    public init(uid: Int, gid: Int) {
        self.uid = uid
        self.gid = gid
    }
}

/// A PCI function of the host as its node device describes it: what the passthrough preconditions need.
public struct LivePCIDevice: Hashable, Codable, Sendable {
    public var address: PCIAddress
    /// The host driver bound now (`vfio-pci`, `e1000e`, `pcieport`); nil when none is.
    public var driver: String?
    /// `<iommuGroup number=>`; nil when the kernel put it in none (the IOMMU is off).
    public var iommuGroup: Int?
    /// Every function of that IOMMU group, itself included.
    public var iommuGroupMembers: [PCIAddress]
    public init(address: PCIAddress, driver: String? = nil, iommuGroup: Int? = nil, iommuGroupMembers: [PCIAddress] = []) {
        self.address = address
        self.driver = driver
        self.iommuGroup = iommuGroup
        self.iommuGroupMembers = iommuGroupMembers
    }
}

/// Host facts the preflight checks use, each read with one call per host (docs/planning.md, "Preflight").
/// nil: the driver does not report it, and the checks that need it are skipped.
public struct HostFacts: Hashable, Codable, Sendable {
    /// virNodeGetFreeMemory.
    public var freeMemory: ByteSize?
    /// The capabilities' `<host><iommu support=>`.
    public var iommu: Bool?
    /// The capabilities' DAC base label: who QEMU runs as.
    public var qemuUser: ProcessLabel?
    /// The host's PCI functions (node devices).
    public var pciDevices: [LivePCIDevice]?
    public init(freeMemory: ByteSize? = nil, iommu: Bool? = nil, qemuUser: ProcessLabel? = nil, pciDevices: [LivePCIDevice]? = nil) {
        self.freeMemory = freeMemory
        self.iommu = iommu
        self.qemuUser = qemuUser
        self.pciDevices = pciDevices
    }
}

public struct LiveState: Hashable, Codable, Sendable {
    public var hosts: [LiveHost]
    public init(hosts: [LiveHost]) { self.hosts = hosts }
    public func host(_ name: String) -> LiveHost? { hosts.first { $0.name == name } }
}
