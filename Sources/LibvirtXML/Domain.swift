/// The parts of libvirt's domain XML (formatdomain.html) that fleet manages or shows.
/// Parsing ignores everything else; rendering writes only these parts, in libvirt's element order.
public struct DomainXML: Hashable, Sendable {
    public var type: String
    /// The hypervisor id of a running domain (live XML only).
    public var id: Int?
    public var name: String
    public var uuid: String?
    public var title: String?
    public var description: String?
    /// The children of `<metadata>`, each an element in its own namespace.
    public var metadata: [XElement]
    /// `<maxMemory slots=>`: the hotplug ceiling, in bytes.
    public var maxMemory: UInt64?
    public var maxMemorySlots: Int?
    /// `<memory>`: the boot-time maximum, in bytes.
    public var memory: UInt64
    /// `<currentMemory>`: the balloon target, in bytes; nil means equal to `memory`.
    public var currentMemory: UInt64?
    /// `<memoryBacking>`: `<source type=>` and `<access mode=>` (virtiofs needs memfd, shared).
    public var memoryBacking: MemoryBacking?
    public var vcpu: VCPU
    /// `<sysinfo type='fwcfg'>` entries: QEMU fw_cfg blobs by name, from a host file (`file=`) or inline text.
    public var fwcfg: [FwCfgEntry] = []
    public var os: OS
    /// Names of the elements under `<features>` (`acpi`, `apic`, …), except `smm`.
    public var features: [String]
    /// `<features><smm state=>`: on, off, or nil when absent.
    public var smm: Bool?
    public var cpu: CPU?
    public var clockOffset: String?
    public var onPoweroff: String?
    public var onReboot: String?
    public var onCrash: String?
    public var devices: Devices

    public init(
        type: String, id: Int? = nil, name: String, uuid: String? = nil, title: String? = nil, description: String? = nil,
        metadata: [XElement] = [], maxMemory: UInt64? = nil, maxMemorySlots: Int? = nil, memory: UInt64,
        currentMemory: UInt64? = nil, vcpu: VCPU, os: OS = OS(), features: [String] = [], smm: Bool? = nil, cpu: CPU? = nil,
        clockOffset: String? = nil, onPoweroff: String? = nil, onReboot: String? = nil, onCrash: String? = nil,
        devices: Devices = Devices()
    ) {
        self.type = type
        self.id = id
        self.name = name
        self.uuid = uuid
        self.title = title
        self.description = description
        self.metadata = metadata
        self.maxMemory = maxMemory
        self.maxMemorySlots = maxMemorySlots
        self.memory = memory
        self.currentMemory = currentMemory
        self.vcpu = vcpu
        self.os = os
        self.features = features
        self.smm = smm
        self.cpu = cpu
        self.clockOffset = clockOffset
        self.onPoweroff = onPoweroff
        self.onReboot = onReboot
        self.onCrash = onCrash
        self.devices = devices
    }

    public struct MemoryBacking: Hashable, Sendable {
        public var sourceType: String?
        public var accessMode: String?
        public init(sourceType: String? = nil, accessMode: String? = nil) {
            self.sourceType = sourceType
            self.accessMode = accessMode
        }
    }

    public struct FwCfgEntry: Hashable, Sendable {
        public var name: String
        public var file: String?
        public var value: String?
        public init(name: String, file: String? = nil, value: String? = nil) {
            self.name = name
            self.file = file
            self.value = value
        }
    }

    /// A `<filesystem>`: a host directory (`type='mount'`) or other source shared with the guest.
    public struct Filesystem: Hashable, Sendable {
        /// mount | template | file | block | ram | bind | volume
        public var type: String
        /// passthrough | mapped | squash
        public var accessMode: String?
        /// `<driver type=>`: virtiofs | path | handle | loop | nbd
        public var driverType: String?
        public var sourceDir: String?
        public var targetDir: String?
        public var readonly: Bool
        public init(
            type: String = "mount", accessMode: String? = nil, driverType: String? = nil, sourceDir: String? = nil,
            targetDir: String? = nil, readonly: Bool = false
        ) {
            self.type = type
            self.accessMode = accessMode
            self.driverType = driverType
            self.sourceDir = sourceDir
            self.targetDir = targetDir
            self.readonly = readonly
        }
    }

    public struct VCPU: Hashable, Sendable {
        public var placement: String?
        /// vCPUs online at boot; nil means all of `count`.
        public var current: Int?
        /// The maximum (the element's text).
        public var count: Int
        public init(placement: String? = nil, current: Int? = nil, count: Int) {
            self.placement = placement
            self.current = current
            self.count = count
        }
    }

    public struct Loader: Hashable, Sendable {
        public var path: String?
        public var readonly: Bool?
        public var type: String?
        public var secure: Bool?
        public init(path: String? = nil, readonly: Bool? = nil, type: String? = nil, secure: Bool? = nil) {
            self.path = path
            self.readonly = readonly
            self.type = type
            self.secure = secure
        }
    }

    public struct OS: Hashable, Sendable {
        public var type: String
        public var arch: String?
        public var machine: String?
        /// `<os firmware=>`: `efi` or `bios` (firmware auto-selection).
        public var firmware: String?
        /// `<firmware><feature enabled= name=>`: what auto-selection must find (`secure-boot`, `enrolled-keys`).
        public var firmwareFeatures: [FirmwareFeature]
        public var loader: Loader?
        public var nvram: String?
        /// `<boot dev=>` entries in order.
        public var boot: [String]
        public init(
            type: String = "hvm", arch: String? = nil, machine: String? = nil, firmware: String? = nil,
            firmwareFeatures: [FirmwareFeature] = [], loader: Loader? = nil, nvram: String? = nil, boot: [String] = []
        ) {
            self.type = type
            self.arch = arch
            self.machine = machine
            self.firmware = firmware
            self.firmwareFeatures = firmwareFeatures
            self.loader = loader
            self.nvram = nvram
            self.boot = boot
        }
    }

    public struct FirmwareFeature: Hashable, Sendable {
        public var name: String
        public var enabled: Bool
        public init(name: String, enabled: Bool) {
            self.name = name
            self.enabled = enabled
        }
    }

    /// A `<tpm model=>` with its `<backend type= version=>`.
    public struct TPM: Hashable, Sendable {
        public var model: String?
        public var backendType: String?
        public var backendVersion: String?
        public init(model: String? = nil, backendType: String? = nil, backendVersion: String? = nil) {
            self.model = model
            self.backendType = backendType
            self.backendVersion = backendVersion
        }
    }

    public struct CPU: Hashable, Sendable {
        public var mode: String?
        public var match: String?
        public var check: String?
        public var model: String?
        public init(mode: String? = nil, match: String? = nil, check: String? = nil, model: String? = nil) {
            self.mode = mode
            self.match = match
            self.check = check
            self.model = model
        }
    }

    /// A `<host>` of a network disk: `name`/`port` (TCP, RDMA), or a `socket` (transport unix).
    public struct DiskHost: Hashable, Sendable {
        public var name: String?
        public var port: String?
        public var transport: String?
        public var socket: String?
        public init(name: String? = nil, port: String? = nil, transport: String? = nil, socket: String? = nil) {
            self.name = name
            self.port = port
            self.transport = transport
            self.socket = socket
        }
    }

    public struct Disk: Hashable, Sendable {
        /// file | volume | block | network | nvme | vhostuser | dir
        public var type: String
        /// disk | cdrom | floppy | lun
        public var device: String
        public var driverName: String?
        public var driverType: String?
        public var sourceFile: String?
        public var sourceDev: String?
        /// `<source dir=>` (type dir).
        public var sourceDir: String?
        public var sourcePool: String?
        public var sourceVolume: String?
        /// `<source protocol= name=>` and its `<host>`s (type network: nbd, rbd, iscsi, gluster, http, …).
        public var sourceProtocol: String?
        public var sourceName: String?
        public var sourceHosts: [DiskHost]
        /// `<source type=>`: `pci` (nvme), `unix` (vhostuser).
        public var sourceType: String?
        /// `<source path=>`: the vhost-user socket.
        public var sourcePath: String?
        /// nvme: `<source namespace=>` and the controller's PCI `<address>` (`0000:01:00.0`).
        public var sourceNamespace: String?
        public var sourceAddress: String?
        public var targetDev: String
        public var targetBus: String?
        public var readonly: Bool
        public var bootOrder: Int?
        public var serial: String?
        public init(
            type: String, device: String = "disk", driverName: String? = nil, driverType: String? = nil,
            sourceFile: String? = nil, sourceDev: String? = nil, sourceDir: String? = nil, sourcePool: String? = nil,
            sourceVolume: String? = nil, sourceProtocol: String? = nil, sourceName: String? = nil,
            sourceHosts: [DiskHost] = [], sourceType: String? = nil, sourcePath: String? = nil,
            sourceNamespace: String? = nil, sourceAddress: String? = nil,
            targetDev: String, targetBus: String? = nil, readonly: Bool = false, bootOrder: Int? = nil, serial: String? = nil
        ) {
            self.type = type
            self.device = device
            self.driverName = driverName
            self.driverType = driverType
            self.sourceFile = sourceFile
            self.sourceDev = sourceDev
            self.sourceDir = sourceDir
            self.sourcePool = sourcePool
            self.sourceVolume = sourceVolume
            self.sourceProtocol = sourceProtocol
            self.sourceName = sourceName
            self.sourceHosts = sourceHosts
            self.sourceType = sourceType
            self.sourcePath = sourcePath
            self.sourceNamespace = sourceNamespace
            self.sourceAddress = sourceAddress
            self.targetDev = targetDev
            self.targetBus = targetBus
            self.readonly = readonly
            self.bootOrder = bootOrder
            self.serial = serial
        }
    }

    public struct Interface: Hashable, Sendable {
        /// network | bridge | direct | hostdev | vhostuser | vdpa | user | ethernet | mcast | udp | server | client | …
        public var type: String
        public var mac: String?
        public var sourceNetwork: String?
        public var sourceBridge: String?
        /// `<source dev=>`: the host interface of a direct (macvtap) NIC, the vhost-vdpa device of a vdpa NIC.
        public var sourceDev: String?
        /// `<source mode=>`: vepa | bridge | private | passthrough (direct); server | client (vhostuser).
        public var sourceMode: String?
        /// `<source type=>`: `unix` (vhostuser).
        public var sourceType: String?
        /// `<source path=>`: the vhost-user socket.
        public var sourcePath: String?
        /// `<source address=>` (mcast, udp, server, client), or the PCI/USB `<address>` of a hostdev NIC as text.
        public var sourceAddress: String?
        public var sourcePort: String?
        public var model: String?
        public var targetDev: String?
        public init(
            type: String, mac: String? = nil, sourceNetwork: String? = nil, sourceBridge: String? = nil,
            sourceDev: String? = nil, sourceMode: String? = nil, sourceType: String? = nil, sourcePath: String? = nil,
            sourceAddress: String? = nil, sourcePort: String? = nil,
            model: String? = nil, targetDev: String? = nil
        ) {
            self.type = type
            self.mac = mac
            self.sourceNetwork = sourceNetwork
            self.sourceBridge = sourceBridge
            self.sourceDev = sourceDev
            self.sourceMode = sourceMode
            self.sourceType = sourceType
            self.sourcePath = sourcePath
            self.sourceAddress = sourceAddress
            self.sourcePort = sourcePort
            self.model = model
            self.targetDev = targetDev
        }
    }

    public struct Listen: Hashable, Sendable {
        /// address | network | socket | none
        public var type: String
        public var address: String?
        public var network: String?
        public init(type: String, address: String? = nil, network: String? = nil) {
            self.type = type
            self.address = address
            self.network = network
        }
    }

    public struct Graphics: Hashable, Sendable {
        public var type: String
        /// The port; -1 or nil when allocated at start.
        public var port: Int?
        public var autoport: Bool?
        public var listen: String?
        public var listens: [Listen]
        public var passwd: String?
        public init(
            type: String, port: Int? = nil, autoport: Bool? = nil, listen: String? = nil, listens: [Listen] = [],
            passwd: String? = nil
        ) {
            self.type = type
            self.port = port
            self.autoport = autoport
            self.listen = listen
            self.listens = listens
            self.passwd = passwd
        }
    }

    public enum HostdevSource: Hashable, Sendable {
        case pci(domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8)
        case usb(vendor: UInt16, product: UInt16)
        /// A USB device by its host bus and device number (`<address bus= device=>`).
        case usbAddress(bus: Int, device: Int)
        /// A SCSI device behind a host adapter (`<adapter name='scsi_host0'/><address bus= target= unit=>`).
        case scsi(adapter: String, bus: Int, target: Int, unit: Int)
        /// A SCSI LUN reached over iSCSI (`<source protocol='iscsi' name='IQN/LUN'>` and its hosts, `name:port`).
        case iscsi(name: String, hosts: [String])
        /// A vhost-scsi target (`type='scsi_host'`, `<source protocol='vhost' wwpn=>`).
        case scsiHost(protocol: String, wwpn: String)
        /// A mediated device (`type='mdev' model=`, `<address uuid=>`).
        case mdev(uuid: String, model: String?)
        /// `mode='capabilities'` (LXC): storage `<block>`, misc `<char>` or net `<interface>`, with its text.
        case capabilities(type: String, path: String)
        /// A hostdev whose source is missing or malformed: its `type`.
        case other(String)
    }

    public struct Hostdev: Hashable, Sendable {
        public var mode: String
        public var managed: Bool?
        public var source: HostdevSource
        public init(mode: String = "subsystem", managed: Bool? = nil, source: HostdevSource) {
            self.mode = mode
            self.managed = managed
            self.source = source
        }
    }

    /// A `<serial>` or `<console>`.
    public struct CharDevice: Hashable, Sendable {
        public var type: String
        public var targetType: String?
        public var targetPort: Int?
        public init(type: String = "pty", targetType: String? = nil, targetPort: Int? = nil) {
            self.type = type
            self.targetType = targetType
            self.targetPort = targetPort
        }
    }

    /// A `<channel>`: host-guest communication, e.g. the qemu-guest-agent's virtio-serial port.
    public struct Channel: Hashable, Sendable {
        public var type: String
        /// `<target type=>`: `virtio`, `guestfwd`, …
        public var targetType: String?
        /// `<target name=>`: the port name the guest sees, e.g. `org.qemu.guest_agent.0`.
        public var targetName: String?
        /// `<source mode= path=>`; nil for a unix channel whose path libvirt picks.
        public var sourceMode: String?
        public var sourcePath: String?
        public init(
            type: String = "unix", targetType: String? = nil, targetName: String? = nil,
            sourceMode: String? = nil, sourcePath: String? = nil
        ) {
            self.type = type
            self.targetType = targetType
            self.targetName = targetName
            self.sourceMode = sourceMode
            self.sourcePath = sourcePath
        }
    }

    public struct Controller: Hashable, Sendable {
        public var type: String
        public var index: Int?
        public var model: String?
        public init(type: String, index: Int? = nil, model: String? = nil) {
            self.type = type
            self.index = index
            self.model = model
        }
    }

    public struct Video: Hashable, Sendable {
        public var model: String
        public var vram: Int?
        public var heads: Int?
        public init(model: String, vram: Int? = nil, heads: Int? = nil) {
            self.model = model
            self.vram = vram
            self.heads = heads
        }
    }

    public struct Input: Hashable, Sendable {
        public var type: String
        public var bus: String?
        public init(type: String, bus: String? = nil) {
            self.type = type
            self.bus = bus
        }
    }

    public struct Devices: Hashable, Sendable {
        public var emulator: String?
        public var disks: [Disk]
        public var controllers: [Controller]
        public var interfaces: [Interface]
        public var serials: [CharDevice]
        public var consoles: [CharDevice]
        public var inputs: [Input]
        public var graphics: [Graphics]
        public var videos: [Video]
        public var hostdevs: [Hostdev]
        public var filesystems: [Filesystem] = []
        /// `<memballoon model=>`.
        public var memballoon: String?
        public var channels: [Channel] = []
        public var tpms: [TPM] = []
        public init(
            emulator: String? = nil, disks: [Disk] = [], controllers: [Controller] = [], interfaces: [Interface] = [],
            serials: [CharDevice] = [], consoles: [CharDevice] = [], inputs: [Input] = [], graphics: [Graphics] = [],
            videos: [Video] = [], hostdevs: [Hostdev] = [], memballoon: String? = nil
        ) {
            self.emulator = emulator
            self.disks = disks
            self.controllers = controllers
            self.interfaces = interfaces
            self.serials = serials
            self.consoles = consoles
            self.inputs = inputs
            self.graphics = graphics
            self.videos = videos
            self.hostdevs = hostdevs
            self.memballoon = memballoon
        }
    }
}

// MARK: Parse

extension DomainXML {
    public init(xml: String) throws {
        try self.init(element: XElement.parse(xml))
    }

    public init(element r: XElement) throws {
        try r.expectRoot("domain")
        type = try r.require("type", r["type"])
        id = XMLNumber.parse(r["id"])
        name = try r.require("<name>", r.childText("name"))
        uuid = r.childText("uuid")
        title = r.child("title")?.text
        description = r.child("description")?.text
        metadata = r.child("metadata")?.children ?? []
        if let m = r.child("maxMemory") {
            maxMemory = try XMLSize.bytes(m, defaultUnit: "KiB")
            maxMemorySlots = XMLNumber.parse(m["slots"])
        }
        guard let mem = r.child("memory") else { throw XMLError("<domain> lacks <memory>") }
        memory = try XMLSize.bytes(mem, defaultUnit: "KiB")
        currentMemory = try r.child("currentMemory").map { try XMLSize.bytes($0, defaultUnit: "KiB") }
        if let mb = r.child("memoryBacking") {
            memoryBacking = MemoryBacking(sourceType: mb.child("source")?["type"], accessMode: mb.child("access")?["mode"])
        }
        for si in r.all("sysinfo") where si["type"] == "fwcfg" {
            fwcfg += si.all("entry").compactMap { e in
                e["name"].map { FwCfgEntry(name: $0, file: e["file"], value: e.text.isEmpty ? nil : e.text) }
            }
        }
        if let v = r.child("vcpu") {
            guard let n: Int = XMLNumber.parse(v.text) else { throw XMLError("<vcpu>: not a number: '\(v.text)'") }
            vcpu = VCPU(placement: v["placement"], current: XMLNumber.parse(v["current"]), count: n)
        } else {
            vcpu = VCPU(count: 1)
        }
        if let o = r.child("os") {
            let t = o.child("type")
            os = OS(
                type: t?.text.trimmedXMLSpace() ?? "hvm", arch: t?["arch"], machine: t?["machine"], firmware: o["firmware"],
                firmwareFeatures: o.child("firmware")?.all("feature").compactMap { f in
                    f["name"].map { FirmwareFeature(name: $0, enabled: XMLNumber.bool(f["enabled"]) ?? false) }
                } ?? [],
                loader: o.child("loader").map {
                    Loader(
                        path: $0.text.trimmedXMLSpace().isEmpty ? nil : $0.text.trimmedXMLSpace(),
                        readonly: XMLNumber.bool($0["readonly"]), type: $0["type"], secure: XMLNumber.bool($0["secure"]))
                },
                nvram: o.child("nvram").flatMap { $0.text.trimmedXMLSpace().isEmpty ? nil : $0.text.trimmedXMLSpace() },
                boot: o.all("boot").compactMap { $0["dev"] })
        } else {
            os = OS()
        }
        features = r.child("features")?.children.map(\.name).filter { $0 != "smm" } ?? []
        smm = r.child("features")?.child("smm").map { XMLNumber.bool($0["state"]) ?? true }
        cpu = r.child("cpu").map { CPU(mode: $0["mode"], match: $0["match"], check: $0["check"], model: $0.childText("model")) }
        clockOffset = r.child("clock")?["offset"]
        onPoweroff = r.childText("on_poweroff")
        onReboot = r.childText("on_reboot")
        onCrash = r.childText("on_crash")
        devices = Devices()
        guard let d = r.child("devices") else { return }
        devices.emulator = d.childText("emulator")
        for c in d.children {
            switch c.name {
            case "disk": devices.disks.append(try DomainXML.disk(c))
            case "interface": devices.interfaces.append(DomainXML.interface(c))
            case "graphics": devices.graphics.append(try DomainXML.graphics(c))
            case "hostdev": devices.hostdevs.append(try DomainXML.hostdev(c))
            case "serial": devices.serials.append(DomainXML.char(c))
            case "console": devices.consoles.append(DomainXML.char(c))
            case "channel":
                devices.channels.append(
                    Channel(
                        type: c["type"] ?? "pty", targetType: c.child("target")?["type"],
                        targetName: c.child("target")?["name"], sourceMode: c.child("source")?["mode"],
                        sourcePath: c.child("source")?["path"]))
            case "controller":
                guard let t = c["type"] else { throw XMLError("<controller> lacks type") }
                devices.controllers.append(Controller(type: t, index: XMLNumber.parse(c["index"]), model: c["model"]))
            case "video":
                if let m = c.child("model"), let t = m["type"] {
                    devices.videos.append(Video(model: t, vram: XMLNumber.parse(m["vram"]), heads: XMLNumber.parse(m["heads"])))
                }
            case "input":
                if let t = c["type"] { devices.inputs.append(Input(type: t, bus: c["bus"])) }
            case "memballoon": devices.memballoon = c["model"]
            case "tpm":
                let b = c.child("backend")
                devices.tpms.append(TPM(model: c["model"], backendType: b?["type"], backendVersion: b?["version"]))
            case "filesystem":
                devices.filesystems.append(
                    Filesystem(
                        type: c["type"] ?? "mount", accessMode: c["accessmode"], driverType: c.child("driver")?["type"],
                        sourceDir: c.child("source")?["dir"], targetDir: c.child("target")?["dir"], readonly: c.child("readonly") != nil))
            default: break
            }
        }
    }

    static func disk(_ c: XElement) throws -> Disk {
        let src = c.child("source")
        guard let target = c.child("target")?["dev"] else { throw XMLError("<disk> lacks <target dev=>") }
        let hosts =
            src?.all("host").map { DiskHost(name: $0["name"], port: $0["port"], transport: $0["transport"], socket: $0["socket"]) } ?? []
        return Disk(
            type: c["type"] ?? "file", device: c["device"] ?? "disk",
            driverName: c.child("driver")?["name"], driverType: c.child("driver")?["type"],
            sourceFile: src?["file"], sourceDev: src?["dev"], sourceDir: src?["dir"], sourcePool: src?["pool"],
            sourceVolume: src?["volume"], sourceProtocol: src?["protocol"], sourceName: src?["name"], sourceHosts: hosts,
            sourceType: src?["type"], sourcePath: src?["path"], sourceNamespace: src?["namespace"],
            sourceAddress: src?.child("address").flatMap(DomainXML.pciText),
            targetDev: target, targetBus: c.child("target")?["bus"], readonly: c.child("readonly") != nil,
            bootOrder: XMLNumber.parse(c.child("boot")?["order"]), serial: c.childText("serial"))
    }

    /// `<address domain= bus= slot= function=>` as `0000:01:00.0`; nil when it is not a PCI address.
    static func pciText(_ a: XElement) -> String? {
        guard let dom: UInt16 = XMLNumber.parse(a["domain"] ?? "0"), let bus: UInt8 = XMLNumber.parse(a["bus"]),
            let slot: UInt8 = XMLNumber.parse(a["slot"]), let fn: UInt8 = XMLNumber.parse(a["function"] ?? "0")
        else { return nil }
        func h<T: FixedWidthInteger>(_ v: T, _ w: Int) -> String { String(XMLNumber.hex(v, width: w).dropFirst(2)) }
        return "\(h(dom, 4)):\(h(bus, 2)):\(h(slot, 2)).\(h(fn, 1))"
    }

    static func interface(_ c: XElement) -> Interface {
        let src = c.child("source")
        var address = src?["address"]
        if address == nil, let a = src?.child("address") {
            // A hostdev NIC: its PCI function (or a USB device, bus/device).
            address = DomainXML.pciText(a) ?? a["bus"].map { b in "usb \(b):\(a["device"] ?? "?")" }
        }
        return Interface(
            type: c["type"] ?? "network", mac: c.child("mac")?["address"],
            sourceNetwork: src?["network"], sourceBridge: src?["bridge"], sourceDev: src?["dev"],
            sourceMode: src?["mode"], sourceType: src?["type"], sourcePath: src?["path"],
            sourceAddress: address, sourcePort: src?["port"],
            model: c.child("model")?["type"], targetDev: c.child("target")?["dev"])
    }

    static func graphics(_ c: XElement) throws -> Graphics {
        guard let t = c["type"] else { throw XMLError("<graphics> lacks type") }
        return Graphics(
            type: t, port: XMLNumber.parse(c["port"]), autoport: XMLNumber.bool(c["autoport"]), listen: c["listen"],
            listens: c.all("listen").map { Listen(type: $0["type"] ?? "address", address: $0["address"], network: $0["network"]) },
            passwd: c["passwd"])
    }

    static func hostdev(_ c: XElement) throws -> Hostdev {
        let type = c["type"] ?? ""
        let mode = c["mode"] ?? "subsystem"
        let src = c.child("source")
        var source = HostdevSource.other(type)
        if mode == "capabilities" {
            let el = src?.children.first
            source = .capabilities(type: type, path: el?.text.trimmedXMLSpace() ?? "")
        } else if type == "pci", let a = src?.child("address") {
            guard let dom: UInt16 = XMLNumber.parse(a["domain"] ?? "0"), let bus: UInt8 = XMLNumber.parse(a["bus"]),
                let slot: UInt8 = XMLNumber.parse(a["slot"]), let fn: UInt8 = XMLNumber.parse(a["function"])
            else {
                throw XMLError("<hostdev type='pci'>: bad source address")
            }
            source = .pci(domain: dom, bus: bus, slot: slot, function: fn)
        } else if type == "usb", let v = src?.child("vendor")?["id"], let p = src?.child("product")?["id"] {
            guard let vv: UInt16 = XMLNumber.parse(v), let pp: UInt16 = XMLNumber.parse(p) else {
                throw XMLError("<hostdev type='usb'>: bad vendor/product id")
            }
            source = .usb(vendor: vv, product: pp)
        } else if type == "usb", let a = src?.child("address") {
            guard let b: Int = XMLNumber.parse(a["bus"]), let d: Int = XMLNumber.parse(a["device"]) else {
                throw XMLError("<hostdev type='usb'>: bad bus/device address")
            }
            source = .usbAddress(bus: b, device: d)
        } else if type == "scsi", let s = src {
            if s["protocol"] == "iscsi" {
                source = .iscsi(
                    name: s["name"] ?? "",
                    hosts: s.all("host").map { h in (h["name"] ?? "") + (h["port"].map { ":" + $0 } ?? "") })
            } else if let adapter = s.child("adapter")?["name"], let a = s.child("address") {
                guard let b: Int = XMLNumber.parse(a["bus"]), let t: Int = XMLNumber.parse(a["target"]),
                    let u: Int = XMLNumber.parse(a["unit"])
                else {
                    throw XMLError("<hostdev type='scsi'>: bad bus/target/unit address")
                }
                source = .scsi(adapter: adapter, bus: b, target: t, unit: u)
            }
        } else if type == "scsi_host", let s = src, let w = s["wwpn"] {
            source = .scsiHost(protocol: s["protocol"] ?? "vhost", wwpn: w)
        } else if type == "mdev", let u = src?.child("address")?["uuid"] {
            source = .mdev(uuid: u, model: c["model"])
        }
        return Hostdev(mode: mode, managed: XMLNumber.bool(c["managed"]), source: source)
    }

    static func char(_ c: XElement) -> CharDevice {
        CharDevice(
            type: c["type"] ?? "pty", targetType: c.child("target")?["type"], targetPort: XMLNumber.parse(c.child("target")?["port"]))
    }
}

// MARK: Render

extension DomainXML {
    public func xml() -> String { element().render() }

    static func kib(_ bytes: UInt64) -> String { String(bytes / 1024) }

    public func element() -> XElement {
        var r = XElement("domain", [("type", type), ("id", id.map(String.init))])
        r.addText("name", name)
        r.addText("uuid", uuid)
        r.addText("title", title)
        r.addText("description", description)
        if !metadata.isEmpty { r.children.append(XElement("metadata", children: metadata)) }
        if let m = maxMemory {
            r.addText("maxMemory", DomainXML.kib(m), [("slots", maxMemorySlots.map(String.init)), ("unit", "KiB")])
        }
        r.addText("memory", DomainXML.kib(memory), [("unit", "KiB")])
        r.addText("currentMemory", currentMemory.map(DomainXML.kib), [("unit", "KiB")])
        if let mb = memoryBacking { r.children.append(mb.element()) }
        r.addText("vcpu", String(vcpu.count), [("placement", vcpu.placement), ("current", vcpu.current.map(String.init))])
        if !fwcfg.isEmpty {
            r.children.append(
                XElement(
                    "sysinfo", [("type", "fwcfg")],
                    children: fwcfg.map { XElement("entry", [("name", $0.name), ("file", $0.file)], text: $0.value ?? "") }))
        }
        var o = XElement("os", [("firmware", os.firmware)])
        o.addText("type", os.type, [("arch", os.arch), ("machine", os.machine)])
        if !os.firmwareFeatures.isEmpty {
            o.children.append(
                XElement(
                    "firmware",
                    children: os.firmwareFeatures.map { XElement("feature", [("enabled", $0.enabled ? "yes" : "no"), ("name", $0.name)]) }))
        }
        if let l = os.loader {
            o.children.append(
                XElement(
                    "loader",
                    [
                        ("readonly", l.readonly.map { $0 ? "yes" : "no" }),
                        ("secure", l.secure.map { $0 ? "yes" : "no" }), ("type", l.type)
                    ],
                    text: l.path ?? ""))
        }
        o.addText("nvram", os.nvram)
        for b in os.boot { o.children.append(XElement("boot", [("dev", b)])) }
        r.children.append(o)
        var featureElements = features.map { XElement($0) }
        if let smm { featureElements.append(XElement("smm", [("state", smm ? "on" : "off")])) }
        if !featureElements.isEmpty { r.children.append(XElement("features", children: featureElements)) }
        if let c = cpu {
            var e = XElement("cpu", [("mode", c.mode), ("match", c.match), ("check", c.check)])
            e.addText("model", c.model)
            r.children.append(e)
        }
        if let c = clockOffset { r.children.append(XElement("clock", [("offset", c)])) }
        r.addText("on_poweroff", onPoweroff)
        r.addText("on_reboot", onReboot)
        r.addText("on_crash", onCrash)
        r.children.append(devices.element())
        return r
    }
}

extension DomainXML.Disk {
    public func element() -> XElement {
        var e = XElement("disk", [("type", type), ("device", device)])
        if driverName != nil || driverType != nil { e.children.append(XElement("driver", [("name", driverName), ("type", driverType)])) }
        var src = XElement(
            "source",
            [
                ("file", sourceFile), ("dev", sourceDev), ("dir", sourceDir), ("pool", sourcePool),
                ("volume", sourceVolume), ("protocol", sourceProtocol), ("name", sourceName),
                ("type", sourceType), ("path", sourcePath), ("namespace", sourceNamespace)
            ])
        for h in sourceHosts {
            src.children.append(XElement("host", [("name", h.name), ("port", h.port), ("transport", h.transport), ("socket", h.socket)]))
        }
        if let a = sourceAddress, let pci = DomainXML.pciParts(a) {
            src.children.append(
                XElement("address", [("type", "pci"), ("domain", pci.0), ("bus", pci.1), ("slot", pci.2), ("function", pci.3)]))
        }
        if !src.attributes.isEmpty || !src.children.isEmpty { e.children.append(src) }
        e.children.append(XElement("target", [("dev", targetDev), ("bus", targetBus)]))
        if readonly { e.children.append(XElement("readonly")) }
        e.addText("serial", serial)
        if let b = bootOrder { e.children.append(XElement("boot", [("order", String(b))])) }
        return e
    }
    public func xml() -> String { element().render() }
}

extension DomainXML {
    /// `0000:01:00.0` as the four attribute values of a PCI `<address>`.
    static func pciParts(_ s: String) -> (String, String, String, String)? {
        let p = s.split(separator: ":")
        guard p.count == 3 else { return nil }
        let sf = p[2].split(separator: ".")
        guard sf.count == 2 else { return nil }
        return ("0x" + p[0], "0x" + p[1], "0x" + sf[0], "0x" + sf[1])
    }
}

extension DomainXML.MemoryBacking {
    public func element() -> XElement {
        var e = XElement("memoryBacking")
        if let t = sourceType { e.children.append(XElement("source", [("type", t)])) }
        if let m = accessMode { e.children.append(XElement("access", [("mode", m)])) }
        return e
    }
}

extension DomainXML.Filesystem {
    public func element() -> XElement {
        var e = XElement("filesystem", [("type", type), ("accessmode", accessMode)])
        if let d = driverType { e.children.append(XElement("driver", [("type", d)])) }
        if let s = sourceDir { e.children.append(XElement("source", [("dir", s)])) }
        if let t = targetDir { e.children.append(XElement("target", [("dir", t)])) }
        if readonly { e.children.append(XElement("readonly")) }
        return e
    }
    public func xml() -> String { element().render() }
}

extension DomainXML.Interface {
    public func element() -> XElement {
        var e = XElement("interface", [("type", type)])
        if let m = mac { e.children.append(XElement("mac", [("address", m)])) }
        var src = XElement(
            "source",
            [
                ("network", sourceNetwork), ("bridge", sourceBridge), ("dev", sourceDev),
                ("type", sourceType), ("path", sourcePath), ("mode", sourceMode)
            ])
        if let a = sourceAddress {
            if type == "hostdev", let pci = DomainXML.pciParts(a) {
                src.children.append(
                    XElement("address", [("type", "pci"), ("domain", pci.0), ("bus", pci.1), ("slot", pci.2), ("function", pci.3)]))
            } else if type != "hostdev" {
                src.attributes.append(("address", a))
            }
        }
        if let p = sourcePort { src.attributes.append(("port", p)) }
        if !src.attributes.isEmpty || !src.children.isEmpty { e.children.append(src) }
        if let t = targetDev { e.children.append(XElement("target", [("dev", t)])) }
        if let m = model { e.children.append(XElement("model", [("type", m)])) }
        return e
    }
    public func xml() -> String { element().render() }
}

extension DomainXML.Graphics {
    public func element() -> XElement {
        var e = XElement(
            "graphics",
            [
                ("type", type), ("port", port.map(String.init)),
                ("autoport", autoport.map { $0 ? "yes" : "no" }), ("listen", listen), ("passwd", passwd)
            ])
        for l in listens { e.children.append(XElement("listen", [("type", l.type), ("address", l.address), ("network", l.network)])) }
        return e
    }
}

extension DomainXML.Hostdev {
    public func element() -> XElement {
        var typeName: String
        var src = XElement("source")
        var model: String?
        switch source {
        case .pci(let d, let b, let s, let f):
            typeName = "pci"
            src.children.append(
                XElement(
                    "address",
                    [
                        ("domain", XMLNumber.hex(d, width: 4)), ("bus", XMLNumber.hex(b, width: 2)),
                        ("slot", XMLNumber.hex(s, width: 2)), ("function", XMLNumber.hex(f, width: 1))
                    ]))
        case .usb(let v, let p):
            typeName = "usb"
            src.children.append(XElement("vendor", [("id", XMLNumber.hex(v, width: 4))]))
            src.children.append(XElement("product", [("id", XMLNumber.hex(p, width: 4))]))
        case .usbAddress(let b, let d):
            typeName = "usb"
            src.children.append(XElement("address", [("bus", String(b)), ("device", String(d))]))
        case .scsi(let adapter, let b, let t, let u):
            typeName = "scsi"
            src.children.append(XElement("adapter", [("name", adapter)]))
            src.children.append(XElement("address", [("bus", String(b)), ("target", String(t)), ("unit", String(u))]))
        case .iscsi(let name, let hosts):
            typeName = "scsi"
            src.attributes = [("protocol", "iscsi"), ("name", name)]
            for h in hosts {
                let parts = h.split(separator: ":", maxSplits: 1).map(String.init)
                src.children.append(XElement("host", [("name", parts.first), ("port", parts.count > 1 ? parts[1] : nil)]))
            }
        case .scsiHost(let proto, let wwpn):
            typeName = "scsi_host"
            src.attributes = [("protocol", proto), ("wwpn", wwpn)]
        case .mdev(let uuid, let m):
            typeName = "mdev"
            model = m
            src.children.append(XElement("address", [("uuid", uuid)]))
        case .capabilities(let t, let path):
            typeName = t
            let child = t == "storage" ? "block" : t == "misc" ? "char" : "interface"
            src.children.append(XElement(child, text: path))
        case .other(let t):
            typeName = t
        }
        return XElement(
            "hostdev", [("mode", mode), ("type", typeName), ("managed", managed.map { $0 ? "yes" : "no" }), ("model", model)],
            children: [src])
    }
    public func xml() -> String { element().render() }
}

extension DomainXML.CharDevice {
    func element(_ kind: String) -> XElement {
        var e = XElement(kind, [("type", type)])
        if targetType != nil || targetPort != nil {
            e.children.append(XElement("target", [("type", targetType), ("port", targetPort.map(String.init))]))
        }
        return e
    }
}

extension DomainXML.Devices {
    public func element() -> XElement {
        var d = XElement("devices")
        d.addText("emulator", emulator)
        for x in disks { d.children.append(x.element()) }
        for c in controllers {
            d.children.append(XElement("controller", [("type", c.type), ("index", c.index.map(String.init)), ("model", c.model)]))
        }
        for f in filesystems { d.children.append(f.element()) }
        for x in interfaces { d.children.append(x.element()) }
        for s in serials { d.children.append(s.element("serial")) }
        for s in consoles { d.children.append(s.element("console")) }
        for c in channels {
            var e = XElement("channel", [("type", c.type)])
            if c.sourceMode != nil || c.sourcePath != nil {
                e.children.append(XElement("source", [("mode", c.sourceMode), ("path", c.sourcePath)]))
            }
            e.children.append(XElement("target", [("type", c.targetType), ("name", c.targetName)]))
            d.children.append(e)
        }
        for i in inputs { d.children.append(XElement("input", [("type", i.type), ("bus", i.bus)])) }
        for t in tpms { d.children.append(t.element()) }
        for g in graphics { d.children.append(g.element()) }
        for v in videos {
            d.children.append(
                XElement(
                    "video",
                    children: [
                        XElement(
                            "model",
                            [
                                ("type", v.model), ("vram", v.vram.map(String.init)),
                                ("heads", v.heads.map(String.init))
                            ])
                    ]))
        }
        for h in hostdevs { d.children.append(h.element()) }
        if let m = memballoon { d.children.append(XElement("memballoon", [("model", m)])) }
        return d
    }
}

extension DomainXML.TPM {
    public func element() -> XElement {
        var e = XElement("tpm", [("model", model)])
        if backendType != nil || backendVersion != nil {
            e.children.append(XElement("backend", [("type", backendType), ("version", backendVersion)]))
        }
        return e
    }
}
