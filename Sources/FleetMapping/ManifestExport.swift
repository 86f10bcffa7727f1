import FleetModel
import LibvirtXML

/// `fleet export`: manifests for objects that already exist on a host, written so that the planner sees each
/// exported object as equal to the live one (`fleet apply --adopt` then plans only the ownership marks).
/// Pure: the live state and the domains' persistent XML come in, YAML text goes out.
///
/// What a manifest cannot say is never guessed: a disk that is not a pool volume, a NIC on something other than a
/// libvirt network, a hostdev fleet cannot declare, and every element fleet does not model are named in a
/// `# kept as is, not managed by fleet:` comment. The patch rule (docs/planning.md) keeps them on every update.
public enum ManifestExport {
    /// One live host to export from: its name in the manifest, its state, and each domain's inactive XML by name.
    public struct Host: Sendable {
        public var spec: HostSpec
        public var live: LiveHost
        public var domainXML: [String: String]
        public init(spec: HostSpec, live: LiveHost, domainXML: [String: String] = [:]) {
            self.spec = spec
            self.live = live
            self.domainXML = domainXML
        }
    }

    /// Objects to export: `vm/NAME`, `network/NAME`, `pool/NAME`, `device/NAME`. Empty: everything fleet can
    /// export. A selected VM brings the pools, networks and devices it uses.
    public struct Selection: Sendable {
        public var refs: [(kind: ObjectKind, name: String)]
        public init(_ refs: [(kind: ObjectKind, name: String)] = []) { self.refs = refs }
        var isAll: Bool { refs.isEmpty }
        func has(_ kind: ObjectKind, _ name: String) -> Bool { refs.contains { $0.kind == kind && $0.name == name } }
    }

    public struct Result: Sendable {
        /// The manifest text.
        public var text: String
        /// Selected objects that were not found on any host (`vm/nope`).
        public var notFound: [String]
    }

    /// The manifest for `hosts`, as one YAML file starting with the schema line.
    public static func export(fleet: String, hosts: [Host], selection: Selection = Selection(), schema: String) -> Result {
        var e = Exporter(fleet: fleet, hosts: hosts, selection: selection)
        e.run()
        var out = "# yaml-language-server: $schema=\(schema)\n"
        out +=
            "# Written by fleet export from the live state of \(hosts.map { "\($0.spec.name) (\($0.spec.uri))" }.joined(separator: ", ")).\n"
        out += "# `fleet apply --adopt` takes these objects under fleet \(fleet) without changing them.\n"
        out += "fleet: \(ExportYAML.scalar(fleet))\n\nhosts:\n"
        for h in hosts { out += "  \(ExportYAML.key(h.spec.name)): {uri: \(ExportYAML.quoted(h.spec.uri))}\n" }
        for (title, body) in [("pools", e.pools), ("networks", e.networks), ("images", e.images), ("devices", e.devices), ("vms", e.vms)]
        where !body.isEmpty {
            out += "\n\(title):\n" + body
        }
        if !e.skipped.isEmpty {
            out += "\n# Not exported:\n" + e.skipped.map { "#   \($0)\n" }.joined()
        }
        return Result(text: out, notFound: e.notFound)
    }

    /// The elements of a domain's XML fleet does not model, as the comment names them: `floppy fda`,
    /// `controller scsi virtio-scsi`, `channel org.qemu.guest_agent.0`, `watchdog`, `rng`. `managed` lists the
    /// device elements the export declares (disks by target, interfaces by MAC, graphics by type, hostdev count).
    static func unmanagedElements(_ xml: String, managed: Managed) -> (devices: [String], other: [String]) {
        guard let root = try? XElement.parse(xml) else { return ([], []) }
        var devices: [String] = []
        var graphicsSeen = false
        var tpmSeen = false
        for d in root.child("devices")?.children ?? [] {
            switch d.name {
            case "emulator": continue
            case "disk":
                let target = d.child("target")?["dev"] ?? "?"
                if managed.disks.contains(target) { continue }
                let device = d["device"] ?? "disk"
                let src = d.child("source")
                let what =
                    src?["file"] ?? src?["dev"] ?? src?["dir"] ?? src.flatMap { s in s["volume"].map { "\(s["pool"] ?? "?")/\($0)" } }
                    ?? src.flatMap { s in s["protocol"].map { "\($0) \(s["name"] ?? "")" } }
                devices.append("\(device) \(target)" + (what.map { " (\($0))" } ?? ""))
            case "interface":
                let mac = d.child("mac")?["address"]
                if let mac, managed.macs.contains(mac.lowercased()) { continue }
                devices.append("interface \(d["type"] ?? "?")" + (mac.map { " \($0)" } ?? ""))
            case "graphics":
                if !graphicsSeen, managed.graphics == d["type"] {
                    graphicsSeen = true
                    continue
                }
                devices.append("graphics \(d["type"] ?? "?")")
            case "hostdev":
                let src = d.child("source")
                if d["mode"] ?? "subsystem" == "subsystem", let k = hostdevKind(d["type"], src), managed.hostdevs.contains(k) { continue }
                devices.append(
                    "hostdev \(d["type"] ?? "?")"
                        + (hostdevKind(d["type"], src).map { " \(String($0.description.split(separator: " ").last ?? ""))" } ?? ""))
            case "controller":
                devices.append(["controller", d["type"], d["model"]].compactMap { $0 }.joined(separator: " "))
            case "channel":
                devices.append("channel " + (d.child("target")?["name"] ?? d["type"] ?? "?"))
            case "console", "serial", "parallel":
                devices.append("\(d.name) \(d["type"] ?? "")".trimmedXMLSpace())
            case "input":
                devices.append("input \(d["type"] ?? "") \(d["bus"] ?? "")".trimmedXMLSpace())
            case "video":
                devices.append("video " + (d.child("model")?["type"] ?? ""))
            case "tpm" where managed.tpm && !tpmSeen:
                tpmSeen = true  // the first TPM is the one `tpm:` declares
                continue
            case "memballoon", "rng", "sound", "tpm", "watchdog", "filesystem", "redirdev", "smartcard", "hub", "panic",
                "shmem", "memory", "iommu", "vsock", "audio", "lease", "crypto", "redirfilter":
                devices.append(d.name + ((d["model"]).map { " \($0)" } ?? ""))
            default:
                devices.append(d.name)
            }
        }
        // Repeated names are counted once: `hostdev scsi (×6)`.
        var counted: [String] = []
        var counts: [String: Int] = [:]
        for d in devices {
            if counts[d] == nil { counted.append(d) }
            counts[d, default: 0] += 1
        }
        devices = counted.map { counts[$0, default: 1] > 1 ? "\($0) (×\(counts[$0, default: 1]))" : $0 }
        // Top-level elements fleet writes itself; every other one is kept.
        // (<metadata> holds fleet's mark beside other applications' entries, which are kept.)
        let fleetOwned: Set = ["name", "uuid", "memory", "currentMemory", "vcpu", "os", "devices", "description", "metadata"]
        var other: [String] = []
        // Under <os> fleet writes the type (machine) and the firmware; boot order, kernel, SMBIOS and the rest are kept.
        let osOwned = ["type", "loader", "nvram"] + (managed.firmwareFeatures ? ["firmware"] : [])
        for c in root.child("os")?.children ?? [] where !osOwned.contains(c.name) && !other.contains("os/\(c.name)") {
            other.append("os/\(c.name)")
        }
        for c in root.children where !fleetOwned.contains(c.name) && !other.contains(c.name) {
            other.append(c.prefix.isEmpty ? c.name : "\(c.prefix):\(c.localName)")
        }
        return (devices, other)
    }

    /// The `tpm:` a live TPM is: an emulator of a model and version fleet declares; nil for any other.
    static func tpmSpec(_ t: LiveTPM) -> TPMSpec? {
        for m in TPMModel.allCases {
            for v in TPMVersion.allCases where !(m == .crb && v == .tpm12) {
                let spec = TPMSpec(model: m, version: v)
                if t.matches(spec) { return spec }
            }
        }
        return nil
    }

    static func hostdevKind(_ type: String?, _ src: XElement?) -> DeviceKind? {
        guard let src else { return nil }
        switch type {
        case "pci":
            guard let a = src.child("address"), let dom = XMLNumber.parse(a["domain"] ?? "0", as: UInt16.self),
                let bus = XMLNumber.parse(a["bus"], as: UInt8.self), let slot = XMLNumber.parse(a["slot"], as: UInt8.self),
                let fn = XMLNumber.parse(a["function"], as: UInt8.self),
                let addr = PCIAddress(parsing: "\(exportHex(dom, 4)):\(exportHex(bus, 2)):\(exportHex(slot, 2)).\(fn)")
            else { return nil }
            return .pci(addr)
        case "usb":
            guard let v = XMLNumber.parse(src.child("vendor")?["id"], as: UInt16.self),
                let p = XMLNumber.parse(src.child("product")?["id"], as: UInt16.self)
            else { return nil }
            return .usb(vendor: v, product: p)
        default: return nil
        }
    }

    struct Managed {
        var disks: Set<String> = []
        var macs: Set<String> = []
        var graphics: String?
        var hostdevs: [DeviceKind] = []
        /// The first `<tpm>`, declared as `tpm:`.
        var tpm = false
        /// `<os><firmware>`, declared under `firmware:`.
        var firmwareFeatures = false
    }
}

/// YAML scalars: plain when unambiguous, else double-quoted with JSON escapes (a YAML subset).
enum ExportYAML {
    static let keywords: Set = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]

    static func scalar(_ s: String) -> String {
        let plain =
            !s.isEmpty
            && s.unicodeScalars.allSatisfy { c in
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_" || c == "." || c == "/"
            } && s.first.map { $0.isLetter || $0 == "/" } == true && !keywords.contains(s.lowercased())
        return plain ? s : quoted(s)
    }

    static func key(_ s: String) -> String { scalar(s) }

    /// `# text` lines of at most about 110 characters, broken after commas (long device lists stay readable).
    static func comment(_ text: String, indent: String, width: Int = 110) -> String {
        var lines: [String] = []
        var line = ""
        for part in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !line.isEmpty && indent.count + 2 + line.count + 1 + part.count > width && line.hasSuffix(",") {
                lines.append(line)
                line = "  " + part
            } else {
                line += (line.isEmpty ? "" : " ") + part
            }
        }
        lines.append(line)
        return lines.map { "\(indent)# \($0)\n" }.joined()
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7f {
                    let h = String(c.value, radix: 16)
                    out += "\\x" + String(repeating: "0", count: 2 - h.count) + h
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

private struct Exporter {
    let fleet: String
    let hosts: [ManifestExport.Host]
    let selection: ManifestExport.Selection
    var pools = "", networks = "", images = "", devices = "", vms = ""
    /// Images recognised as the backing volumes of exported disks, by name: pool, volume, path, format, hosts.
    var imageEntries: [(name: String, pool: String, volume: String, path: String, format: DiskFormat, hosts: [String])] = []
    var skipped: [String] = []
    var notFound: [String] = []
    /// What one manifest may give only once: MACs, graphics ports per host, volumes per host.
    var usedMACs: [MACAddress: String] = [:]
    var usedPorts: [String: String] = [:]
    var usedVolumes: [String: String] = [:]

    init(fleet: String, hosts: [ManifestExport.Host], selection: ManifestExport.Selection) {
        self.fleet = fleet
        self.hosts = hosts
        self.selection = selection
    }

    var multiHost: Bool { hosts.count > 1 }

    func hostsLine(_ names: [String]) -> String {
        multiHost ? "    hosts: [\(names.map(ExportYAML.scalar).joined(separator: ", "))]\n" : ""
    }

    /// Whether a live object with this mark may be exported: unmanaged only (an owned one is already in a manifest).
    func markNote(_ mark: OwnerMark?) -> String? {
        mark.map { "managed by fleet \($0.fleet) already" }
    }

    mutating func run() {
        var wantPools: Set<String> = []
        var wantNets: Set<String> = []
        var exportedVMs: [(host: ManifestExport.Host, dom: LiveDomain)] = []
        // VMs first: they say which pools and networks a selection needs.
        var seenVM: Set<String> = []
        for h in hosts {
            for d in h.live.domains where selection.isAll || selection.has(.vm, d.name) {
                if let note = markNote(d.owner) {
                    skipped.append("vm \(d.name) on \(h.spec.name): \(note)")
                    continue
                }
                guard seenVM.insert(d.name).inserted else {
                    skipped.append("vm \(d.name) on \(h.spec.name): the name is taken by a VM on another host")
                    continue
                }
                exportedVMs.append((h, d))
            }
        }
        // Pools and networks, by name; the same name on several hosts is one object if it reads the same everywhere.
        var poolSpecs: [String: (LivePool, [String])] = [:]
        var poolOrder: [String] = []
        var netSpecs: [String: (LiveNetwork, [String])] = [:]
        var netOrder: [String] = []
        for h in hosts {
            for p in h.live.pools {
                guard let note = poolProblem(p) else {
                    if var e = poolSpecs[p.name] {
                        if e.0.spec.type == p.spec.type && e.0.spec.path == p.spec.path {
                            e.1.append(h.spec.name)
                            poolSpecs[p.name] = e
                        } else {
                            skipped.append("pool \(p.name) on \(h.spec.name): differs from pool \(p.name) on \(e.1[0])")
                        }
                    } else {
                        poolSpecs[p.name] = (p, [h.spec.name])
                        poolOrder.append(p.name)
                    }
                    continue
                }
                if selection.isAll || selection.has(.pool, p.name) { skipped.append("pool \(p.name) on \(h.spec.name): \(note)") }
            }
            for n in h.live.networks {
                guard let note = networkProblem(n) else {
                    if var e = netSpecs[n.name] {
                        if e.0.spec == n.spec {
                            e.1.append(h.spec.name)
                            netSpecs[n.name] = e
                        } else {
                            skipped.append("network \(n.name) on \(h.spec.name): differs from network \(n.name) on \(e.1[0])")
                        }
                    } else {
                        netSpecs[n.name] = (n, [h.spec.name])
                        netOrder.append(n.name)
                    }
                    continue
                }
                if selection.isAll || selection.has(.network, n.name) { skipped.append("network \(n.name) on \(h.spec.name): \(note)") }
            }
        }

        // VMs.
        var deviceEntries: [(name: String, host: String, kind: DeviceKind)] = []
        var leasesByNetwork: [String: [DHCPLease]] = [:]
        for (h, d) in exportedVMs {
            if let vm = vmText(
                h, d, pools: poolSpecs, networks: netSpecs, devices: &deviceEntries,
                usedPools: &wantPools, usedNets: &wantNets, leases: &leasesByNetwork)
            {
                vms += vm
            }
        }
        for name in poolOrder where selection.isAll || selection.has(.pool, name) || wantPools.contains(name) {
            guard let (lp, on) = poolSpecs[name] else { continue }
            pools += poolText(lp, hosts: on)
        }
        for name in netOrder where selection.isAll || selection.has(.network, name) || wantNets.contains(name) {
            guard let (n, on) = netSpecs[name] else { continue }
            networks += networkText(n, hosts: on, leases: leasesByNetwork[name] ?? [])
        }
        for img in imageEntries {
            images +=
                "  # source: the volume's path on \(img.hosts.joined(separator: ", ")); fleet reads it only to upload the image to a host that lacks it\n"
            images +=
                "  \(ExportYAML.key(img.name)): {source: \(ExportYAML.quoted(img.path)), format: \(img.format.rawValue), pool: \(ExportYAML.scalar(img.pool))"
                + (multiHost ? ", hosts: [\(img.hosts.map(ExportYAML.scalar).joined(separator: ", "))]" : "") + "}\n"
        }
        for dev in deviceEntries {
            devices += "  \(ExportYAML.key(dev.name)): " + deviceText(dev.kind, host: dev.host) + "\n"
        }
        for r in selection.refs {
            let found: Bool
            switch r.kind {
            case .vm: found = hosts.contains { $0.live.domains.contains { $0.name == r.name } }
            case .pool: found = hosts.contains { $0.live.pools.contains { $0.name == r.name } }
            case .network: found = hosts.contains { $0.live.networks.contains { $0.name == r.name } }
            case .device: found = deviceEntries.contains { $0.name == r.name }
            default: found = false
            }
            if !found { notFound.append("\(r.kind.rawValue)/\(r.name)") }
        }
    }

    /// The image name of the backing file `path` on host `h`: a volume of an exported pool, fleet's format, unowned, named
    /// `<name>.<ext>` as `ImageSpec.volumeName` names an image without a checksum. Recorded once per name.
    mutating func recogniseImage(
        _ path: String, host h: ManifestExport.Host, pools: [String: (LivePool, [String])],
        usedPools: inout Set<String>
    ) -> String? {
        guard let bv = h.live.volumes.first(where: { $0.path == path }), bv.owner == nil, bv.backingPath == nil,
            let (_, poolHosts) = pools[bv.pool], poolHosts.contains(h.spec.name),
            let format = bv.format.map(DiskFormat.init(libvirt:)), format.isManaged,
            bv.name.hasSuffix("." + format.fileExtension)
        else { return nil }
        let name = String(bv.name.dropLast(format.fileExtension.count + 1))
        guard ObjectName.isValid(name), ImageSpec(name: name, source: path, format: format, pool: bv.pool).volumeName == bv.name else {
            return nil
        }
        if let i = imageEntries.firstIndex(where: { $0.name == name }) {
            let e = imageEntries[i]
            guard e.pool == bv.pool, e.volume == bv.name, e.format == format else { return nil }
            if !e.hosts.contains(h.spec.name) { imageEntries[i].hosts.append(h.spec.name) }
        } else {
            imageEntries.append((name, bv.pool, bv.name, path, format, [h.spec.name]))
        }
        usedPools.insert(bv.pool)
        return name
    }

    func poolProblem(_ p: LivePool) -> String? {
        if let n = markNote(p.owner) { return n }
        if !p.spec.type.isManaged { return "a \(p.spec.type.rawValue) pool (fleet manages dir, logical and netfs pools)" }
        if !ObjectName.isValid(p.name) { return "its name is not one fleet accepts" }
        if p.spec.path == nil { return "it has no target path" }
        if p.spec.type == .netfs && (p.spec.sourceHost == nil || p.spec.sourceDir == nil) { return "its NFS source is incomplete" }
        return nil
    }

    func networkProblem(_ n: LiveNetwork) -> String? {
        if let note = markNote(n.owner) { return note }
        if !n.spec.mode.isManaged {
            return "forwards in \(n.spec.mode.rawValue) mode (fleet manages nat, bridge, isolated and route networks)"
        }
        if !ObjectName.isValid(n.name) { return "its name is not one fleet accepts" }
        if (n.spec.mode == .nat || n.spec.mode == .route) && n.spec.subnet == nil {
            return "a \(n.spec.mode.rawValue) network without an IPv4 subnet"
        }
        if n.spec.mode == .bridge && n.spec.bridge == nil { return "a bridge network without a bridge" }
        return nil
    }

    func poolText(_ lp: LivePool, hosts on: [String]) -> String {
        let p = lp.spec
        var s = "  \(ExportYAML.key(p.name)):\n    type: \(p.type.rawValue)\n"
        if let path = p.path { s += "    path: \(ExportYAML.quoted(path))\n" }
        switch p.type {
        case .logical:
            var src: [String] = []
            if !p.sourceDevices.isEmpty { src.append("devices: [\(p.sourceDevices.map(ExportYAML.quoted).joined(separator: ", "))]") }
            if let vg = p.volumeGroup { src.append("vg: \(ExportYAML.scalar(vg))") }
            if !src.isEmpty { s += "    source: {\(src.joined(separator: ", "))}\n" }
        case .netfs:
            s += "    source: {host: \(ExportYAML.quoted(p.sourceHost ?? "")), dir: \(ExportYAML.quoted(p.sourceDir ?? ""))}\n"
        default: break
        }
        s += "    autostart: \(lp.autostart)\n"
        s += hostsLine(on)
        if !lp.active { s = "  # inactive now: adopting it plans to build and start it\n" + s }
        return s
    }

    func networkText(_ n: LiveNetwork, hosts on: [String], leases: [DHCPLease]) -> String {
        let spec = n.spec
        var s = "  \(ExportYAML.key(n.name)):\n    mode: \(spec.mode.rawValue)\n"
        if let b = spec.bridge { s += "    bridge: \(ExportYAML.scalar(b))\n" }
        if spec.mode != .bridge, let sub = spec.subnet {
            s += "    subnet: \(sub)\n"
            if let g = spec.gateway, g != sub.firstHost { s += "    gateway: \(g)\n" }
        }
        let declared = Set(leases)
        let orphan = spec.leases.filter { !declared.contains($0) }.sorted()
        if let d = spec.dhcp {
            if orphan.isEmpty {
                s += "    dhcp: {range: [\(d.start), \(d.end)]}\n"
            } else {
                // Leases no exported VM NIC declares (ip:) are declared on the network.
                s += "    dhcp:\n      range: [\(d.start), \(d.end)]\n      hosts:\n"
                for l in orphan { s += "        - {mac: \"\(l.mac)\", ip: \(l.ip), name: \(ExportYAML.scalar(l.name))}\n" }
            }
        }
        if let d = spec.domain { s += "    domain: \(ExportYAML.scalar(d))\n" }
        if let m = spec.mtu { s += "    mtu: \(m)\n" }
        s += "    autostart: \(n.autostart)\n"
        s += hostsLine(on)
        var notes: [String] = []
        if !n.active { notes.append("inactive now: adopting it plans to start it") }
        if spec.dhcp == nil && !orphan.isEmpty {
            // A static lease is declared by the NIC (ip:) of the VM it is named after; others cannot be written.
            notes.append(
                "WARNING: DHCP host\(orphan.count == 1 ? "" : "s") \(orphan.map { "\($0.name) \($0.mac) \($0.ip)" }.joined(separator: ", ")) "
                    + "cannot be declared without a DHCP range (dhcp: needs range:); fleet apply would remove \(orphan.count == 1 ? "it" : "them")"
            )
        }
        let other = n.forwardDevices
        if !other.isEmpty { notes.append("kept as is, not managed by fleet: forward devices \(other.joined(separator: ", "))") }
        return notes.map { ExportYAML.comment($0, indent: "  ") }.joined() + s
    }

    func deviceText(_ k: DeviceKind, host: String) -> String {
        let hostPart = multiHost ? "host: \(ExportYAML.scalar(host)), " : ""
        switch k {
        case .pci(let a): return "{\(hostPart)type: pci, address: \"\(a)\"}"
        case .usb(let v, let p):
            return "{\(hostPart)type: usb, vendor: \"\(XMLNumber.hex(v, width: 4))\", product: \"\(XMLNumber.hex(p, width: 4))\"}"
        }
    }

    static func deviceName(_ k: DeviceKind) -> String {
        switch k {
        case .pci(let a): return "pci-" + a.description.replacingAll(":", "-").replacingAll(".", "-")
        case .usb(let v, let p): return "usb-\(exportHex(v, 4))-\(exportHex(p, 4))"
        }
    }

    mutating func vmText(
        _ h: ManifestExport.Host, _ d: LiveDomain, pools: [String: (LivePool, [String])],
        networks: [String: (LiveNetwork, [String])], devices: inout [(name: String, host: String, kind: DeviceKind)],
        usedPools: inout Set<String>, usedNets: inout Set<String>, leases: inout [String: [DHCPLease]]
    ) -> String? {
        let cfg = d.config
        guard ObjectName.isValid(d.name) else {
            skipped.append("vm \(d.name): its name is not one fleet accepts")
            return nil
        }
        guard d.persistent else {
            skipped.append("vm \(d.name): a transient domain (no persistent definition to adopt)")
            return nil
        }
        let virt: VirtType?
        switch cfg.virtType {
        case "kvm": virt = .kvm
        case "qemu": virt = .qemu
        case "test": virt = nil
        default:
            skipped.append("vm \(d.name): a \(cfg.virtType) domain (fleet manages kvm and qemu)")
            return nil
        }
        guard cfg.memory >= ByteSize.minimumMemory else {
            skipped.append("vm \(d.name): less than 1MiB of memory")
            return nil
        }
        var managed = ManifestExport.Managed()
        var notes: [String] = []
        var s = "  \(ExportYAML.key(d.name)):\n"
        if multiHost { s += "    host: \(ExportYAML.scalar(h.spec.name))\n" }
        if let v = virt { s += "    virt_type: \(v.rawValue)\n" }
        if let m = cfg.machine { s += "    machine: \(ExportYAML.scalar(m))\n" }
        // bios is what the planner assumes for a domain that names no firmware: only uefi is worth saying.
        if cfg.firmware == .uefi {
            // Secure boot only where the manifest may declare it (q35): elsewhere the loader rule would refuse it.
            let secure = MachineType.supportsSecureBoot(cfg.machine) ? cfg.secureBoot : nil
            let keys = secure == true ? cfg.enrolledKeys : nil
            if secure == nil && keys == nil {
                s += "    firmware: uefi\n"
            } else {
                s += "    firmware: {type: uefi"
                if let secure { s += ", secure_boot: \(secure)" }
                if let keys { s += ", enrolled_keys: \(keys)" }
                s += "}\n"
                managed.firmwareFeatures = true
            }
        }
        if let t = cfg.tpm, let spec = ManifestExport.tpmSpec(t) {
            s += "    tpm: {model: \(spec.model.rawValue), version: \"\(spec.version.rawValue)\"}\n"
            managed.tpm = true
        }
        s += "    vcpus: \(cfg.vcpus)\n"
        if cfg.maxVcpus != cfg.vcpus { s += "    max_vcpus: \(cfg.maxVcpus)\n" }
        s += "    memory: \(cfg.memory)\n"
        if cfg.maxMemory != cfg.memory { s += "    max_memory: \(cfg.maxMemory)\n" }

        // Disks: pool volumes fleet can name (pool exported, volume listed, format and bus ones fleet writes).
        var disks: [String] = []
        for disk in cfg.disks where disk.device == .disk {
            guard let pool = disk.pool, let vol = disk.volume, let (_, poolHosts) = pools[pool], poolHosts.contains(h.spec.name),
                let lv = h.live.volumes.first(where: { $0.pool == pool && $0.name == vol }), ObjectName.isValidVolume(vol),
                ObjectName.isValid(disk.target)
            else { continue }
            if let o = lv.owner {
                notes.append("disk \(disk.target): its volume is managed by fleet \(o.fleet)")
                continue
            }
            let slot = "\(h.spec.name)/\(pool)/\(vol)"
            if let other = usedVolumes[slot] {
                notes.append("disk \(disk.target): volume \(pool)/\(vol) is also a disk of vm \(other)")
                continue
            }
            let format = lv.format.map(DiskFormat.init(libvirt:)) ?? disk.format
            guard let format, format.isManaged, disk.format.map({ $0 == format }) ?? true else { continue }
            if let b = disk.bus, !b.isManaged { continue }
            var fields = [
                "name: \(ExportYAML.scalar(disk.target))", "pool: \(ExportYAML.scalar(pool))", "volume: \(ExportYAML.scalar(vol))",
                "size: \(lv.capacity)", "format: \(format.rawValue)"
            ]
            if let b = disk.bus { fields.append("bus: \(b.rawValue)") }
            if let backing = lv.backingPath {
                // An overlay on a volume named as fleet names images (`<name>.qcow2`, `<name>.img`) is a disk made from that image.
                if let image = recogniseImage(backing, host: h, pools: pools, usedPools: &usedPools) {
                    fields.insert("image: \(ExportYAML.scalar(image))", at: 1)
                } else {
                    notes.append(
                        "disk \(disk.target) is backed by \(backing), not a pool volume named as fleet names images (<name>.qcow2, <name>.img)"
                    )
                }
            }
            disks.append("      - {\(fields.joined(separator: ", "))}\n")
            managed.disks.insert(disk.target)
            usedVolumes[slot] = d.name
            usedPools.insert(pool)
        }
        if !disks.isEmpty { s += "    disks:\n" + disks.joined() }
        if let cd = cfg.disks.first(where: { $0.device == .cdrom }), cd.type == "file", let path = cd.path, cd.volume == nil {
            s += "    cdrom: \(ExportYAML.quoted(path))\n"
            managed.disks.insert(cd.target)
        }

        // NICs on libvirt networks fleet exports, with their MAC (a static lease named after the VM becomes ip:).
        var nics: [String] = []
        for nic in cfg.nics {
            guard case .network(let net) = nic.source, let mac = nic.mac, let (ln, netHosts) = networks[net], netHosts.contains(h.spec.name)
            else { continue }
            if let m = nic.model, NICModel(rawValue: m) == nil { continue }
            if let other = usedMACs[mac] {
                notes.append("interface \(mac): the MAC is also used by vm \(other)")
                continue
            }
            var fields = ["network: \(ExportYAML.scalar(net))"]
            if let m = nic.model { fields.append("model: \(m)") }
            fields.append("mac: \"\(mac)\"")
            if let lease = ln.spec.leases.first(where: { $0.mac == mac && $0.name == d.name }),
                !(leases[net] ?? []).contains(where: { $0.ip == lease.ip })
            {
                fields.append("ip: \(lease.ip)")
                leases[net, default: []].append(lease)
            }
            nics.append("      - {\(fields.joined(separator: ", "))}\n")
            managed.macs.insert(mac.description.lowercased())
            usedMACs[mac] = d.name
            usedNets.insert(net)
        }
        if !nics.isEmpty { s += "    networks:\n" + nics.joined() }

        // Graphics: the first console, when fleet can say it (type it writes, a listen address, no password).
        if let g = cfg.graphics.first, let type = GraphicsType(rawValue: g.type), let listen = g.listen, GraphicsSpec.isValidListen(listen)
        {
            if let port = g.port, let other = usedPorts["\(h.spec.name)/\(port)"] {
                notes.append("graphics \(g.type) port \(port) is also the port of vm \(other)")
            } else if g.hasPassword {
                notes.append("graphics \(g.type) has a password: declare it (password: {file: …} or {env: …}) to manage the console")
            } else {
                s +=
                    "    graphics: {type: \(type.rawValue), listen: \(ExportYAML.quoted(listen))" + (g.port.map { ", port: \($0)" } ?? "")
                    + "}\n"
                managed.graphics = g.type
                if let port = g.port { usedPorts["\(h.spec.name)/\(port)"] = d.name }
            }
        }

        // Hostdevs fleet can declare (PCI by address, USB by vendor/product) that are present on the host.
        var hostdevNames: [String] = []
        for k in cfg.hostdevs {
            if let present = h.live.nodeDevices, !present.contains(k) {
                notes.append("hostdev \(k) is not present on host \(h.spec.name), so it cannot be declared")
                continue
            }
            let name = Self.deviceName(k) + (multiHost ? "-\(h.spec.name)" : "")
            if devices.contains(where: { $0.name == name }) {
                notes.append("hostdev \(k) is also passed through to another exported VM")
                continue
            }
            devices.append((name, h.spec.name, k))
            hostdevNames.append(name)
            managed.hostdevs.append(k)
        }
        if !hostdevNames.isEmpty { s += "    hostdevs: [\(hostdevNames.map(ExportYAML.scalar).joined(separator: ", "))]\n" }
        s += "    autostart: \(d.autostart)\n"
        s += "    state: \(d.state.isActive ? "running" : "stopped")\n"

        if let xml = h.domainXML[d.name] {
            let (devs, other) = ManifestExport.unmanagedElements(xml, managed: managed)
            if !devs.isEmpty { notes.append("kept as is, not managed by fleet: \(devs.joined(separator: ", "))") }
            if !other.isEmpty { notes.append("also kept: \(other.joined(separator: ", "))") }
        }
        return notes.map { ExportYAML.comment($0, indent: "  ") }.joined() + s
    }
}

/// Lower-case hex without a prefix, zero-padded: `hex(0x3b, 2)` is `3b`.
private func exportHex<T: FixedWidthInteger>(_ v: T, _ width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

extension String {
    fileprivate func replacingAll(_ a: Character, _ b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
