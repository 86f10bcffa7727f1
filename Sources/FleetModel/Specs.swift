/// The desired state of a fleet, as the manifests describe it after merging every file,
/// applying profiles and expanding `count:`. Pure values: no I/O, no libvirt.
///
/// The same types describe what the live-state reader finds on a host, so the planner
/// compares like with like. Optional fields mean "not managed": a manifest that leaves
/// them unset never produces a difference for them.
public struct Fleet: Hashable, Codable, Sendable {
    public var name: String
    public var hosts: [HostSpec]
    public var pools: [PoolSpec]
    public var networks: [NetworkSpec]
    public var images: [ImageSpec]
    public var devices: [DeviceSpec]
    public var vms: [VMSpec]
    /// The top-level `placement:` policy for VMs with `host: auto` or `hosts:`; nil: the defaults.
    public var placementPolicy: PlacementPolicy?
    /// The manifest tree the fleet was loaded from (see FleetManifest's `ManifestTree`); recorded in the marks
    /// of what fleet creates, so a tree never deletes what another tree of the same fleet name made.
    public var tree: String?

    public init(
        name: String, hosts: [HostSpec] = [], pools: [PoolSpec] = [], networks: [NetworkSpec] = [],
        images: [ImageSpec] = [], devices: [DeviceSpec] = [], vms: [VMSpec] = [], tree: String? = nil
    ) {
        self.name = name
        self.hosts = hosts
        self.pools = pools
        self.networks = networks
        self.images = images
        self.devices = devices
        self.vms = vms
        self.tree = tree
    }

    /// The host a manifest gets when it declares none.
    public static let defaultHost = HostSpec(name: "local", uri: "qemu:///system")

    /// Names of the hosts an object that may list `hosts:` is placed on: the listed ones, or every host.
    public func placement(_ hosts: [String]?) -> [String] {
        hosts ?? self.hosts.map(\.name)
    }
}

public struct HostSpec: Hashable, Codable, Sendable {
    public var name: String
    public var uri: String
    public init(name: String, uri: String) {
        self.name = name
        self.uri = uri
    }

    /// Whether the host is this machine: its URI has no host part (`qemu:///system`, `test:///default`).
    public var isLocal: Bool { Self.isLocal(uri: uri) }
    public static func isLocal(uri: String) -> Bool {
        let parts = uri.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts[1].hasPrefix("///")
    }
}

// MARK: Kinds libvirt names

/// A kind libvirt names with a string (a pool type, a disk bus or format, a forward mode): the cases fleet
/// manages, plus `.other(name)` for every kind libvirt has and fleet cannot manage, read faithfully and never
/// mapped to a wrong known kind. Manifests accept only the managed cases (`init(rawValue:)`); values read from
/// libvirt go through `init(libvirt:)`. A managed case's name is the case's own name.
public protocol LibvirtKind: Hashable, Sendable, Codable, CaseIterable, RawRepresentable
where RawValue == String, AllCases == [Self] {
    static func other(_ name: String) -> Self
    /// libvirt's own name of an `.other` kind; nil for a managed one.
    var otherName: String? { get }
}

extension LibvirtKind {
    /// Manifest values: the kinds fleet manages; nil for anything else.
    public init?(rawValue: String) {
        guard let k = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = k
    }
    /// A value read from libvirt: a kind fleet manages, or `.other` carrying libvirt's own name.
    public init(libvirt name: String) { self = Self(rawValue: name) ?? .other(name) }
    /// A managed case's name is the case's own name (conformers spell it out, which is faster).
    public var rawValue: String { otherName ?? String(describing: self) }
    /// Whether fleet can manage this kind (it is not `.other`).
    public var isManaged: Bool { otherName == nil }
    public init(from decoder: Decoder) throws { self.init(libvirt: try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

// MARK: Storage

/// A storage pool type: dir, logical and netfs are the ones fleet creates; every other libvirt pool type
/// (fs, disk, iscsi, iscsi-direct, scsi, mpath, rbd, sheepdog, gluster, zfs, vstorage) reads as `.other`.
public enum PoolType: LibvirtKind {
    case dir, logical, netfs
    /// A kind libvirt has and fleet cannot manage, as libvirt names it. Only read from libvirt: manifests
    /// accept the cases above (`init(rawValue:)` rejects anything else).
    case other(String)

    public static var allCases: [PoolType] { [.dir, .logical, .netfs] }
    public var otherName: String? { if case .other(let s) = self { return s } else { return nil } }
    /// The case's own name, spelled out: `String(describing:)` (the protocol's default) took 6% of a plan.
    public var rawValue: String {
        switch self {
        case .dir: return "dir"
        case .logical: return "logical"
        case .netfs: return "netfs"
        case .other(let s): return s
        }
    }
}

public struct PoolSpec: Hashable, Codable, Sendable {
    public var name: String
    public var type: PoolType
    /// Target path: the directory (dir, netfs mount point) or `/dev/VG` (logical).
    public var path: String?
    /// logical: physical devices and volume-group name.
    public var sourceDevices: [String]
    public var volumeGroup: String?
    /// netfs: NFS server and exported directory.
    public var sourceHost: String?
    public var sourceDir: String?
    public var autostart: Bool?
    /// Hosts to create the pool on; nil means every host of the fleet.
    public var hosts: [String]?

    public init(
        name: String, type: PoolType, path: String? = nil, sourceDevices: [String] = [], volumeGroup: String? = nil,
        sourceHost: String? = nil, sourceDir: String? = nil, autostart: Bool? = nil, hosts: [String]? = nil
    ) {
        self.name = name
        self.type = type
        self.path = path
        self.sourceDevices = sourceDevices
        self.volumeGroup = volumeGroup
        self.sourceHost = sourceHost
        self.sourceDir = sourceDir
        self.autostart = autostart
        self.hosts = hosts
    }
}

/// A disk image format (`<driver type=>`): qcow2 and raw are the ones fleet creates.
public enum DiskFormat: LibvirtKind {
    case qcow2, raw
    /// A kind libvirt has and fleet cannot manage, as libvirt names it. Only read from libvirt: manifests
    /// accept the cases above (`init(rawValue:)` rejects anything else).
    case other(String)

    public static var allCases: [DiskFormat] { [.qcow2, .raw] }
    public var otherName: String? { if case .other(let s) = self { return s } else { return nil } }
    /// The case's own name, spelled out: `String(describing:)` (the protocol's default) took 6% of a plan.
    public var rawValue: String {
        switch self {
        case .qcow2: return "qcow2"
        case .raw: return "raw"
        case .other(let s): return s
        }
    }

    /// The extension fleet gives the volumes it creates, as virt-install does.
    public var fileExtension: String { self == .qcow2 ? "qcow2" : self == .raw ? "img" : rawValue }
}

/// A disk bus (`<target bus=>`): the ones fleet creates; others (fdc, xen, sd, uml, nvme…) read as `.other`.
public enum DiskBus: LibvirtKind {
    case virtio, scsi, sata, ide, usb
    /// A kind libvirt has and fleet cannot manage, as libvirt names it. Only read from libvirt: manifests
    /// accept the cases above (`init(rawValue:)` rejects anything else).
    case other(String)

    public static var allCases: [DiskBus] { [.virtio, .scsi, .sata, .ide, .usb] }
    public var otherName: String? { if case .other(let s) = self { return s } else { return nil } }
    /// The case's own name, spelled out: `String(describing:)` (the protocol's default) took 6% of a plan.
    public var rawValue: String {
        switch self {
        case .virtio: return "virtio"
        case .scsi: return "scsi"
        case .sata: return "sata"
        case .ide: return "ide"
        case .usb: return "usb"
        case .other(let s): return s
        }
    }

    /// The guest device prefix libvirt uses for the bus (`vda`, `sda`, `hda`, `fda`).
    public var targetPrefix: String {
        switch self {
        case .virtio: return "vd"
        case .scsi, .sata, .usb: return "sd"
        case .ide: return "hd"
        case .other(let b): return b == "fdc" ? "fd" : b == "xen" ? "xvd" : "sd"
        }
    }
}

// MARK: Networks

/// A network's forward mode: nat, bridge (an existing host bridge), isolated (no `<forward>`) and route are the
/// ones fleet creates; libvirt's open, private, vepa, passthrough and hostdev modes read as `.other`.
public enum NetworkMode: LibvirtKind {
    case nat, bridge, isolated, route
    /// A kind libvirt has and fleet cannot manage, as libvirt names it. Only read from libvirt: manifests
    /// accept the cases above (`init(rawValue:)` rejects anything else).
    case other(String)

    public static var allCases: [NetworkMode] { [.nat, .bridge, .isolated, .route] }
    public var otherName: String? { if case .other(let s) = self { return s } else { return nil } }
    /// The case's own name, spelled out: `String(describing:)` (the protocol's default) took 6% of a plan.
    public var rawValue: String {
        switch self {
        case .nat: return "nat"
        case .bridge: return "bridge"
        case .isolated: return "isolated"
        case .route: return "route"
        case .other(let s): return s
        }
    }
}

public struct DHCPSpec: Hashable, Codable, Sendable {
    public var start: IPv4Address
    public var end: IPv4Address
    public init(start: IPv4Address, end: IPv4Address) {
        self.start = start
        self.end = end
    }
}

/// A static DHCP lease (`<host mac= name= ip=>`), derived from VMs that ask for an `ip:`.
public struct DHCPLease: Hashable, Codable, Sendable, Comparable {
    public var mac: MACAddress
    public var name: String
    public var ip: IPv4Address
    public init(mac: MACAddress, name: String, ip: IPv4Address) {
        self.mac = mac
        self.name = name
        self.ip = ip
    }
    public static func < (a: DHCPLease, b: DHCPLease) -> Bool { (a.ip, a.mac) < (b.ip, b.mac) }
}

public struct NetworkSpec: Hashable, Codable, Sendable {
    public var name: String
    public var mode: NetworkMode
    /// nat/isolated/route: the bridge libvirt creates (nil: libvirt picks virbrN).
    /// bridge: the existing host bridge to attach to.
    public var bridge: String?
    public var subnet: IPv4Subnet?
    public var gateway: IPv4Address?
    public var dhcp: DHCPSpec?
    /// Static leases, sorted; filled from VM NICs that declare an `ip:`.
    public var leases: [DHCPLease]
    public var domain: String?
    public var mtu: Int?
    public var autostart: Bool?
    public var hosts: [String]?
    /// bridge: DNS servers given to guests with a static address (cloud-init network-config); nil: none.
    public var dns: [IPv4Address]?

    public init(
        name: String, mode: NetworkMode, bridge: String? = nil, subnet: IPv4Subnet? = nil, gateway: IPv4Address? = nil,
        dhcp: DHCPSpec? = nil, leases: [DHCPLease] = [], domain: String? = nil, mtu: Int? = nil,
        autostart: Bool? = nil, hosts: [String]? = nil
    ) {
        self.name = name
        self.mode = mode
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.dhcp = dhcp
        self.leases = leases
        self.domain = domain
        self.mtu = mtu
        self.autostart = autostart
        self.hosts = hosts
    }

    /// The gateway libvirt is given: the declared one, or the subnet's first address.
    public var effectiveGateway: IPv4Address? { gateway ?? subnet?.firstHost }
}

// MARK: Images

public enum SecretRef: Hashable, Codable, Sendable, CustomStringConvertible {
    case file(String)
    case env(String)
    public var description: String {
        switch self {
        case .file(let p): return "file:\(p)"
        case .env(let v): return "env:\(v)"
        }
    }
}

public struct FileCopy: Hashable, Codable, Sendable {
    public var source: String
    public var dest: String
    /// Octal permission bits, e.g. 0o644.
    public var mode: UInt32?
    public var owner: String?
    public init(source: String, dest: String, mode: UInt32? = nil, owner: String? = nil) {
        self.source = source
        self.dest = dest
        self.mode = mode
        self.owner = owner
    }
}

public enum SysprepOperation: String, Hashable, Codable, Sendable, CaseIterable {
    case machineID = "machine-id"
    case sshHostKeys = "ssh-hostkeys"
    case logfiles
    case bashHistory = "bash-history"
    case udevPersistentNet = "udev-persistent-net"
}

public struct Customization: Hashable, Codable, Sendable {
    public var rootPassword: SecretRef?
    public var sshAuthorizedKeys: [String]
    public var files: [FileCopy]
    public var hostname: Bool
    public var timezone: String?
    /// Empty: no sysprep. `sysprep: true` selects every operation.
    public var sysprep: [SysprepOperation]

    public init(
        rootPassword: SecretRef? = nil, sshAuthorizedKeys: [String] = [], files: [FileCopy] = [],
        hostname: Bool = false, timezone: String? = nil, sysprep: [SysprepOperation] = []
    ) {
        self.rootPassword = rootPassword
        self.sshAuthorizedKeys = sshAuthorizedKeys
        self.files = files
        self.hostname = hostname
        self.timezone = timezone
        self.sysprep = sysprep
    }

    public var isEmpty: Bool {
        rootPassword == nil && sshAuthorizedKeys.isEmpty && files.isEmpty && !hostname && timezone == nil && sysprep.isEmpty
    }

    /// Nothing to do on an image: `hostname` alone is a per-VM setting (meta-data local-hostname and the
    /// VM's own customization), so an image with only `hostname: true` is uploaded as it is, without libguestfs.
    public var isEmptyForImage: Bool {
        var c = self
        c.hostname = false
        return c.isEmpty
    }
}

public struct ImageSpec: Hashable, Codable, Sendable {
    public var name: String
    /// A local path (relative to the manifest directory), `file://` or `http(s)://` URL.
    public var source: String
    /// Lower-case hex SHA-256 of the source file.
    public var sha256: String?
    public var format: DiskFormat?
    public var pool: String
    public var customize: Customization?
    public var hosts: [String]?
    /// Digest of the image-level customization inputs (files, secrets), filled in before planning by
    /// whoever may read them (the manifest loader leaves it nil): part of the volume name, so new
    /// inputs make a new image version.
    public var customizationDigest: String?

    public init(
        name: String, source: String, sha256: String? = nil, format: DiskFormat? = nil, pool: String,
        customize: Customization? = nil, hosts: [String]? = nil, customizationDigest: String? = nil
    ) {
        self.name = name
        self.source = source
        self.sha256 = sha256
        self.format = format
        self.pool = pool
        self.customize = customize
        self.hosts = hosts
        self.customizationDigest = customizationDigest
    }

    public var isRemote: Bool { source.hasPrefix("http://") || source.hasPrefix("https://") }

    /// The pool volume holding the image on each host that needs it. With a checksum the name
    /// carries its first 12 hex digits, so a new image version is a new volume: overlays backed
    /// by the old one keep working until their VMs are reimaged.
    public var volumeName: String {
        let ext = (format ?? .qcow2).fileExtension
        var base = name
        if let sha256 { base += "-\(sha256.prefix(12))" }
        if let customizationDigest { base += "-c\(customizationDigest.prefix(8))" }
        return "\(base).\(ext)"
    }
}

// MARK: Devices

public enum DeviceKind: Hashable, Codable, Sendable {
    case pci(PCIAddress)
    case usb(vendor: UInt16, product: UInt16)

    public var isPCI: Bool { if case .pci = self { return true } else { return false } }
}

extension DeviceKind: CustomStringConvertible {
    /// `pci 0000:3b:00.0`, `usb 287f:00f8`: as plans and `fleet show` print devices.
    public var description: String {
        func hex4(_ v: UInt16) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, 4 - s.count)) + s
        }
        switch self {
        case .pci(let a): return "pci \(a)"
        case .usb(let v, let p): return "usb \(hex4(v)):\(hex4(p))"
        }
    }
}

public struct DeviceSpec: Hashable, Codable, Sendable {
    public var name: String
    public var host: String
    public var kind: DeviceKind
    public init(name: String, host: String, kind: DeviceKind) {
        self.name = name
        self.host = host
        self.kind = kind
    }
}

// MARK: VMs

public enum Firmware: String, Hashable, Codable, Sendable, CaseIterable { case bios, uefi }
/// libvirt's `<tpm model=>` without its `tpm-` prefix.
public enum TPMModel: String, Hashable, Codable, Sendable, CaseIterable {
    case crb, tis
    public var libvirt: String { "tpm-\(rawValue)" }
}
public enum TPMVersion: String, Hashable, Codable, Sendable, CaseIterable {
    case tpm12 = "1.2"
    case tpm20 = "2.0"
}

/// An emulated TPM (libvirt runs swtpm for it; its state lives on the host with the domain).
public struct TPMSpec: Hashable, Codable, Sendable {
    public var model: TPMModel
    public var version: TPMVersion
    public init(model: TPMModel = .crb, version: TPMVersion = .tpm20) {
        self.model = model
        self.version = version
    }
    public var description: String { "\(model.rawValue) \(version.rawValue)" }
}
public enum VirtType: String, Hashable, Codable, Sendable, CaseIterable { case kvm, qemu }
public enum PowerState: String, Hashable, Codable, Sendable, CaseIterable { case running, stopped }
public enum CloneMode: String, Hashable, Codable, Sendable, CaseIterable { case overlay, full }
public enum HostChangePolicy: String, Hashable, Codable, Sendable, CaseIterable { case migrate, recreate }
public enum NICModel: String, Hashable, Codable, Sendable, CaseIterable { case virtio, e1000, e1000e, rtl8139 }
public enum GraphicsType: String, Hashable, Codable, Sendable, CaseIterable { case vnc, spice }
/// How a host directory is shared with the guest: virtiofs (vhost-user-fs, needs shared memory) or 9p (virtio-9p).
public enum ShareMode: String, Hashable, Codable, Sendable, CaseIterable {
    case virtiofs
    case p9 = "9p"
}

/// A host directory the guest mounts by its tag (`<filesystem type='mount'>`).
public struct ShareSpec: Hashable, Codable, Sendable {
    /// The directory on the VM's host (absolute).
    public var source: String
    /// The mount tag the guest mounts (`mount -t virtiofs TAG /mnt`, `mount -t 9p TAG /mnt`).
    public var target: String
    public var mode: ShareMode
    public var readonly: Bool
    public init(source: String, target: String, mode: ShareMode = .virtiofs, readonly: Bool = false) {
        self.source = source
        self.target = target
        self.mode = mode
        self.readonly = readonly
    }
}

/// An Ignition config (Fedora CoreOS, Flatcar), passed through QEMU's fw_cfg as `opt/com.coreos/config`.
public struct IgnitionSpec: Hashable, Codable, Sendable {
    /// The Ignition JSON file on the machine running fleet (resolved by the loader); uploaded beside the disks.
    public var config: String
    public init(config: String) { self.config = config }

    /// The fw_cfg entry Ignition reads on QEMU.
    public static let fwcfgName = "opt/com.coreos/config"
}

public struct DiskSpec: Hashable, Codable, Sendable {
    /// Names the volume (`<vm>-<name>.<ext>`); defaults to `disk0`, `disk1`, … by position.
    public var name: String
    /// The image the disk is made from; nil for a blank disk.
    public var image: String?
    /// Capacity; for image disks, the size it is grown to at creation.
    public var size: ByteSize?
    public var pool: String
    public var format: DiskFormat
    public var bus: DiskBus
    public var clone: CloneMode
    /// The volume's name in the pool when the manifest gives one (`volume:`, e.g. for a disk fleet adopted
    /// from an existing domain); nil: fleet derives it.
    public var volume: String?

    public init(
        name: String, image: String? = nil, size: ByteSize? = nil, pool: String,
        format: DiskFormat = .qcow2, bus: DiskBus = .virtio, clone: CloneMode = .overlay, volume: String? = nil
    ) {
        self.name = name
        self.image = image
        self.size = size
        self.pool = pool
        self.format = format
        self.bus = bus
        self.clone = clone
        self.volume = volume
    }

    /// The pool volume that holds this disk for a VM: `volume:` when given, else `<vm>-<name>.<ext>`.
    public func volumeName(vm: String) -> String { volume ?? "\(vm)-\(name).\(format.fileExtension)" }
}

public struct NICSpec: Hashable, Codable, Sendable {
    public var network: String
    public var model: NICModel
    public var mac: MACAddress
    /// A static DHCP lease on the network.
    public var ip: IPv4Address?
    public init(network: String, model: NICModel = .virtio, mac: MACAddress, ip: IPv4Address? = nil) {
        self.network = network
        self.model = model
        self.mac = mac
        self.ip = ip
    }
}

public struct GraphicsSpec: Hashable, Codable, Sendable {
    public var type: GraphicsType
    public var listen: String
    /// nil: libvirt allocates a port at start (autoport).
    public var port: Int?
    public var password: SecretRef?
    public init(type: GraphicsType = .vnc, listen: String = "127.0.0.1", port: Int? = nil, password: SecretRef? = nil) {
        self.type = type
        self.listen = listen
        self.port = port
        self.password = password
    }
}

public struct CloudInitSpec: Hashable, Codable, Sendable {
    public var userData: String?
    public var metaData: String?
    public var networkConfig: String?
    /// Keys for root, delivered by cloud-init itself (vendor-data), no libguestfs involved.
    public var sshAuthorizedKeys: [String]
    /// Root's password, delivered by cloud-init (vendor-data, as a `$6$` hash).
    public var rootPassword: SecretRef?
    /// The network-config fleet writes (static addresses on bridge networks); nil: none. A `network_config`
    /// file of the user's wins over it.
    public var nics: [GuestNICConfig]?
    public init(
        userData: String? = nil, metaData: String? = nil, networkConfig: String? = nil,
        sshAuthorizedKeys: [String] = [], rootPassword: SecretRef? = nil
    ) {
        self.userData = userData
        self.metaData = metaData
        self.networkConfig = networkConfig
        self.sshAuthorizedKeys = sshAuthorizedKeys
        self.rootPassword = rootPassword
    }
}

public struct VMSpec: Hashable, Codable, Sendable {
    /// The domain name: the manifest key, or `<key>-<n>` when `count:` is given.
    public var name: String
    /// The manifest key this VM came from (equal to `name` without `count:`).
    public var group: String
    /// The profile the VM takes its defaults from, if any.
    public var profile: String?
    /// The host it runs on. For a VM with `placement`, the loader leaves it empty and the planner's placement
    /// (`Placement.place`) fills it in.
    public var host: String
    /// `host: auto` or `hosts: [...]`: fleet chooses the host; nil: pinned to `host`.
    public var placement: VMPlacement?
    public var vcpus: Int
    public var maxVcpus: Int?
    public var memory: ByteSize
    public var maxMemory: ByteSize?
    public var firmware: Firmware?
    /// UEFI secure boot (`firmware: {secure_boot:}`); nil leaves libvirt's firmware choice alone.
    public var secureBoot: Bool?
    /// Whether the UEFI variables start with Microsoft's and the distribution's keys enrolled; nil: libvirt's choice.
    public var enrolledKeys: Bool?
    /// An emulated TPM; nil leaves a live domain's TPM as it is (and creates none).
    public var tpm: TPMSpec?
    public var virtType: VirtType
    /// Machine type, e.g. `q35` or `pc-q35-7.2`; nil leaves libvirt's default alone.
    public var machine: String?
    public var disks: [DiskSpec]
    public var cdrom: String?
    public var networks: [NICSpec]
    public var graphics: GraphicsSpec?
    /// The devices passed through: entries of `devices:`, resolved by the loader (which checks that each
    /// exists and is on the VM's host), so nothing downstream looks a device up by name.
    public var hostdevs: [DeviceSpec]
    public var autostart: Bool?
    public var state: PowerState
    public var snapshots: [String]
    public var customize: Customization?
    public var cloudInit: CloudInitSpec?
    public var onHostChange: HostChangePolicy
    public var description: String?
    /// A `org.qemu.guest_agent.0` virtio-serial channel for qemu-guest-agent; nil leaves a live domain's
    /// channel as it is (and creates none).
    public var guestAgent: Bool?
    /// What apply waits for once it has started the VM; nil: nothing (`none`).
    public var wait: ReadinessWait?
    /// Its group's rollout (docs/planning.md, "Rollouts"); nil: its disruptive changes all run at once.
    public var rollout: RolloutSpec?
    /// Ignition config passed through fw_cfg; its volume sits beside the disks (`ignitionVolume`).
    public var ignition: IgnitionSpec?
    /// Host directories shared with the guest; nil leaves a live domain's `<filesystem>`s alone (and adds none).
    public var shares: [ShareSpec]?

    public init(
        name: String, group: String? = nil, host: String, vcpus: Int = 1, maxVcpus: Int? = nil,
        memory: ByteSize, maxMemory: ByteSize? = nil, firmware: Firmware? = nil, virtType: VirtType = .kvm,
        machine: String? = nil, disks: [DiskSpec] = [], cdrom: String? = nil, networks: [NICSpec] = [],
        graphics: GraphicsSpec? = nil, hostdevs: [DeviceSpec] = [], autostart: Bool? = nil,
        state: PowerState = .running, snapshots: [String] = [], customize: Customization? = nil,
        cloudInit: CloudInitSpec? = nil, onHostChange: HostChangePolicy = .migrate, description: String? = nil,
        guestAgent: Bool? = nil
    ) {
        self.name = name
        self.group = group ?? name
        self.host = host
        self.vcpus = vcpus
        self.maxVcpus = maxVcpus
        self.memory = memory
        self.maxMemory = maxMemory
        self.firmware = firmware
        self.virtType = virtType
        self.machine = machine
        self.disks = disks
        self.cdrom = cdrom
        self.networks = networks
        self.graphics = graphics
        self.hostdevs = hostdevs
        self.autostart = autostart
        self.state = state
        self.snapshots = snapshots
        self.customize = customize
        self.cloudInit = cloudInit
        self.onHostChange = onHostChange
        self.description = description
        self.guestAgent = guestAgent
    }

    /// The NoCloud seed volume (pool, name) of a VM with `cloud_init:`: in the pool of its first disk.
    public var seedVolume: (pool: String, name: String)? {
        guard cloudInit != nil, let pool = disks.first?.pool else { return nil }
        return (pool, "\(name)-cidata.img")
    }

    /// The volume holding a VM's Ignition config (pool, name): in the pool of its first disk, like the seed.
    public var ignitionVolume: (pool: String, name: String)? {
        guard ignition != nil, let pool = disks.first?.pool else { return nil }
        return (pool, ignitionVolumeName)
    }
    public var ignitionVolumeName: String { "\(name)-ignition.ign" }

    /// Whether a domain's fw_cfg file is this VM's Ignition volume: the only entry fleet removes.
    public func isOwnIgnitionFile(_ path: String) -> Bool {
        path.split(separator: "/").last.map(String.init) == ignitionVolumeName
    }

    /// virtiofs needs the guest's memory shared with virtiofsd (`<memoryBacking>` memfd, shared).
    public var needsSharedMemory: Bool { (shares ?? []).contains { $0.mode == .virtiofs } }

    /// vCPUs the domain is defined with: the declared maximum, or the current count.
    public var effectiveMaxVcpus: Int { maxVcpus ?? vcpus }
    public var effectiveMaxMemory: ByteSize { maxMemory ?? memory }
}

/// Names libvirt accepts for every object fleet creates, kept to a portable subset:
/// letters, digits, `-`, `_`, `.`; starting with a letter or digit; at most 63 characters
/// (bridge and interface names are limited further by the kernel, checked separately).
public enum ObjectName {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 63 else { return false }
        func ok(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_" || c == "."
        }
        guard ok(first), first != "-", first != ".", first != "_" else { return false }
        return name.unicodeScalars.allSatisfy(ok)
    }

    /// Names of existing pool volumes a disk's `volume:` may give (`debian12.qcow2`, `dir+vol1`, `unit:0:0:1`):
    /// a file name, not a path; printable; at most 255 bytes.
    public static func isValidVolume(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name != "." && name != ".." && !name.contains("/")
            && name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f }
    }

    /// Linux interface names: at most 15 bytes, no `/`, no whitespace.
    public static func isValidInterface(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 15 && isValid(name)
    }
}
