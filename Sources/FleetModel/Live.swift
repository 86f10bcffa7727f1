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
        self.fleet = fleet; self.kind = kind; self.name = name; self.attributes = attributes
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
    public init(hostname: String, cpuModel: String, cpus: Int, mhz: Int, sockets: Int, cores: Int, threads: Int,
                memory: ByteSize, libvirtVersion: String, hypervisor: String, hypervisorVersion: String) {
        self.hostname = hostname; self.cpuModel = cpuModel; self.cpus = cpus; self.mhz = mhz
        self.sockets = sockets; self.cores = cores; self.threads = threads; self.memory = memory
        self.libvirtVersion = libvirtVersion; self.hypervisor = hypervisor; self.hypervisorVersion = hypervisorVersion
    }
}

public enum DomainRunState: String, Hashable, Codable, Sendable {
    case running, blocked, paused, shutdown, shutoff, crashed, pmsuspended, unknown
    /// States in which the guest occupies resources and a live update applies.
    public var isActive: Bool { self != .shutoff && self != .crashed && self != .unknown }
}

public enum DiskDevice: String, Hashable, Codable, Sendable { case disk, cdrom }

/// A disk as the domain XML shows it.
public struct LiveDisk: Hashable, Codable, Sendable {
    public var device: DiskDevice
    /// Guest device name, `vda`.
    public var target: String
    public var bus: DiskBus?
    /// `<driver type=>`: qcow2, raw.
    public var format: DiskFormat?
    /// `<source pool= volume=>` when the disk refers to a pool volume.
    public var pool: String?
    public var volume: String?
    /// `<source file=|dev=>` otherwise (or as resolved by libvirt for a running domain).
    public var path: String?
    public var readonly: Bool
    public init(device: DiskDevice = .disk, target: String, bus: DiskBus? = nil, format: DiskFormat? = nil,
                pool: String? = nil, volume: String? = nil, path: String? = nil, readonly: Bool = false) {
        self.device = device; self.target = target; self.bus = bus; self.format = format
        self.pool = pool; self.volume = volume; self.path = path; self.readonly = readonly
    }
}

public enum InterfaceSource: Hashable, Codable, Sendable {
    case network(String)
    case bridge(String)
    case other(String)
}

extension InterfaceSource: CustomStringConvertible {
    public var description: String {
        switch self {
        case .network(let n): return n
        case .bridge(let b): return "bridge \(b)"
        case .other(let o): return o
        }
    }
}

public struct LiveNIC: Hashable, Codable, Sendable {
    public var source: InterfaceSource
    public var model: String?
    public var mac: MACAddress?
    /// Guest addresses the hypervisor knows of (DHCP leases), for display only.
    public var addresses: [String]
    public init(source: InterfaceSource, model: String? = nil, mac: MACAddress? = nil, addresses: [String] = []) {
        self.source = source; self.model = model; self.mac = mac; self.addresses = addresses
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
    public init(type: String, listen: String? = nil, port: Int? = nil, activePort: Int? = nil, hasPassword: Bool = false) {
        self.type = type; self.listen = listen; self.port = port; self.activePort = activePort; self.hasPassword = hasPassword
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
    public var hostdevs: [DeviceKind]
    public var description: String?
    public var owner: OwnerMark?
    /// Whether the domain has the `org.qemu.guest_agent.0` virtio channel.
    public var guestAgent: Bool

    public init(vcpus: Int, maxVcpus: Int, memory: ByteSize, maxMemory: ByteSize, firmware: Firmware? = nil,
                virtType: String = "kvm", machine: String? = nil, disks: [LiveDisk] = [], nics: [LiveNIC] = [],
                graphics: [LiveGraphics] = [], hostdevs: [DeviceKind] = [], description: String? = nil, owner: OwnerMark? = nil,
                guestAgent: Bool = false) {
        self.vcpus = vcpus; self.maxVcpus = maxVcpus; self.memory = memory; self.maxMemory = maxMemory
        self.firmware = firmware; self.virtType = virtType; self.machine = machine; self.disks = disks
        self.nics = nics; self.graphics = graphics; self.hostdevs = hostdevs; self.description = description; self.owner = owner
        self.guestAgent = guestAgent
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

    public init(name: String, uuid: String, id: Int? = nil, state: DomainRunState, persistent: Bool = true,
                autostart: Bool = false, config: DomainConfig, live: DomainConfig? = nil, snapshots: [LiveSnapshot] = [],
                hasManagedSave: Bool = false) {
        self.name = name; self.uuid = uuid; self.id = id; self.state = state; self.persistent = persistent
        self.autostart = autostart; self.config = config; self.live = live; self.snapshots = snapshots
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
    public init(name: String, fleet: String? = nil) { self.name = name; self.fleet = fleet }

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
    /// The network read back as a spec (hosts left nil).
    public var spec: NetworkSpec
    public var owner: OwnerMark?
    /// Dynamic leases dnsmasq handed out, for display.
    public var activeLeases: [String]
    public init(name: String, uuid: String, active: Bool, persistent: Bool = true, autostart: Bool, spec: NetworkSpec,
                owner: OwnerMark? = nil, activeLeases: [String] = []) {
        self.name = name; self.uuid = uuid; self.active = active; self.persistent = persistent
        self.autostart = autostart; self.spec = spec; self.owner = owner; self.activeLeases = activeLeases
    }
}

public struct LivePool: Hashable, Codable, Sendable {
    public var name: String
    public var uuid: String
    public var active: Bool
    public var autostart: Bool
    public var spec: PoolSpec
    public var capacity: ByteSize
    public var allocation: ByteSize
    public var available: ByteSize
    public var owner: OwnerMark?
    public init(name: String, uuid: String, active: Bool, autostart: Bool, spec: PoolSpec,
                capacity: ByteSize = .init(bytes: 0), allocation: ByteSize = .init(bytes: 0), available: ByteSize = .init(bytes: 0),
                owner: OwnerMark? = nil) {
        self.name = name; self.uuid = uuid; self.active = active; self.autostart = autostart; self.spec = spec
        self.capacity = capacity; self.allocation = allocation; self.available = available; self.owner = owner
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
    public init(pool: String, name: String, path: String, format: String? = nil, capacity: ByteSize, allocation: ByteSize,
                backingPath: String? = nil, backingFormat: String? = nil, owner: OwnerMark? = nil) {
        self.pool = pool; self.name = name; self.path = path; self.format = format; self.capacity = capacity
        self.allocation = allocation; self.backingPath = backingPath; self.backingFormat = backingFormat; self.owner = owner
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
    public var error: String?

    public init(name: String, uri: String, info: HostInfo? = nil, domains: [LiveDomain] = [], networks: [LiveNetwork] = [],
                pools: [LivePool] = [], volumes: [LiveVolume] = [], nodeDevices: [DeviceKind]? = nil, error: String? = nil) {
        self.name = name; self.uri = uri; self.info = info; self.domains = domains; self.networks = networks
        self.pools = pools; self.volumes = volumes; self.nodeDevices = nodeDevices; self.error = error
    }
}

public struct LiveState: Hashable, Codable, Sendable {
    public var hosts: [LiveHost]
    public init(hosts: [LiveHost]) { self.hosts = hosts }
    public func host(_ name: String) -> LiveHost? { hosts.first { $0.name == name } }
}
