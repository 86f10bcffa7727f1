import FleetModel
import LibvirtXML

/// Updates of an existing domain as a patch of its current persistent definition, never a rewrite.
///
/// `render` writes a whole domain from the model; that is right for a new domain and wrong for an existing
/// one, which holds devices, controllers, addresses and settings fleet does not model (a floppy, a watchdog,
/// a guest-agent channel, `<qemu:commandline>`, `<cputune>`, other applications' `<metadata>`…). The patch
/// starts from the XML libvirt returns for the persistent definition (`VIR_DOMAIN_XML_INACTIVE |
/// VIR_DOMAIN_XML_SECURE`, so graphics passwords stay) and changes only the nodes fleet manages, each found by
/// an identity:
///
/// - `<memory>`, `<currentMemory>`, `<vcpu>` (and its `current`), `<description>`;
/// - fleet's own element in `<metadata>` (found by namespace; other applications' elements are kept);
/// - the domain type, and `<os>` firmware and machine, only when the manifest sets them and they differ;
/// - the firmware features the manifest names (`secure-boot`, `enrolled-keys`) and SMM for secure boot, keeping
///   the `<loader>` and `<nvram>` libvirt chose (the NVRAM file outlives every update);
/// - the first `<tpm>`, when the manifest declares one;
/// - a disk by its source pool and volume (the install CD-ROM by being the CD-ROM that is not the seed);
/// - an interface by its MAC; a hostdev by its source address; graphics by type;
/// - a virtio-scsi controller, added only when a declared disk is on SCSI and no SCSI controller exists;
/// - a share (`<filesystem type='mount'>`) by its target tag, when `shares:` is set; `<memoryBacking>` made
///   shared when a virtiofs share needs it (never made private again);
/// - the Ignition fw_cfg entry (`opt/com.coreos/config`) in `<sysinfo type='fwcfg'>`; other entries stay.
///
/// Every node that is kept keeps its `<address>`, so no device changes slot. Removals are limited to what the
/// planner shows (`DeviceOwnership`): disks only when their volume is one fleet owns (`removableVolumes`), NICs
/// only when fleet derived their MAC, hostdevs only when they are devices the fleet declares. Unknown nodes and
/// attributes are never touched.
public enum DomainPatch {
    /// The patched XML. `current` is the domain's persistent XML; the other arguments are those of `render`.
    /// `removableVolumes` holds `pool/volume` of the disk volumes this fleet owns: only their disks may go.
    public static func patch(
        _ current: String, vm: VMSpec, fleet: Fleet, hypervisor: Hypervisor,
        graphicsPassword: String? = nil, owner: OwnerMark,
        removableVolumes: Set<String> = [], ignitionFile: String? = nil
    ) throws -> String {
        let root = try XElement.parse(current)
        return try patch(
            root, vm: vm, fleet: fleet, hypervisor: hypervisor, graphicsPassword: graphicsPassword,
            owner: owner, removableVolumes: removableVolumes, ignitionFile: ignitionFile
        ).render()
    }

    /// The patched XML, or nil when the patch changes nothing (then there is nothing to define).
    public static func update(
        _ current: String, vm: VMSpec, fleet: Fleet, hypervisor: Hypervisor,
        graphicsPassword: String? = nil, owner: OwnerMark,
        removableVolumes: Set<String> = [], ignitionFile: String? = nil
    ) throws -> String? {
        let root = try XElement.parse(current)
        let out = try patch(
            root, vm: vm, fleet: fleet, hypervisor: hypervisor, graphicsPassword: graphicsPassword,
            owner: owner, removableVolumes: removableVolumes, ignitionFile: ignitionFile)
        return out == root ? nil : out.render()
    }

    /// The same on a parsed tree.
    public static func patch(
        _ current: XElement, vm: VMSpec, fleet: Fleet, hypervisor: Hypervisor,
        graphicsPassword: String? = nil, owner: OwnerMark,
        removableVolumes: Set<String> = [], ignitionFile: String? = nil
    ) throws -> XElement {
        guard current.name == "domain" else { throw PatchError("expected a <domain> document, got <\(current.name)>") }
        // What a fresh render would write: the source of every node fleet adds.
        let want = DomainMapping.domain(
            vm, hypervisor: hypervisor, uuid: nil,
            graphicsPassword: graphicsPassword, owner: owner, ignitionFile: ignitionFile)
        let wantEl = want.element()
        var r = current

        if hypervisor != .test, r["type"] != "test", r["type"] != want.type { r.set("type", want.type) }
        try patchMemory(&r, vm)
        try patchVCPU(&r, vm)
        if let d = vm.description, r.child("description")?.text != d {
            let el = XElement("description", text: d)
            r.replaceOrInsert(el, at: (r.index(of: "title") ?? r.index(of: "uuid") ?? r.index(of: "name")).map { $0 + 1 })
        }
        patchMetadata(&r, owner: owner)
        patchMemoryBacking(&r, vm)
        patchIgnition(&r, vm, file: ignitionFile)
        patchOS(&r, vm)
        patchSMM(&r, vm)

        var devices = r.child("devices") ?? XElement("devices")
        let wantDevices = wantEl.child("devices") ?? XElement("devices")
        try patchDisks(&devices, vm: vm, want: wantDevices, removable: removableVolumes)
        patchControllers(&devices, vm: vm)
        patchGuestAgent(&devices, vm: vm, want: wantDevices)
        patchTPM(&devices, vm: vm, want: wantDevices)
        patchInterfaces(&devices, vm: vm, fleetName: fleet.name, want: wantDevices)
        patchHostdevs(&devices, vm: vm, fleet: fleet)
        patchGraphics(&devices, vm: vm, want: wantDevices)
        patchShares(&devices, vm: vm)
        if let i = r.index(of: "devices") { r.children[i] = devices } else { r.children.append(devices) }
        return r
    }

    // MARK: Sizes

    static func kib(_ el: XElement?) throws -> UInt64? {
        guard let el else { return nil }
        return try XMLSize.bytes(el, defaultUnit: "KiB") / 1024
    }

    /// `<memory>` is the boot maximum: the declared `max_memory`, else the current one unless the new size
    /// exceeds it (as the planner reads an absent `max_memory`). `<currentMemory>` is the declared size.
    static func patchMemory(_ r: inout XElement, _ vm: VMSpec) throws {
        let have = try kib(r.child("memory"))
        let haveCurrent = try kib(r.child("currentMemory")) ?? have
        let wantCurrent = DomainMapping.libvirtMemory(vm.memory).bytes / 1024
        let wantMax = vm.maxMemory.map { DomainMapping.libvirtMemory($0).bytes / 1024 } ?? max(have ?? 0, wantCurrent)
        if have != wantMax {
            var el = r.child("memory") ?? XElement("memory")
            el.set("unit", "KiB")
            r.replaceOrInsert(el.withText(String(wantMax)), at: r.index(of: "maxMemory").map { $0 + 1 } ?? metadataEnd(r))
        }
        if haveCurrent != wantCurrent || (r.child("currentMemory") == nil && have != wantMax) {
            var el = r.child("currentMemory") ?? XElement("currentMemory")
            el.set("unit", "KiB")
            r.replaceOrInsert(el.withText(String(wantCurrent)), at: (r.index(of: "memory") ?? metadataEnd(r)) + 1)
        }
    }

    /// `<vcpu>` holds the maximum (declared `max_vcpus`, else the current one unless `vcpus` exceeds it) and
    /// `current` when fewer run. Its other attributes (`placement`, `cpuset`) stay.
    static func patchVCPU(_ r: inout XElement, _ vm: VMSpec) throws {
        let el = r.child("vcpu")
        let have: Int? = el.flatMap { XMLNumber.parse($0.text) }
        let haveCurrent: Int? = el.flatMap { XMLNumber.parse($0["current"]) } ?? have
        let wantMax = vm.maxVcpus ?? max(have ?? 0, vm.vcpus)
        if have == wantMax && haveCurrent == vm.vcpus { return }
        var v = el ?? XElement("vcpu", [("placement", "static")])
        v.set("current", vm.vcpus == wantMax ? nil : String(vm.vcpus))
        r.replaceOrInsert(v.withText(String(wantMax)), at: (r.index(of: "currentMemory") ?? r.index(of: "memory") ?? metadataEnd(r)) + 1)
    }

    static func metadataEnd(_ r: XElement) -> Int {
        for n in ["metadata", "description", "title", "uuid", "name"] { if let i = r.index(of: n) { return i + 1 } }
        return 0
    }

    // MARK: Metadata

    /// Replaces fleet's element (matched by namespace URI) when it differs; other children of `<metadata>` stay.
    static func patchMetadata(_ r: inout XElement, owner: OwnerMark) {
        let mine = OwnerXML.element(owner)
        var md = r.child("metadata") ?? XElement("metadata")
        if let i = md.children.firstIndex(where: isFleetElement) {
            if OwnerXML.mark(md.children[i], prefix: md.children[i].prefix) == owner { return }
            md.children[i] = mine
        } else {
            md.children.append(mine)
        }
        r.replaceOrInsert(
            md, at: (r.index(of: "description") ?? r.index(of: "title") ?? r.index(of: "uuid") ?? r.index(of: "name")).map { $0 + 1 })
    }

    static func isFleetElement(_ el: XElement) -> Bool {
        guard el.localName == "owner" else { return false }
        let decl = el.prefix.isEmpty ? "xmlns" : "xmlns:\(el.prefix)"
        return el[decl] == OwnerXML.namespace
    }

    // MARK: Memory backing, fw_cfg

    /// A virtiofs share needs guest memory shared with virtiofsd: `<source type='memfd'/>` and
    /// `<access mode='shared'/>` are set, the other children (hugepages, locked…) stay. Nothing is undone
    /// when the shares go: shared memory costs a guest nothing.
    static func patchMemoryBacking(_ r: inout XElement, _ vm: VMSpec) {
        guard vm.needsSharedMemory else { return }
        var mb = r.child("memoryBacking") ?? XElement("memoryBacking")
        let before = mb
        if mb.child("access")?["mode"] != "shared" {
            mb.removeAll("access")
            mb.children.append(XElement("access", [("mode", "shared")]))
        }
        if mb.child("source") == nil { mb.children.append(XElement("source", [("type", "memfd")])) }
        if mb == before && r.child("memoryBacking") != nil { return }
        r.replaceOrInsert(mb, at: r.index(of: "vcpu") ?? r.index(of: "currentMemory").map { $0 + 1 })
    }

    /// The `opt/com.coreos/config` entry points at the VM's Ignition volume; without `ignition:` an entry
    /// that points at fleet's volume goes. Other entries, and other sysinfo types (smbios), stay.
    static func patchIgnition(_ r: inout XElement, _ vm: VMSpec, file: String?) {
        let idx = r.children.firstIndex { $0.name == "sysinfo" && $0["type"] == "fwcfg" }
        var si = idx.map { r.children[$0] } ?? XElement("sysinfo", [("type", "fwcfg")])
        let before = si
        let isIgnition = { (e: XElement) in e.name == "entry" && e["name"] == IgnitionSpec.fwcfgName }
        if vm.ignition != nil, let file {
            let entry = XElement("entry", [("name", IgnitionSpec.fwcfgName), ("file", file)])
            if let i = si.children.firstIndex(where: isIgnition) {
                if si.children[i] != entry { si.children[i] = entry }
            } else {
                si.children.append(entry)
            }
        } else if vm.ignition == nil {
            si.children.removeAll { isIgnition($0) && vm.isOwnIgnitionFile($0["file"] ?? "") }
        }
        if si == before { return }
        if let idx {
            if si.children.isEmpty { r.children.remove(at: idx) } else { r.children[idx] = si }
        } else {
            r.children.insert(si, at: r.index(of: "os") ?? r.children.count)
        }
    }

    // MARK: OS

    static func patchOS(_ r: inout XElement, _ vm: VMSpec) {
        guard vm.machine != nil || vm.firmware != nil, var os = r.child("os") else { return }
        let before = os
        if let m = vm.machine, var t = os.child("type"), !MachineType.matches(desired: m, live: t["machine"]) {
            t.set("machine", m)
            os.replaceOrInsert(t)
        }
        if let f = vm.firmware {
            let isEFI = os["firmware"] == "efi" || os.child("loader")?["type"] == "pflash"
            if f == .uefi {
                if !isEFI { os.set("firmware", "efi") }
                patchFirmwareFeatures(&os, vm)
            } else if isEFI {
                // The manifest asks for BIOS: the UEFI loader, its variables and feature selection go.
                os.set("firmware", nil)
                os.removeAll("loader")
                os.removeAll("nvram")
                os.removeAll("firmware")
            }
        }
        if os != before { r.replaceOrInsert(os) }
    }

    /// Sets the firmware features the manifest names, keeping any others. When one changes, a `<loader>` libvirt
    /// chose for the old ones goes (libvirt selects again at the next start) and `<nvram>` keeps only its path:
    /// the NVRAM file stays, with the variables it holds.
    static func patchFirmwareFeatures(_ os: inout XElement, _ vm: VMSpec) {
        let want = DomainMapping.firmwareFeatures(vm)
        guard !want.isEmpty else { return }
        var fw = os.child("firmware") ?? XElement("firmware")
        let before = fw
        for f in want {
            let value = f.enabled ? "yes" : "no"
            if let i = fw.children.firstIndex(where: { $0.name == "feature" && $0["name"] == f.name }) {
                if XMLNumber.bool(fw.children[i]["enabled"]) != f.enabled { fw.children[i].set("enabled", value) }
            } else {
                fw.children.append(XElement("feature", [("enabled", value), ("name", f.name)]))
            }
        }
        guard fw != before else { return }
        os.replaceOrInsert(fw, at: os.index(of: "type").map { $0 + 1 } ?? 0)
        if os.child("loader") != nil {
            os.removeAll("loader")
            if var n = os.child("nvram"), n["template"] != nil {
                n.set("template", nil)
                os.replaceOrInsert(n)
            }
        }
    }

    /// Secure-boot firmware needs SMM (it guards the variables with it): `<smm state='on'/>` under `<features>`.
    static func patchSMM(_ r: inout XElement, _ vm: VMSpec) {
        guard vm.firmware == .uefi, vm.secureBoot == true else { return }
        var features = r.child("features") ?? XElement("features")
        if let smm = features.child("smm"), XMLNumber.bool(smm["state"]) ?? true { return }
        var smm = features.child("smm") ?? XElement("smm")
        smm.set("state", "on")
        features.replaceOrInsert(smm)
        r.replaceOrInsert(features, at: r.index(of: "os").map { $0 + 1 })
    }

    // MARK: TPM

    /// The declared TPM: added when the domain has none; an emulator of another model or version is changed in
    /// place (its other settings, such as state encryption, stay); another backend is replaced. Left alone when
    /// the manifest declares none.
    static func patchTPM(_ devices: inout XElement, vm: VMSpec, want: XElement) {
        guard let spec = vm.tpm, let w = want.child("tpm") else { return }
        guard let i = devices.index(of: "tpm") else {
            devices.insertAfterSiblings(w, fallback: devices.children.lastIndex { $0.name == "input" }.map { $0 + 1 })
            return
        }
        var el = devices.children[i]
        let backend = el.child("backend")
        let live = LiveTPM(model: el["model"], backend: backend?["type"], version: backend?["version"])
        if live.matches(spec) { return }
        if var b = backend, b["type"] == "emulator" {
            el.set("model", spec.model.libvirt)
            b.set("version", spec.version.rawValue)
            el.replaceOrInsert(b)
            devices.children[i] = el
        } else {
            devices.children[i] = w
        }
    }

    // MARK: Disks

    static func source(_ disk: XElement) -> (pool: String, volume: String)? {
        guard let s = disk.child("source"), let p = s["pool"], let v = s["volume"] else { return nil }
        return (p, v)
    }

    /// Whether a disk element's source is this pool volume.
    static func isVolume(_ disk: XElement, _ pool: String, _ volume: String) -> Bool {
        guard let s = source(disk) else { return false }
        return s.pool == pool && s.volume == volume
    }

    /// A free guest device name with this prefix, starting from `preferred`.
    static func freeTarget(_ preferred: String, prefix: String, in devices: XElement) -> String {
        let used = Set(devices.all("disk").compactMap { $0.child("target")?["dev"] })
        if !used.contains(preferred) { return preferred }
        var n = 0
        while used.contains(prefix + DomainMapping.suffix(n)) { n += 1 }
        return prefix + DomainMapping.suffix(n)
    }

    /// Appends a disk after the other disks, with a guest device name no other disk holds.
    static func appendDisk(_ disk: XElement, to devices: inout XElement) {
        var d = disk
        if var t = d.child("target"), let dev = t["dev"] {
            let prefix = ["xvd", "ubd", "fd", "hd", "vd", "sd"].first { dev.hasPrefix($0) } ?? String(dev.prefix(2))
            t.set("dev", freeTarget(dev, prefix: prefix, in: devices))
            d.replaceOrInsert(t)
        }
        devices.insertAfterSiblings(d, fallback: devices.index(of: "emulator").map { $0 + 1 } ?? 0)
    }

    static func patchDisks(_ devices: inout XElement, vm: VMSpec, want: XElement, removable: Set<String>) throws {
        let seed = DomainMapping.seedPool(vm).map { ($0, DomainMapping.seedVolumeName(vm)) }
        let wanted = want.all("disk")
        // Declared volume disks, by pool and volume.
        for (i, d) in vm.disks.enumerated() {
            let vol = d.volumeName(vm: vm.name)
            let target = DomainMapping.diskTargets(vm)[i]
            guard let wantEl = wanted.first(where: { isVolume($0, d.pool, vol) && $0["device"] == "disk" }) else { continue }
            guard
                let idx = devices.children.firstIndex(where: {
                    $0.name == "disk" && ($0["device"] ?? "disk") == "disk"
                        && isVolume($0, d.pool, vol)
                })
            else {
                appendDisk(wantEl, to: &devices)
                continue
            }
            var el = devices.children[idx]
            let before = el
            if var t = el.child("target"), t["bus"] != d.bus.rawValue {
                // Another bus is another guest name and another kind of address: libvirt assigns a new one.
                t.set("bus", d.bus.rawValue)
                devices.children[idx].removeAll("target")
                t.set("dev", freeTarget(target, prefix: d.bus.targetPrefix, in: devices))
                el.replaceOrInsert(t)
                el.removeAll("address")
            }
            if el.child("driver")?["type"] != d.format.rawValue {
                var drv = el.child("driver") ?? XElement("driver", [("name", "qemu")])
                drv.set("type", d.format.rawValue)
                el.replaceOrInsert(drv, at: 0)
            }
            if el != before { devices.children[idx] = el }
        }
        // Disks on volumes fleet owns that are no longer declared. Nothing else is ever removed.
        let declared = Set(vm.disks.map { "\($0.pool)/\($0.volumeName(vm: vm.name))" })
        devices.children.removeAll { el in
            guard el.name == "disk", (el["device"] ?? "disk") == "disk", let s = source(el) else { return false }
            let key = "\(s.pool)/\(s.volume)"
            return !declared.contains(key) && removable.contains(key)
        }
        // The install CD-ROM: the one CD-ROM that is not the seed gets the declared medium.
        if let iso = vm.cdrom {
            let isSeed = { (el: XElement) in seed.map { isVolume(el, $0.0, $0.1) } ?? false }
            if let idx = devices.children.firstIndex(where: { $0.name == "disk" && $0["device"] == "cdrom" && !isSeed($0) }) {
                var el = devices.children[idx]
                if el.child("source")?["file"] != iso {
                    el.set("type", "file")
                    el.replaceOrInsert(XElement("source", [("file", iso)]), at: el.index(of: "driver").map { $0 + 1 } ?? 0)
                    devices.children[idx] = el
                }
            } else if let wantEl = wanted.first(where: { $0["device"] == "cdrom" && $0.child("source")?["file"] == iso }) {
                appendDisk(wantEl, to: &devices)
            }
        }
        if let (pool, name) = seed,
            !devices.children.contains(where: { $0.name == "disk" && isVolume($0, pool, name) }),
            let wantEl = wanted.first(where: { isVolume($0, pool, name) })
        {
            appendDisk(wantEl, to: &devices)
        }
    }

    /// A virtio-scsi controller only when a declared disk is on SCSI and the domain has no SCSI controller.
    static func patchControllers(_ devices: inout XElement, vm: VMSpec) {
        guard vm.disks.contains(where: { $0.bus == .scsi }),
            !devices.all("controller").contains(where: { $0["type"] == "scsi" })
        else { return }
        let c = XElement("controller", [("type", "scsi"), ("index", "0"), ("model", "virtio-scsi")])
        devices.insertAfterSiblings(c, fallback: devices.children.lastIndex { $0.name == "disk" }.map { $0 + 1 })
    }

    /// The `org.qemu.guest_agent.0` channel: added when `guest_agent: true` and missing, removed when
    /// `guest_agent: false`; left alone when the manifest does not say.
    static func patchGuestAgent(_ devices: inout XElement, vm: VMSpec, want: XElement) {
        guard let on = vm.guestAgent else { return }
        let isAgent = { (el: XElement) in
            el.name == "channel" && el.child("target")?["type"] == "virtio" && el.child("target")?["name"] == DomainMapping.guestAgentPort
        }
        let has = devices.children.contains(where: isAgent)
        if on && !has, let w = want.children.first(where: isAgent) {
            devices.insertAfterSiblings(
                w, fallback: devices.children.lastIndex { $0.name == "serial" || $0.name == "console" }.map { $0 + 1 })
        } else if !on && has {
            devices.children.removeAll(where: isAgent)
        }
    }

    // MARK: Interfaces

    static func mac(_ el: XElement) -> MACAddress? { el.child("mac")?["address"].flatMap(MACAddress.init(parsing:)) }

    static func patchInterfaces(_ devices: inout XElement, vm: VMSpec, fleetName: String, want: XElement) {
        for nic in vm.networks {
            guard let idx = devices.children.firstIndex(where: { $0.name == "interface" && mac($0) == nic.mac }) else {
                if let w = want.all("interface").first(where: { mac($0) == nic.mac }) {
                    devices.insertAfterSiblings(
                        w, fallback: devices.children.lastIndex { $0.name == "controller" || $0.name == "disk" }.map { $0 + 1 })
                }
                continue
            }
            var el = devices.children[idx]
            let before = el
            if el["type"] != "network" || el.child("source")?["network"] != nic.network {
                // Another source: the type-specific source goes, the MAC, model and address stay.
                el.set("type", "network")
                el.replaceOrInsert(XElement("source", [("network", nic.network)]), at: el.index(of: "mac").map { $0 + 1 } ?? 0)
            }
            if let m = el.child("model")?["type"], m != nic.model.rawValue {
                var model = el.child("model") ?? XElement("model")
                model.set("type", nic.model.rawValue)
                el.replaceOrInsert(model)
            }
            if el != before { devices.children[idx] = el }
        }
        // NICs fleet made (derived MACs) that the manifest no longer declares; the planner lists each.
        devices.children.removeAll { el in
            guard el.name == "interface", let m = mac(el) else { return false }
            return !vm.networks.contains { $0.mac == m } && DeviceOwnership.isDerivedMAC(m, fleet: fleetName, vm: vm.name)
        }
    }

    // MARK: Hostdevs

    static func kind(_ el: XElement) -> DeviceKind? {
        guard el.name == "hostdev", (el["mode"] ?? "subsystem") == "subsystem", let src = el.child("source") else { return nil }
        switch el["type"] {
        case "pci":
            guard let a = src.child("address"), let d: UInt16 = XMLNumber.parse(a["domain"] ?? "0"),
                let b: UInt8 = XMLNumber.parse(a["bus"]),
                let s: UInt8 = XMLNumber.parse(a["slot"]), let f: UInt8 = XMLNumber.parse(a["function"]), s <= 0x1f, f <= 7
            else { return nil }
            return .pci(PCIAddress(domain: d, bus: b, slot: s, function: f))
        case "usb":
            guard let v: UInt16 = XMLNumber.parse(src.child("vendor")?["id"]), let p: UInt16 = XMLNumber.parse(src.child("product")?["id"])
            else { return nil }
            return .usb(vendor: v, product: p)
        default:
            return nil
        }
    }

    static func patchHostdevs(_ devices: inout XElement, vm: VMSpec, fleet: Fleet) {
        let want = vm.hostdevs.map(\.kind)
        for k in want where !devices.children.contains(where: { kind($0) == k }) {
            devices.insertAfterSiblings(DomainMapping.hostdevValue(k).element())
        }
        // Devices this fleet declares that the VM no longer lists; any other hostdev (a device fleet does not
        // declare, or a kind it does not model: SCSI, mdev, USB by address) stays.
        devices.children.removeAll { el in kind(el).map { !want.contains($0) && DeviceOwnership.isDeclaredDevice($0, in: fleet) } ?? false }
    }

    // MARK: Shares

    /// Shares by target tag: a declared one is added or brought to its declared source, driver and access; a
    /// host-directory `<filesystem>` that `shares:` no longer lists goes. Without `shares:` nothing changes.
    static func patchShares(_ devices: inout XElement, vm: VMSpec) {
        guard let shares = vm.shares else { return }
        let isMount = { (el: XElement) in el.name == "filesystem" && (el["type"] ?? "mount") == "mount" }
        for s in shares {
            let want = DomainMapping.filesystemValue(s).element()
            if let idx = devices.children.firstIndex(where: { isMount($0) && $0.child("target")?["dir"] == s.target }) {
                let el = devices.children[idx]
                let have = DomainXML.Filesystem(
                    type: "mount", accessMode: el["accessmode"], driverType: el.child("driver")?["type"],
                    sourceDir: el.child("source")?["dir"], targetDir: s.target, readonly: el.child("readonly") != nil)
                // As the planner compares them: source, driver, read-only (a 9p share's access mode is kept).
                if DomainMapping.share(have) != s {
                    // Another driver is another device: libvirt assigns its address afresh.
                    devices.children[idx] = want
                }
            } else {
                devices.insertAfterSiblings(
                    want, fallback: devices.children.lastIndex { $0.name == "controller" || $0.name == "disk" }.map { $0 + 1 })
            }
        }
        let tags = Set(shares.map(\.target))
        devices.children.removeAll { isMount($0) && $0.child("source")?["dir"] != nil && !tags.contains($0.child("target")?["dir"] ?? "") }
    }

    // MARK: Graphics

    static func patchGraphics(_ devices: inout XElement, vm: VMSpec, want: XElement) {
        guard let g = vm.graphics, let w = want.child("graphics") else { return }
        let listen = { (el: XElement) in
            el["listen"] ?? el.all("listen").first { ($0["type"] ?? "address") == "address" }?["address"]
                ?? (el.all("listen").contains { $0["type"] == "none" } ? "none" : nil)
        }
        if let idx = devices.children.firstIndex(where: { $0.name == "graphics" && $0["type"] == g.type.rawValue }) {
            var el = devices.children[idx]
            let before = el
            let auto = XMLNumber.bool(el["autoport"]) ?? (el["port"] == nil || el["port"] == "-1")
            let port: Int? = auto ? nil : XMLNumber.parse(el["port"])
            if let p = g.port, port != p {
                el.set("port", String(p))
                el.set("autoport", "no")
            }
            if listen(el) != g.listen {
                el.removeAll("listen")
                if g.listen == "none" {
                    el.set("listen", nil)
                    el.children.insert(XElement("listen", [("type", "none")]), at: 0)
                } else {
                    el.set("listen", g.listen)
                    el.children.insert(XElement("listen", [("type", "address"), ("address", g.listen)]), at: 0)
                }
            }
            if let pw = w["passwd"], el["passwd"] != pw { el.set("passwd", pw) }
            if el != before { devices.children[idx] = el }
            return
        }
        // Another type (or none): the planner compared the first graphics device; it is the one replaced.
        if let idx = devices.index(of: "graphics") {
            devices.children[idx] = w
        } else {
            devices.insertAfterSiblings(w)
        }
        if !devices.all("input").contains(where: { $0["type"] == "tablet" }),
            let t = want.all("input").first(where: { $0["type"] == "tablet" })
        {
            devices.insertAfterSiblings(t, fallback: devices.index(of: "graphics"))
        }
    }
}
