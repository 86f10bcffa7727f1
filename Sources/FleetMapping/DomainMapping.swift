import FleetModel
import LibvirtXML

/// VMSpec <-> domain XML.
public enum DomainMapping {
    /// libvirt's disk naming (virDiskNameFromIndex): 0 -> a, 25 -> z, 26 -> aa.
    static func suffix(_ index: Int) -> String {
        var i = index
        var s = ""
        repeat {
            let u = UnicodeScalar(UInt8(97 + i % 26))
            s = String(Character(u)) + s
            i = i / 26 - 1
        } while i >= 0
        return s
    }

    /// Assigns guest device names per prefix in order, continuing from `used`.
    static func assign(_ prefixes: [String], used: inout [String: Int]) -> [String] {
        prefixes.map { p in
            let n = used[p, default: 0]
            used[p] = n + 1
            return p + suffix(n)
        }
    }

    /// libvirt's index of a guest device name (virDiskNameToIndex): vda -> 0, sdaa -> 26.
    static func nameIndex(_ dev: String) -> Int {
        var i = -1
        let prefix = ["xvd", "ubd", "fd", "hd", "vd", "sd"].first { dev.hasPrefix($0) } ?? ""
        for u in dev.dropFirst(prefix.count).unicodeScalars {
            guard u.value >= 97 && u.value <= 122 else { break }
            let (m, o1) = (i + 1).multipliedReportingOverflow(by: 26)
            guard !o1 else { return Int.max }
            i = m + Int(u.value - 97)
        }
        return i
    }

    /// The order libvirt keeps disks in (virDomainDiskInsert: after the last disk on the same bus, sorted by
    /// name within a bus, else appended), so the XML fleet renders and the XML libvirt returns list disks alike.
    static func libvirtOrder(_ disks: [DomainXML.Disk]) -> [DomainXML.Disk] {
        var out: [DomainXML.Disk] = []
        for d in disks {
            var insertAt = -1
            for idx in stride(from: out.count - 1, through: 0, by: -1) where out[idx].targetBus == d.targetBus {
                if nameIndex(out[idx].targetDev) > nameIndex(d.targetDev) { insertAt = idx } else if insertAt == -1 { insertAt = idx + 1 }
            }
            if insertAt == -1 { out.append(d) } else { out.insert(d, at: insertAt) }
        }
        return out
    }

    /// The guest device names `render` assigns to vm.disks, in order (vda, vdb, sda, …).
    public static func diskTargets(_ vm: VMSpec) -> [String] {
        var used: [String: Int] = [:]
        return assign(vm.disks.map(\.bus.targetPrefix), used: &used)
    }

    /// The bus of CD-ROMs (install media and the cloud-init seed): SATA on q35 (no IDE there), IDE otherwise.
    public static func cdromBus(_ vm: VMSpec) -> DiskBus {
        (vm.machine ?? "").contains("q35") ? .sata : .ide
    }

    /// The volume holding a VM's cloud-init seed (NoCloud, label `cidata`), in the pool of its first disk.
    public static func seedVolumeName(_ vm: VMSpec) -> String { vm.seedVolume?.name ?? "\(vm.name)-cidata.img" }
    public static func seedPool(_ vm: VMSpec) -> String? { vm.seedVolume?.pool }

    static func diskValue(_ disk: DiskSpec, vm: VMSpec, target: String) -> DomainXML.Disk {
        DomainXML.Disk(
            type: "volume", device: "disk", driverName: "qemu", driverType: disk.format.rawValue,
            sourcePool: disk.pool, sourceVolume: disk.volumeName(vm: vm.name), targetDev: target, targetBus: disk.bus.rawValue)
    }

    /// One `<disk>` element, for attach-device.
    public static func diskXML(_ disk: DiskSpec, vm: VMSpec, target: String) -> String {
        diskValue(disk, vm: vm, target: target).xml()
    }

    static func interfaceValue(_ nic: NICSpec) -> DomainXML.Interface {
        DomainXML.Interface(type: "network", mac: nic.mac.description, sourceNetwork: nic.network, model: nic.model.rawValue)
    }

    /// One `<interface>`, for attach/detach.
    public static func interfaceXML(_ nic: NICSpec) -> String { interfaceValue(nic).xml() }

    static func hostdevValue(_ kind: DeviceKind) -> DomainXML.Hostdev {
        switch kind {
        case .pci(let a):
            return DomainXML.Hostdev(
                mode: "subsystem", managed: true,
                source: .pci(domain: a.domain, bus: a.bus, slot: a.slot, function: a.function))
        case .usb(let v, let p):
            return DomainXML.Hostdev(mode: "subsystem", managed: true, source: .usb(vendor: v, product: p))
        }
    }

    /// One `<hostdev>`, for attach/detach.
    public static func hostdevXML(_ kind: DeviceKind) -> String { hostdevValue(kind).xml() }

    /// One `<filesystem>` for a share: virtiofs (virtiofsd, which libvirt finds through QEMU's vhost-user
    /// descriptors) with passthrough access, the only mode virtiofs has; 9p with the `path` driver and mapped
    /// access (owners and modes kept in extended attributes, so QEMU need not run as root).
    static func filesystemValue(_ s: ShareSpec) -> DomainXML.Filesystem {
        switch s.mode {
        case .virtiofs:
            return DomainXML.Filesystem(
                type: "mount", accessMode: "passthrough", driverType: "virtiofs", sourceDir: s.source, targetDir: s.target,
                readonly: s.readonly)
        case .p9:
            return DomainXML.Filesystem(
                type: "mount", accessMode: "mapped", driverType: "path", sourceDir: s.source, targetDir: s.target, readonly: s.readonly)
        }
    }

    /// The share a `<filesystem>` is, when it is a host directory fleet could declare; nil for anything else.
    static func share(_ f: DomainXML.Filesystem) -> ShareSpec? {
        guard f.type == "mount", let src = f.sourceDir, let tgt = f.targetDir else { return nil }
        let mode: ShareMode = f.driverType == "virtiofs" ? .virtiofs : .p9
        return ShareSpec(source: src, target: tgt, mode: mode, readonly: f.readonly)
    }

    /// The memory backing virtiofs needs (libvirt 9.0 without NUMA nodes: memfd, shared).
    static let sharedMemoryBacking = DomainXML.MemoryBacking(sourceType: "memfd", accessMode: "shared")

    /// The domain value `render` writes; exposed for tests and for tools that want to adjust it.
    /// `ignitionFile` is the host path of the VM's Ignition volume (the executor looks it up in its pool).
    public static func domain(
        _ vm: VMSpec, hypervisor: Hypervisor, uuid: String? = nil,
        graphicsPassword: String? = nil, owner: OwnerMark, ignitionFile: String? = nil
    ) -> DomainXML {
        var used: [String: Int] = [:]
        let targets = assign(vm.disks.map(\.bus.targetPrefix), used: &used)
        var disks = zip(vm.disks, targets).map { diskValue($0, vm: vm, target: $1) }
        let cdBus = cdromBus(vm)
        if let iso = vm.cdrom {
            let t = assign([cdBus.targetPrefix], used: &used)[0]
            disks.append(
                DomainXML.Disk(
                    type: "file", device: "cdrom", driverName: "qemu", driverType: "raw", sourceFile: iso,
                    targetDev: t, targetBus: cdBus.rawValue, readonly: true))
        }
        if let pool = seedPool(vm) {
            let t = assign([cdBus.targetPrefix], used: &used)[0]
            disks.append(
                DomainXML.Disk(
                    type: "volume", device: "cdrom", driverName: "qemu", driverType: "raw", sourcePool: pool,
                    sourceVolume: seedVolumeName(vm), targetDev: t, targetBus: cdBus.rawValue, readonly: true))
        }
        disks = libvirtOrder(disks)
        var controllers: [DomainXML.Controller] = []
        // Without this libvirt picks the emulated LSI controller, which modern guests lack drivers for.
        if vm.disks.contains(where: { $0.bus == .scsi }) {
            controllers.append(DomainXML.Controller(type: "scsi", index: 0, model: "virtio-scsi"))
        }
        var graphics: [DomainXML.Graphics] = []
        var inputs: [DomainXML.Input] = []
        if let g = vm.graphics {
            // `listen: none`: no network socket at all (libvirt's `<listen type='none'/>`).
            let none = g.listen == "none"
            graphics.append(
                DomainXML.Graphics(
                    type: g.type.rawValue, port: none ? nil : g.port, autoport: none ? nil : g.port == nil,
                    listen: none ? nil : g.listen,
                    listens: [none ? DomainXML.Listen(type: "none") : DomainXML.Listen(type: "address", address: g.listen)],
                    passwd: graphicsPassword))
            // An absolute pointer, so the console cursor tracks (virt-install does the same).
            inputs.append(DomainXML.Input(type: "tablet", bus: "usb"))
        }
        let maxVcpus = vm.effectiveMaxVcpus
        var devices = DomainXML.Devices(
            disks: disks, controllers: controllers, interfaces: vm.networks.map(interfaceValue),
            serials: [DomainXML.CharDevice(type: "pty", targetPort: 0)],
            consoles: [DomainXML.CharDevice(type: "pty", targetType: "serial", targetPort: 0)],
            inputs: inputs, graphics: graphics, hostdevs: vm.hostdevs.map { hostdevValue($0.kind) })
        if vm.guestAgent == true { devices.channels = [guestAgentChannel] }
        if let t = vm.tpm { devices.tpms = [tpmValue(t)] }
        devices.filesystems = (vm.shares ?? []).map(filesystemValue)
        var boot = ["hd"]
        if vm.cdrom != nil { boot.append("cdrom") }
        var d = DomainXML(
            type: hypervisor == .test ? "test" : vm.virtType.rawValue, name: vm.name, uuid: uuid, description: vm.description,
            metadata: [OwnerXML.element(owner)],
            memory: libvirtMemory(vm.effectiveMaxMemory).bytes, currentMemory: libvirtMemory(vm.memory).bytes,
            vcpu: DomainXML.VCPU(placement: "static", current: vm.vcpus == maxVcpus ? nil : vm.vcpus, count: maxVcpus),
            os: DomainXML.OS(
                type: "hvm", arch: "x86_64", machine: vm.machine, firmware: vm.firmware == .uefi ? "efi" : nil,
                firmwareFeatures: firmwareFeatures(vm), boot: boot),
            features: ["acpi", "apic"], smm: vm.firmware == .uefi && vm.secureBoot == true ? true : nil, clockOffset: "utc",
            onPoweroff: "destroy", onReboot: "restart", onCrash: "destroy",
            devices: devices)
        if vm.needsSharedMemory { d.memoryBacking = sharedMemoryBacking }
        if vm.ignition != nil, let f = ignitionFile { d.fwcfg = [DomainXML.FwCfgEntry(name: IgnitionSpec.fwcfgName, file: f)] }
        return d
    }

    /// What libvirt's firmware auto-selection must find for a UEFI VM: the features the manifest names, in
    /// libvirt's order (it sorts them: enrolled-keys, secure-boot). Nothing for BIOS.
    public static func firmwareFeatures(_ vm: VMSpec) -> [DomainXML.FirmwareFeature] {
        guard vm.firmware == .uefi else { return [] }
        var out: [DomainXML.FirmwareFeature] = []
        if let k = vm.enrolledKeys { out.append(.init(name: enrolledKeysFeature, enabled: k)) }
        if let s = vm.secureBoot { out.append(.init(name: secureBootFeature, enabled: s)) }
        return out
    }
    public static let secureBootFeature = "secure-boot"
    public static let enrolledKeysFeature = "enrolled-keys"

    /// The emulated TPM: libvirt starts swtpm for it and keeps its state under /var/lib/libvirt/swtpm/UUID.
    static func tpmValue(_ t: TPMSpec) -> DomainXML.TPM {
        DomainXML.TPM(model: t.model.libvirt, backendType: "emulator", backendVersion: t.version.rawValue)
    }

    /// The name of the virtio-serial port qemu-guest-agent opens.
    public static let guestAgentPort = "org.qemu.guest_agent.0"

    /// The qemu-guest-agent channel: a unix socket whose path libvirt picks and manages (libvirt then speaks
    /// to the agent itself, for virDomainQemuAgentCommand, quiesced snapshots and interface addresses).
    static var guestAgentChannel: DomainXML.Channel {
        DomainXML.Channel(type: "unix", targetType: "virtio", targetName: guestAgentPort)
    }

    /// One `<channel>` for the guest agent, for attach/detach.
    public static var guestAgentChannelXML: String {
        var d = DomainXML.Devices()
        d.channels = [guestAgentChannel]
        return d.element().children.first { $0.name == "channel" }?.render() ?? ""
    }

    /// The full domain XML for a VM.
    public static func render(
        _ vm: VMSpec, hypervisor: Hypervisor, uuid: String? = nil,
        graphicsPassword: String? = nil, owner: OwnerMark, ignitionFile: String? = nil
    ) -> String {
        domain(vm, hypervisor: hypervisor, uuid: uuid, graphicsPassword: graphicsPassword, owner: owner, ignitionFile: ignitionFile).xml()
    }

    /// Reads a domain XML (inactive or live) back as the model. Tolerates libvirt's defaults (docs/libvirt-defaults.md).
    /// `passwordDigest` turns a graphics password (present only in XML read with VIR_DOMAIN_XML_SECURE)
    /// into the digest the model keeps; without it the password is only noted as present.
    public static func config(fromXML xml: String, passwordDigest: ((String) -> String)? = nil) throws -> DomainConfig {
        let root = try XElement.parse(xml)
        let d = try DomainXML(element: root)
        let memory = ByteSize(bytes: d.currentMemory ?? d.memory)
        let firmware: Firmware = (d.os.firmware == "efi" || d.os.loader?.type == "pflash") ? .uefi : .bios
        let disks: [LiveDisk] = d.devices.disks.compactMap(liveDisk)
        let nics: [LiveNIC] = d.devices.interfaces.map(liveNIC)
        let graphics: [LiveGraphics] = d.devices.graphics.map { g in
            let listen =
                g.listen ?? g.listens.first { $0.type == "address" }?.address ?? (g.listens.contains { $0.type == "none" } ? "none" : nil)
            let auto = g.autoport ?? (g.port == nil || g.port == -1)
            let port = auto ? nil : g.port.flatMap { $0 > 0 ? $0 : nil }
            let active = auto ? g.port.flatMap { $0 > 0 ? $0 : nil } : port
            return LiveGraphics(
                type: g.type, listen: listen, port: port, activePort: active, hasPassword: g.passwd != nil,
                passwordDigest: g.passwd.flatMap { p in passwordDigest.map { $0(p) } })
        }
        let all = d.devices.hostdevs.map(liveHostdev)
        var config = DomainConfig(
            vcpus: d.vcpu.current ?? d.vcpu.count, maxVcpus: d.vcpu.count, memory: memory,
            maxMemory: ByteSize(bytes: d.memory), firmware: firmware, virtType: d.type, machine: d.os.machine,
            disks: disks, nics: nics, graphics: graphics, hostdevs: all.compactMap(\.kind), allHostdevs: all,
            description: d.description, owner: OwnerXML.find(in: root),
            guestAgent: d.devices.channels.contains { $0.targetType == "virtio" && $0.targetName == guestAgentPort })
        config.unmanagedDevices = unmanagedDevices(root)
        // The firmware features when named; else (a definition libvirt expanded into a loader) the loader's
        // `secure`, which libvirt sets exactly for secure-boot builds of the firmware.
        let feature = { (n: String) in d.os.firmwareFeatures.first { $0.name == n }?.enabled }
        config.secureBoot = feature(secureBootFeature) ?? (d.os.loader?.type == "pflash" ? d.os.loader?.secure ?? false : nil)
        config.enrolledKeys = feature(enrolledKeysFeature)
        config.smm = d.smm ?? false
        config.tpm = d.devices.tpms.first.map { LiveTPM(model: $0.model, backend: $0.backendType, version: $0.backendVersion) }
        config.ignitionFile = d.fwcfg.first { $0.name == IgnitionSpec.fwcfgName }?.file
        config.shares = d.devices.filesystems.compactMap(share)
        config.sharedMemory = d.memoryBacking?.accessMode == "shared"
        return config
    }

    /// A `<disk>` as the model: every disk type and device libvirt has. nil only for a device value libvirt itself rejects.
    public static func liveDisk(_ x: DomainXML.Disk) -> LiveDisk? {
        guard let dev = DiskDevice(rawValue: x.device) else { return nil }
        let hosts = x.sourceHosts.map { h -> String in
            if let s = h.socket { return "unix:\(s)" }
            return (h.name ?? "") + (h.port.map { ":" + $0 } ?? "")
        }
        // As virsh domblklist prints it: nvme://0000:01:00.0/1.
        let nvme = x.type == "nvme" ? "nvme://\(x.sourceAddress ?? "?")/\(x.sourceNamespace ?? "?")" : nil
        return LiveDisk(
            device: dev, type: x.type, target: x.targetDev, bus: x.targetBus.map(DiskBus.init(libvirt:)),
            format: x.driverType.map(DiskFormat.init(libvirt:)), pool: x.sourcePool, volume: x.sourceVolume,
            path: x.sourceFile ?? x.sourceDev ?? x.sourceDir, protocol: x.sourceProtocol, name: x.sourceName,
            hosts: hosts, nvme: nvme, socket: x.type == "vhostuser" ? x.sourcePath : nil, serial: x.serial,
            readonly: x.readonly)
    }

    /// An `<interface>` as the model: every NIC type keeps its source.
    public static func liveNIC(_ i: DomainXML.Interface) -> LiveNIC {
        let source: InterfaceSource
        switch i.type {
        case "network" where i.sourceNetwork != nil: source = .network(i.sourceNetwork ?? "")
        case "bridge" where i.sourceBridge != nil: source = .bridge(i.sourceBridge ?? "")
        case "direct" where i.sourceDev != nil: source = .direct(dev: i.sourceDev ?? "", mode: i.sourceMode)
        case "hostdev" where i.sourceAddress != nil: source = .hostdev(i.sourceAddress ?? "")
        case "vhostuser" where i.sourcePath != nil: source = .vhostuser(path: i.sourcePath ?? "", mode: i.sourceMode)
        case "vdpa" where i.sourceDev != nil: source = .vdpa(i.sourceDev ?? "")
        case "user": source = .user
        case "ethernet": source = .ethernet(i.targetDev)
        case "mcast", "udp", "server", "client":
            source = .socket(type: i.type, address: (i.sourceAddress ?? "") + (i.sourcePort.map { ":" + $0 } ?? ""))
        default: source = .other(i.type)
        }
        return LiveNIC(type: i.type, source: source, model: i.model, mac: i.mac.flatMap(MACAddress.init(parsing:)), target: i.targetDev)
    }

    /// A `<hostdev>` as the model: every type, with the fleet device kind when fleet can declare it.
    public static func liveHostdev(_ h: DomainXML.Hostdev) -> LiveHostdev {
        func hex4(_ v: UInt16) -> String { String(XMLNumber.hex(v, width: 4).dropFirst(2)) }
        switch h.source {
        case .pci(let dom, let b, let s, let f):
            let text =
                "\(hex4(dom)):\(String(XMLNumber.hex(b, width: 2).dropFirst(2))):\(String(XMLNumber.hex(s, width: 2).dropFirst(2))).\(String(f, radix: 16))"
            let kind: DeviceKind? = (s <= 0x1f && f <= 7) ? .pci(PCIAddress(domain: dom, bus: b, slot: s, function: f)) : nil
            return LiveHostdev(mode: h.mode, type: "pci", managed: h.managed, source: text, kind: kind)
        case .usb(let v, let p):
            return LiveHostdev(
                mode: h.mode, type: "usb", managed: h.managed, source: "\(hex4(v)):\(hex4(p))", kind: .usb(vendor: v, product: p))
        case .usbAddress(let b, let dev):
            return LiveHostdev(mode: h.mode, type: "usb", managed: h.managed, source: "bus \(b) device \(dev)")
        case .scsi(let adapter, let b, let t, let u):
            return LiveHostdev(mode: h.mode, type: "scsi", managed: h.managed, source: "\(adapter) \(b):\(t):\(u)")
        case .iscsi(let name, let hosts):
            return LiveHostdev(
                mode: h.mode, type: "scsi", managed: h.managed,
                source: "iscsi \(name)" + (hosts.isEmpty ? "" : " @ " + hosts.joined(separator: ",")))
        case .scsiHost(let proto, let wwpn):
            return LiveHostdev(mode: h.mode, type: "scsi_host", managed: h.managed, source: "\(proto) \(wwpn)")
        case .mdev(let uuid, let model):
            return LiveHostdev(mode: h.mode, type: "mdev", managed: h.managed, source: uuid + (model.map { " (\($0))" } ?? ""))
        case .capabilities(let t, let path):
            return LiveHostdev(mode: h.mode, type: t, managed: h.managed, source: path)
        case .other(let t):
            return LiveHostdev(mode: h.mode, type: t, managed: h.managed, source: "-")
        }
    }

    /// Device elements libvirt keeps only because someone wrote them: fleet's render has none of them, and libvirt
    /// adds none by itself (controllers, the balloon, video, inputs, serial and console are its own defaults).
    /// A TPM stays listed although a VM may declare one (`tpm:`): the planner, which knows the manifest, leaves a
    /// declared TPM out of what a recreation would drop.
    static let unrenderedDevices: Set<String> = [
        "watchdog", "rng", "channel", "filesystem", "sound", "redirdev", "smartcard", "tpm", "shmem", "memory", "iommu",
        "vsock", "panic", "hub", "lease", "parallel", "crypto", "audio"
    ]

    /// What a domain holds that a fresh render of it would not (see `DomainConfig.unmanagedDevices`).
    static func unmanagedDevices(_ root: XElement) -> [String] {
        guard let devices = root.child("devices") else { return [] }
        return devices.children.compactMap { el -> String? in
            guard unrenderedDevices.contains(el.name) else { return nil }
            if el.name == "channel", el.child("target")?["name"] == guestAgentPort { return nil }  // guest_agent: manages it
            let detail = el["model"] ?? el["type"] ?? el.child("target")?["name"] ?? el.child("model")?["type"]
            return detail.map { "\(el.name) \($0)" } ?? el.name
        }
    }

    /// A memory size as libvirt will hold it: whole KiB (`ByteSize.wholeKiB`, the form the loader stores).
    public static func libvirtMemory(_ size: ByteSize) -> ByteSize { size.wholeKiB }
}
