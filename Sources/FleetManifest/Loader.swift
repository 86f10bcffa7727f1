import FleetModel
import Foundation
import Yams

/// Where each named object of a loaded manifest was defined.
public struct SourceMap: Sendable {
    var objects: [ObjectKind: [String: SourceLocation]] = [:]
    var hosts: [String: SourceLocation] = [:]
    public init() {}

    /// For VMs both the manifest key (`web`) and the expanded names (`web-1`) resolve.
    public func location(of kind: ObjectKind, _ name: String) -> SourceLocation? { objects[kind]?[name] }
    public func location(ofHost name: String) -> SourceLocation? { hosts[name] }

    mutating func record(_ kind: ObjectKind, _ name: String, _ loc: SourceLocation) {
        objects[kind, default: [:]][name] = loc
    }
}

public struct ManifestLoadResult: Sendable {
    /// nil when any diagnostic is an error.
    public var fleet: Fleet?
    /// Sorted by file, line, column, message.
    public var diagnostics: [Diagnostic]
    public var sourceMap: SourceMap
    /// The manifest files read, in load order, as diagnostics name them.
    public var files: [String]
}

/// Loads manifest directories and files into a `Fleet`. Offline: reads local files only.
public struct ManifestLoader {
    public static let maxFileSize: Int64 = 100 << 20
    public init() {}

    public func load(paths: [String]) -> ManifestLoadResult {
        let session = DecodeSession()
        var loader = Assembly(session: session)
        let files = manifestFiles(paths.isEmpty ? ["."] : paths, session: session)
        var unparsed = false
        for f in files {
            session.diagnostics += f.parsed.diagnostics
            if f.parsed.diagnostics.hasErrors { unparsed = true }
            for doc in f.parsed.documents where !session.exhausted {
                loader.add(document: doc, file: f.context)
            }
        }
        var fleet: Fleet?
        if !session.exhausted {
            // A file that did not parse may hold the fleet: name; its errors are reported instead.
            let missingNameAt =
                unparsed
                ? nil
                : (loader.firstDocument
                    ?? files.first.map {
                        SourceLocation(file: $0.context.display, line: 1, column: 1)
                    })
            fleet = loader.assemble(missingNameAt: missingNameAt)
        }
        let diagnostics = Array(Set(session.diagnostics)).sorted()
        if diagnostics.hasErrors { fleet = nil }
        return ManifestLoadResult(
            fleet: fleet, diagnostics: diagnostics, sourceMap: loader.sourceMap,
            files: files.map(\.context.display))
    }

    /// A candidate file, read and parsed once.
    struct ReadFile {
        let absolute: String
        let context: FileContext
        /// Named on the command line: always a manifest.
        let explicit: Bool
        /// Index of the path argument that found it.
        let argument: Int
        var cloudConfig = false
        var parsed = YAMLSource.Result()
    }

    private func absolute(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: p).standardizedFileURL.path
    }

    /// The manifest files among `paths`, parsed, in load order. Directories are searched for `*.yaml` and
    /// `*.yml`; cloud-init documents and files copied into guests are often YAML kept beside the manifests,
    /// so a file found in a directory is data, not a manifest, when it starts with `#cloud-config` or when a
    /// parsed manifest names it in a data position (`DataReferences`). Files named on the command line are
    /// always manifests.
    private func manifestFiles(_ paths: [String], session: DecodeSession) -> [ReadFile] {
        var candidates = collectFiles(paths, session: session)
        for i in candidates.indices { read(&candidates[i], session: session) }
        // References count only from files that are manifests themselves: a data file naming another
        // file does not make it data.
        var references: [String: Set<String>] = [:]
        for f in candidates where !f.cloudConfig {
            var refs = Set<String>()
            for doc in f.parsed.documents { refs.formUnion(DataReferences.paths(in: doc, directory: f.context.directory)) }
            refs.remove(f.absolute)
            references[f.absolute] = refs
        }
        func named(by files: [ReadFile]) -> Set<String> {
            files.reduce(into: Set<String>()) { $0.formUnion(references[$1.absolute] ?? []) }
        }
        let firstPass = named(by: candidates)
        let data = named(by: candidates.filter { !firstPass.contains($0.absolute) })
        let manifests = candidates.filter { $0.explicit || (!$0.cloudConfig && !data.contains($0.absolute)) }
        for (i, path) in paths.enumerated() where !manifests.contains(where: { $0.argument == i }) {
            if isDirectory(absolute(path)) {
                session.error("\(path): no manifest files (*.yaml, *.yml) found", at: nil)
            }
        }
        return manifests
    }

    private func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    private func read(_ f: inout ReadFile, session: DecodeSession) {
        let at = SourceLocation(file: f.context.display, line: 1, column: 1)
        // A manifest is text written by people; refuse anything huge before reading it into memory.
        if let size = (try? FileManager.default.attributesOfItem(atPath: f.absolute))?[.size] as? NSNumber,
            size.int64Value > ManifestLoader.maxFileSize
        {
            f.parsed.diagnostics.append(.error("file is larger than \(ManifestLoader.maxFileSize >> 20) MiB; not a manifest", at: at))
            return
        }
        guard let data = FileManager.default.contents(atPath: f.absolute) else {
            f.parsed.diagnostics.append(.error("cannot read file", at: at))
            return
        }
        if !f.explicit, data.starts(with: Array("#cloud-config".utf8)) {
            f.cloudConfig = true
            return
        }
        f.parsed = YAMLSource.parse(data, file: f.context.display)
    }

    private func collectFiles(_ paths: [String], session: DecodeSession) -> [ReadFile] {
        var result: [ReadFile] = []
        var seen = Set<String>()
        func add(_ abs: String, display: String, explicit: Bool, argument: Int) {
            guard seen.insert(abs).inserted else { return }
            let dir = (abs as NSString).deletingLastPathComponent
            result.append(
                ReadFile(
                    absolute: abs, context: FileContext(display: display, directory: dir),
                    explicit: explicit, argument: argument))
        }
        for (index, path) in paths.enumerated() {
            let abs = absolute(path)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) else {
                session.error("\(path): no such file or directory", at: nil)
                continue
            }
            if !isDir.boolValue {
                add(abs, display: path, explicit: true, argument: index)
                continue
            }
            var found: [String] = []
            if let e = FileManager.default.enumerator(atPath: abs) {
                while let rel = e.nextObject() as? String {
                    // Hidden files and directories (.git, editor state) are never manifests.
                    if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                    if rel.hasSuffix(".yaml") || rel.hasSuffix(".yml") {
                        var d: ObjCBool = false
                        if FileManager.default.fileExists(atPath: abs + "/" + rel, isDirectory: &d), !d.boolValue { found.append(rel) }
                    }
                }
            }
            let prefix = (path == "." || path == "./") ? "" : (path.hasSuffix("/") ? path : path + "/")
            for rel in found.sorted() { add(abs + "/" + rel, display: prefix + rel, explicit: false, argument: index) }
        }
        return result
    }
}

struct Located<T> {
    var value: T
    var loc: SourceLocation
}

/// Collects every file's sections, then builds and checks the fleet.
struct Assembly {
    let session: DecodeSession
    var sourceMap = SourceMap()

    var fleetName: Located<String>?
    /// Where the first non-empty manifest document starts: where a missing `fleet:` is reported.
    var firstDocument: SourceLocation?
    /// A `fleet:` key was written (its value may be invalid, which is reported where it is).
    var fleetKeySeen = false
    var hosts: [String: Located<HostSpec>] = [:]
    var pools: [String: PoolDraft] = [:]
    var networks: [String: NetworkDraft] = [:]
    var images: [String: ImageDraft] = [:]
    var devices: [String: DeviceDraft] = [:]
    var profiles: [String: Located<Obj>] = [:]
    var vms: [String: Located<Obj>] = [:]
    var vmOrder: [String] = []
    /// The top-level `placement:` policy, where it was written.
    var placementPolicy: Located<PlacementPolicy>?

    init(session: DecodeSession) { self.session = session }

    struct PoolDraft {
        var spec: PoolSpec
        var loc: SourceLocation
        var hostRefs: [Located<String>]
    }
    struct NetworkDraft {
        var spec: NetworkSpec
        var loc: SourceLocation
        var hostRefs: [Located<String>]
    }
    struct ImageDraft {
        var spec: ImageSpec
        var loc: SourceLocation
        var poolRef: Located<String>?
        var hostRefs: [Located<String>]
    }
    struct DeviceDraft {
        var spec: DeviceSpec
        var loc: SourceLocation
        var hostRef: Located<String>?
    }

    // MARK: Reading files

    mutating func add(document: Node, file: FileContext) {
        if DecodeSession.isNull(document) { return }
        let root = session.root(document, file: file)
        if firstDocument == nil { firstDocument = root.loc }
        guard let top = session.object(root, Keys.root, what: "manifest") else { return }
        if top["fleet"] != nil { fleetKeySeen = true }
        if let v = top["fleet"], let name = session.name(v) {
            if let prev = fleetName, prev.value != name {
                session.error("fleet name \"\(name)\" conflicts with \"\(prev.value)\" defined at \(prev.loc)", at: v.loc)
            } else if fleetName == nil {
                fleetName = Located(value: name, loc: v.loc)
            }
        }
        if let pv = top["placement"] {
            if let prev = placementPolicy {
                session.error("placement: is already defined at \(prev.loc); declare it in one manifest file", at: pv.keyLoc)
            } else if let p = session.object(pv, Keys.placement, what: "placement") {
                var policy = PlacementPolicy()
                if let ov = p["overcommit"], let o = session.object(ov, Keys.overcommit, what: "placement overcommit") {
                    if let c = o["cpu"].flatMap({ session.ratio($0, max: Keys.overcommit.ratioMax("cpu")) }) { policy.cpuOvercommit = c }
                    if let m = o["memory"].flatMap({ session.ratio($0, max: Keys.overcommit.ratioMax("memory")) }) {
                        policy.memoryOvercommit = m
                    }
                }
                placementPolicy = Located(value: policy, loc: pv.keyLoc)
            }
        }
        for section in ["hosts", "pools", "networks", "images", "devices", "profiles", "vms"] {
            guard let v = top[section] else { continue }
            let kindWord = String(section.dropLast())
            for e in session.entries(v, what: section) where !session.exhausted {
                guard
                    session.name(Val(node: .scalar(.init(e.name)), file: file, label: "\(kindWord) name", loc: e.keyLoc, keyLoc: e.keyLoc))
                        != nil
                else { continue }
                if ["pools", "networks", "images", "vms"].contains(section), let prefix = ObjectName.reservedPrefix(of: e.name) {
                    session.error(
                        "\(kindWord) name: \"\(e.name)\" starts with \"\(prefix)\", which fleet reserves for its ledgers and locks",
                        at: e.keyLoc)
                }
                if let prev = definedAt(section, e.name) {
                    session.error("\(kindWord) \"\(e.name)\" is already defined at \(prev)", at: e.keyLoc)
                    continue
                }
                add(section: section, name: e.name, keyLoc: e.keyLoc, value: e.value)
            }
        }
    }

    private func definedAt(_ section: String, _ name: String) -> SourceLocation? {
        switch section {
        case "hosts": return hosts[name]?.loc
        case "pools": return pools[name]?.loc
        case "networks": return networks[name]?.loc
        case "images": return images[name]?.loc
        case "devices": return devices[name]?.loc
        case "profiles": return profiles[name]?.loc
        default: return vms[name]?.loc
        }
    }

    private mutating func add(section: String, name: String, keyLoc: SourceLocation, value: Val) {
        let what: String
        switch section {
        case "hosts": what = "host \"\(name)\""
        case "pools": what = "pool \"\(name)\""
        case "networks": what = "network \"\(name)\""
        case "images": what = "image \"\(name)\""
        case "devices": what = "device \"\(name)\""
        case "profiles": what = "profile \"\(name)\""
        default: what = "vm \"\(name)\""
        }
        let table: ObjectTable
        switch section {
        case "hosts": table = Keys.hosts
        case "pools": table = Keys.pool
        case "networks": table = Keys.network
        case "images": table = Keys.image
        case "devices": table = Keys.device
        case "profiles": table = Keys.profile
        default: table = Keys.vm
        }
        guard let o = session.object(value, table, what: what) else {
            // Still record the name so references to it do not cascade into more errors.
            recordPlaceholder(section: section, name: name, keyLoc: keyLoc)
            return
        }
        switch section {
        case "hosts":
            let uri = o["uri"].flatMap { session.nonEmpty($0) } ?? ""
            hosts[name] = Located(value: HostSpec(name: name, uri: uri), loc: keyLoc)
            sourceMap.hosts[name] = keyLoc
        case "pools":
            pools[name] = decodePool(name, o, loc: keyLoc)
            sourceMap.record(.pool, name, keyLoc)
        case "networks":
            networks[name] = decodeNetwork(name, o, loc: keyLoc)
            sourceMap.record(.network, name, keyLoc)
        case "images":
            images[name] = decodeImage(name, o, loc: keyLoc)
            sourceMap.record(.image, name, keyLoc)
        case "devices":
            devices[name] = decodeDevice(name, o, loc: keyLoc)
            sourceMap.record(.device, name, keyLoc)
        case "profiles":
            profiles[name] = Located(value: o, loc: keyLoc)
        default:
            vms[name] = Located(value: o, loc: keyLoc)
            vmOrder.append(name)
            sourceMap.record(.vm, name, keyLoc)
        }
    }

    private mutating func recordPlaceholder(section: String, name: String, keyLoc: SourceLocation) {
        let empty = Obj(fields: [:], loc: keyLoc, file: FileContext(display: keyLoc.file, directory: "/"))
        switch section {
        case "hosts": hosts[name] = Located(value: HostSpec(name: name, uri: ""), loc: keyLoc)
        case "pools": pools[name] = PoolDraft(spec: PoolSpec(name: name, type: .dir), loc: keyLoc, hostRefs: [])
        case "networks": networks[name] = NetworkDraft(spec: NetworkSpec(name: name, mode: .isolated), loc: keyLoc, hostRefs: [])
        case "images": images[name] = ImageDraft(spec: ImageSpec(name: name, source: "", pool: ""), loc: keyLoc, poolRef: nil, hostRefs: [])
        case "devices":
            devices[name] = DeviceDraft(
                spec: DeviceSpec(name: name, host: "", kind: .usb(vendor: 0, product: 0)), loc: keyLoc, hostRef: nil)
        case "profiles": profiles[name] = Located(value: empty, loc: keyLoc)
        default: vms[name] = nil
        }
    }

    private func nameList(_ v: Val?) -> [Located<String>]? {
        guard let v else { return nil }
        return (session.list(v) ?? []).compactMap { item in session.name(item).map { Located(value: $0, loc: item.loc) } }
    }

    // MARK: Sections

    private func decodePool(_ name: String, _ o: Obj, loc: SourceLocation) -> PoolDraft {
        let what = "pool \"\(name)\""
        let type = o["type"].flatMap { session.enumeration($0, PoolType.self) } ?? (o["type"] == nil ? .dir : nil)
        var spec = PoolSpec(name: name, type: type ?? .dir)
        spec.path = o["path"].flatMap { session.absolutePath($0) }
        spec.autostart = o["autostart"].flatMap { session.bool($0) }
        let hostRefs = nameList(o["hosts"])
        spec.hosts = hostRefs?.map(\.value)
        if let sv = o["source"], let src = session.object(sv, Keys.poolSource, what: "\(what) source") {
            if let d = src["devices"] { spec.sourceDevices = (session.list(d) ?? []).compactMap { session.absolutePath($0) } }
            spec.volumeGroup = src["vg"].flatMap { session.name($0) }
            spec.sourceHost = src["host"].flatMap { session.nonEmpty($0) }
            spec.sourceDir = src["dir"].flatMap { session.absolutePath($0) }
            if let type {
                let allowed: Set<String> = type == .logical ? ["devices", "vg"] : type == .netfs ? ["host", "dir"] : []
                for key in src.fields.keys.sorted() where !allowed.contains(key) {
                    session.error("\(what): source.\(key) does not apply to \(type.rawValue) pools", at: src.fields[key]!.keyLoc)
                }
            }
        }
        if let type {
            switch type {
            case .dir:
                if o["path"] == nil { session.error("\(what): a dir pool needs path:", at: o.loc) }
            case .logical:
                if spec.volumeGroup == nil { session.error("\(what): a logical pool needs source: {vg: NAME}", at: o.loc) }
            case .netfs:
                if o["path"] == nil { session.error("\(what): a netfs pool needs path: (the mount point)", at: o.loc) }
                if spec.sourceHost == nil || spec.sourceDir == nil {
                    session.error("\(what): a netfs pool needs source: {host: SERVER, dir: /EXPORT}", at: o.loc)
                }
            case .other:
                break  // unreachable: enumeration() accepts only the types fleet manages
            }
        }
        return PoolDraft(spec: spec, loc: loc, hostRefs: hostRefs ?? [])
    }

    private func decodeNetwork(_ name: String, _ o: Obj, loc: SourceLocation) -> NetworkDraft {
        let what = "network \"\(name)\""
        let mode = o["mode"].flatMap { session.enumeration($0, NetworkMode.self) }
        var spec = NetworkSpec(name: name, mode: mode ?? .isolated)
        if let b = o["bridge"], let s = session.scalar(b, expected: "a bridge name") {
            if ObjectName.isValidInterface(s) {
                spec.bridge = s
            } else {
                session.error(
                    "bridge: invalid interface name \"\(s.truncated(40))\": at most 15 characters, letters, digits, '-', '_', '.'",
                    at: b.loc)
            }
        }
        spec.subnet = o["subnet"].flatMap { session.subnet($0) }
        spec.gateway = o["gateway"].flatMap { session.ipv4($0) }
        if let dv = o["domain"], let d = session.nonEmpty(dv) {
            // libvirt writes the domain unescaped into dnsmasq's configuration and its saved XML.
            if DNSName.isValid(d) {
                spec.domain = d
            } else {
                session.error(
                    "domain: invalid DNS name \"\(d.truncated(60))\" (dot-separated labels of letters, digits and inner '-', each at most 63 characters)",
                    at: dv.loc)
            }
        }
        if let dv = o["dns"] {
            let servers = (session.list(dv) ?? []).compactMap { session.ipv4($0) }
            if let mode, mode != .bridge {
                session.error(
                    "dns: applies to bridge networks only (libvirt's dnsmasq serves DNS on \(mode.rawValue) networks)",
                    at: dv.keyLoc)
            } else {
                spec.dns = servers
            }
        }
        spec.mtu = o["mtu"].flatMap { session.int($0, Keys.network.range("mtu")) }
        spec.autostart = o["autostart"].flatMap { session.bool($0) }
        let hostRefs = nameList(o["hosts"])
        spec.hosts = hostRefs?.map(\.value)
        var rangeLoc: SourceLocation?
        if let dv = o["dhcp"], let d = session.object(dv, Keys.dhcp, what: "\(what) dhcp"), let rv = d["range"],
            let items = session.list(rv)
        {
            rangeLoc = rv.loc
            if items.count != 2 {
                session.error("range: expected [first, last], found \(items.count) addresses", at: rv.loc)
            } else {
                // Both ends are checked, so one bad address does not hide the other.
                let a = session.ipv4(items[0])
                let b = session.ipv4(items[1])
                if let a, let b { spec.dhcp = DHCPSpec(start: a, end: b) }
            }
        }
        // Static leases declared on the network itself (fleet export writes those no VM NIC accounts for).
        if let dv = o["dhcp"], let d = session.object(dv, Keys.dhcp, what: "\(what) dhcp"), let hv = d["hosts"] {
            for item in session.list(hv) ?? [] {
                guard let h = session.object(item, Keys.dhcpHost, what: item.label) else { continue }
                let mac = h["mac"].flatMap { session.mac($0) }
                let ip = h["ip"].flatMap { session.ipv4($0) }
                let hostName = h["name"].flatMap { session.nonEmpty($0) }
                guard let mac, let ip, let hostName else { continue }
                if let subnet = spec.subnet, !subnet.containsHost(ip) {
                    session.error("\(item.label).ip: \(ip) is not a host address of network \"\(name)\" (\(subnet))", at: h["ip"]!.loc)
                } else if ip == spec.effectiveGateway {
                    session.error("\(item.label).ip: \(ip) is the gateway of network \"\(name)\"", at: h["ip"]!.loc)
                } else if spec.leases.contains(where: { $0.ip == ip || $0.mac == mac }) {
                    session.error("\(item.label): another dhcp host of network \"\(name)\" has this mac or ip", at: item.loc)
                } else {
                    spec.leases.append(DHCPLease(mac: mac, name: hostName, ip: ip))
                }
            }
        }
        if let mode {
            switch mode {
            case .bridge:
                if o["bridge"] == nil { session.error("\(what): bridge mode needs bridge: (an existing host bridge)", at: o.loc) }
                for key in ["dhcp", "domain"] {
                    if let v = o[key] {
                        session.error("\(key): does not apply to bridge networks (the host's network provides addressing)", at: v.keyLoc)
                    }
                }
            case .nat, .route:
                if o["subnet"] == nil { session.error("\(what): \(mode.rawValue) mode needs subnet:", at: o.loc) }
            case .isolated, .other:
                break  // .other is unreachable: enumeration() accepts only the modes fleet manages
            }
        }
        if let subnet = spec.subnet {
            if let g = spec.gateway, !subnet.containsHost(g) {
                session.error("gateway: \(g) is not a host address of subnet \(subnet)", at: o["gateway"]!.loc)
            }
            if let d = spec.dhcp, let rl = rangeLoc {
                if !subnet.containsHost(d.start) || !subnet.containsHost(d.end) {
                    session.error("range: \(d.start)-\(d.end) is not inside subnet \(subnet)", at: rl)
                } else if d.end < d.start {
                    session.error("range: start \(d.start) is after end \(d.end)", at: rl)
                } else if let g = spec.effectiveGateway, d.start <= g && g <= d.end {
                    session.error("range: \(d.start)-\(d.end) contains the gateway \(g)", at: rl)
                }
            }
        } else {
            if let g = o["gateway"] { session.error("gateway: needs subnet:", at: g.keyLoc) }
            if let d = o["dhcp"], mode != .bridge { session.error("dhcp: needs subnet:", at: d.keyLoc) }
        }
        return NetworkDraft(spec: spec, loc: loc, hostRefs: hostRefs ?? [])
    }

    private func decodeImage(_ name: String, _ o: Obj, loc: SourceLocation) -> ImageDraft {
        let what = "image \"\(name)\""
        var source = ""
        if let sv = o["source"], let s = session.nonEmpty(sv) {
            if s.hasPrefix("http://") || s.hasPrefix("https://") || s.hasPrefix("file://") {
                source = s
            } else if s.contains("://") {
                session.error(
                    "source: unsupported URL scheme in \"\(s.truncated(60))\" (use a path, file://, http:// or https://)", at: sv.loc)
            } else if s.hasPrefix("/") {
                // Absolute paths are read at apply time (often large files outside the repository).
                source = s
            } else {
                source = session.existingFile(sv) ?? sv.file.resolve(s)
            }
        }
        var sha: String?
        if let cv = o["checksum"], let c = session.scalar(cv, expected: "a checksum") {
            let hex = c.hasPrefix("sha256:") ? String(c.dropFirst(7)) : ""
            if hex.count == 64, hex.allSatisfy(\.isHexDigit) {
                sha = hex.lowercased()
            } else {
                session.error("checksum: malformed \"\(c.truncated(80))\" (expected sha256: followed by 64 hex digits)", at: cv.loc)
            }
        }
        if source.hasPrefix("http://") || source.hasPrefix("https://"), o["checksum"] == nil {
            session.error("\(what): an image downloaded from a URL needs checksum: sha256:<hex>", at: o["source"]!.loc)
        }
        var spec = ImageSpec(name: name, source: source, sha256: sha, pool: "")
        spec.format = o["format"].flatMap { session.enumeration($0, DiskFormat.self) }
        let poolRef = o["pool"].flatMap { v in session.name(v).map { Located(value: $0, loc: v.loc) } }
        spec.pool = poolRef?.value ?? ""
        spec.customize = o["customize"].flatMap { decodeCustomize($0, what: "\(what) customize") }
        let hostRefs = nameList(o["hosts"])
        spec.hosts = hostRefs?.map(\.value)
        return ImageDraft(spec: spec, loc: loc, poolRef: poolRef, hostRefs: hostRefs ?? [])
    }

    private func decodeDevice(_ name: String, _ o: Obj, loc: SourceLocation) -> DeviceDraft {
        let what = "device \"\(name)\""
        let hostRef = o["host"].flatMap { v in session.name(v).map { Located(value: $0, loc: v.loc) } }
        var kind = DeviceKind.usb(vendor: 0, product: 0)
        if let tv = o["type"], let t = session.scalar(tv, expected: "pci or usb") {
            switch t {
            case "pci":
                if let a = o["address"] {
                    kind = session.pci(a).map { .pci($0) } ?? kind
                } else {
                    session.error("\(what): a pci device needs address:", at: o.loc)
                }
                for k in ["vendor", "product"] { if let v = o[k] { session.error("\(k): applies only to usb devices", at: v.keyLoc) } }
            case "usb":
                let vendor = o["vendor"].flatMap { session.usbID($0) }
                let product = o["product"].flatMap { session.usbID($0) }
                if o["vendor"] == nil || o["product"] == nil {
                    session.error("\(what): a usb device needs vendor: and product:", at: o.loc)
                }
                kind = .usb(vendor: vendor ?? 0, product: product ?? 0)
                if let v = o["address"] { session.error("address: applies only to pci devices", at: v.keyLoc) }
            default:
                var msg = "type: invalid value \"\(t.truncated(40))\"; expected one of pci, usb"
                if let s = EditDistance.suggestion(for: t, among: ["pci", "usb"]) { msg += " (did you mean \"\(s)\"?)" }
                session.error(msg, at: tv.loc)
            }
        }
        return DeviceDraft(spec: DeviceSpec(name: name, host: hostRef?.value ?? "", kind: kind), loc: loc, hostRef: hostRef)
    }

    func decodeCustomize(_ v: Val, what: String) -> Customization? {
        guard let o = session.object(v, Keys.customize, what: what) else { return nil }
        var c = Customization()
        c.rootPassword = o["root_password"].flatMap { session.secret($0) }
        if let k = o["ssh_authorized_keys"] { c.sshAuthorizedKeys = (session.list(k) ?? []).compactMap { session.nonEmpty($0) } }
        if let fv = o["files"] {
            for item in session.list(fv) ?? [] {
                guard let f = session.object(item, Keys.fileCopy, what: item.label) else { continue }
                // Every field is checked, so one bad field does not hide another.
                let src = f["source"].flatMap { session.existingFile($0) }
                let dest = f["dest"].flatMap { session.guestPath($0) }
                let mode = f["mode"].flatMap { session.octalMode($0) }
                let owner = f["owner"].flatMap { session.nonEmpty($0) }
                guard let src, let dest else { continue }
                c.files.append(FileCopy(source: src, dest: dest, mode: mode, owner: owner))
            }
        }
        c.hostname = o["hostname"].flatMap { session.bool($0) } ?? false
        if let tv = o["timezone"], let tz = session.nonEmpty(tv) {
            if TimeZoneName.isValid(tz) {
                c.timezone = tz
            } else {
                session.error(
                    "timezone: unknown time zone \"\(tz.truncated(60))\" (expected a zone name such as Europe/Paris, Asia/Shanghai or UTC)",
                    at: tv.loc)
            }
        }
        if let sv = o["sysprep"] {
            if case .sequence = sv.node {
                var ops: [SysprepOperation] = []
                for item in session.list(sv) ?? [] {
                    if let op = session.enumeration(item, SysprepOperation.self), !ops.contains(op) { ops.append(op) }
                }
                c.sysprep = ops
            } else if let b = session.bool(sv) {
                c.sysprep = b ? SysprepOperation.allCases : []
            }
        }
        return c
    }
}
