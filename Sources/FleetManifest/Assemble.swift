import FleetModel
import Foundation

extension Assembly {
    struct DiskDraft {
        var spec: DiskSpec
        var loc: SourceLocation
        var nameLoc: SourceLocation
    }
    struct NICDraft {
        var network: String
        var model: NICModel
        var mac: Located<MACAddress>?
        var ip: Located<IPv4Address>?
        var loc: SourceLocation
    }
    struct VMDraft {
        var group: String
        var loc: SourceLocation
        var count: Int?
        var spec: VMSpec
        var nics: [NICDraft] = []
        var hostdevs: [Located<String>] = []
        var portLoc: SourceLocation?
        /// Where each disk of `spec.disks` was written (its name, or the list item).
        var diskLocs: [SourceLocation] = []
        var diskLabels: [String] = []
        var cloudInitLoc: SourceLocation?
    }

    private func unknown(_ kind: String, _ name: String, at v: Located<String>, label: String, among: some Collection<String>) {
        var msg = "\(label): unknown \(kind) \"\(name)\""
        if let s = EditDistance.suggestion(for: name, among: Array(among)) { msg += "; did you mean \"\(s)\"?" }
        session.error(msg, at: v.loc)
    }

    /// The rule for a `host:` or `pool:` reference: given, it must name a declared one; left out, it is the fleet's
    /// only one, and required when the fleet has several. nil when it names nothing (the error is reported).
    private func reference(
        _ ref: Located<String>?, _ kind: String, label: String, among known: some Collection<String>,
        of subject: String, at loc: SourceLocation
    ) -> String? {
        if let ref {
            guard known.contains(ref.value) else {
                unknown(kind, ref.value, at: ref, label: label, among: known)
                return nil
            }
            return ref.value
        }
        if known.count == 1 { return known.first }
        session.error("\(subject): \(kind): is required (the fleet has \(known.count) \(kind)s)", at: loc)
        return nil
    }

    private func checkHosts(_ refs: [Located<String>], known: [String: HostSpec]) {
        for (i, r) in refs.enumerated() where known[r.value] == nil {
            unknown("host", r.value, at: r, label: "hosts[\(i)]", among: known.keys)
        }
    }

    private func placed(_ objectHosts: [String]?, on host: String) -> Bool { objectHosts?.contains(host) ?? true }

    /// Builds the fleet. `missingNameAt`: where to report a missing `fleet:` (nil when a file did not parse,
    /// so the name may be in it).
    mutating func assemble(missingNameAt: SourceLocation?) -> Fleet? {
        // The name identifies the fleet's objects on its hosts (ledger, marks): it is never guessed from
        // a directory name, or two trees called web/ would manage each other's VMs.
        let name = fleetName?.value ?? "fleet"
        if fleetName == nil, !fleetKeySeen, let at = missingNameAt {
            session.error(
                "manifest: missing required key \"fleet\" (the fleet's name, in one manifest file: it identifies the fleet's objects on its hosts)",
                at: at)
        }
        var hostSpecs: [String: HostSpec] = [:]
        for (n, h) in hosts { hostSpecs[n] = h.value }
        if hostSpecs.isEmpty { hostSpecs[Fleet.defaultHost.name] = Fleet.defaultHost }

        // Pools, networks, images, devices: references.
        for p in pools.values { checkHosts(p.hostRefs, known: hostSpecs) }
        for n in networks.values { checkHosts(n.hostRefs, known: hostSpecs) }
        let solePool = pools.count == 1 ? pools.keys.first : nil
        for key in images.keys.sorted() {
            var img = images[key]!
            checkHosts(img.hostRefs, known: hostSpecs)
            if let p = reference(img.poolRef, "pool", label: "pool", among: pools.keys, of: "image \"\(key)\"", at: img.loc) {
                img.spec.pool = p
            }
            images[key] = img
        }
        for key in devices.keys.sorted() {
            var d = devices[key]!
            if let h = reference(d.hostRef, "host", label: "host", among: hostSpecs.keys, of: "device \"\(key)\"", at: d.loc) {
                d.spec.host = h
            }
            devices[key] = d
        }

        // VMs: profiles, decoding, per-VM checks.
        var drafts: [VMDraft] = []
        for group in vmOrder {
            guard let raw = vms[group] else { continue }
            if let d = decodeVM(group, raw, hosts: hostSpecs, solePool: solePool) { drafts.append(d) }
        }

        // Expansion and name collisions.
        var expanded: [(vm: VMSpec, draft: VMDraft)] = []
        var owners: [String: (group: String, loc: SourceLocation)] = [:]
        for d in drafts { owners[d.group] = (d.group, d.loc) }
        for d in drafts {
            let names = d.count.map { n in (1...n).map { "\(d.group)-\($0)" } } ?? [d.group]
            for vmName in names {
                if vmName != d.group, let other = owners[vmName] {
                    let otherLoc: SourceLocation = other.loc
                    session.error(
                        "vm \"\(d.group)\" with count: \(d.count ?? 1) expands to \"\(vmName)\", which is also defined at \(otherLoc)",
                        at: d.loc)
                    continue
                }
                if vmName != d.group, vmName == names.first, ObjectName.reservedPrefix(of: d.group) == nil,
                    let prefix = ObjectName.reservedPrefix(of: vmName)
                {
                    session.error(
                        "vm \"\(d.group)\" with count: \(d.count ?? 1) expands to \"\(vmName)\", which starts with \"\(prefix)\", reserved for fleet's ledgers and locks",
                        at: d.loc)
                }
                owners[vmName] = (d.group, d.loc)
                var vm = d.spec
                vm.name = vmName
                vm.group = d.group
                // Default MACs are filled in below, once every VM's explicit MACs are known.
                vm.networks = d.nics.map { nic in
                    NICSpec(
                        network: nic.network, model: nic.model,
                        mac: nic.mac?.value ?? MACAddress.stable(for: ""), ip: nic.ip?.value)
                }
                expanded.append((vm, d))
                sourceMap.record(.vm, vmName, d.loc)
            }
        }
        expanded.sort { $0.vm.name < $1.vm.name }

        // Default MACs: MACAddress.stable has 32 bits, so very large fleets can see hash collisions; on a collision
        // with a MAC already taken (explicit ones first, then earlier VMs in name order) try the next key.
        var taken = Set<MACAddress>()
        for (_, d) in expanded { for nic in d.nics { if let m = nic.mac { taken.insert(m.value) } } }
        for e in expanded.indices {
            for (i, nic) in expanded[e].draft.nics.enumerated() where nic.mac == nil {
                let key = "\(name)/\(expanded[e].vm.name)/\(i)"
                var mac = MACAddress.stable(for: key)
                var attempt = 1
                while taken.contains(mac) && attempt < 1000 {
                    mac = MACAddress.stable(for: "\(key)#\(attempt)")
                    attempt += 1
                }
                taken.insert(mac)
                expanded[e].vm.networks[i].mac = mac
            }
        }

        for e in expanded.indices { expanded[e].vm = Self.withGuestNetworkConfig(expanded[e].vm, networks: networks.mapValues(\.spec)) }
        checkVolumes(expanded, hosts: hostSpecs)

        // Cross-VM checks: MACs, IPs, devices, console ports.
        var macs: [MACAddress: String] = [:]
        var ips: [String: [IPv4Address: String]] = [:]
        var deviceUsers: [String: String] = [:]
        var ports: [String: [Int: String]] = [:]
        var leases: [String: [DHCPLease]] = [:]
        for (vm, d) in expanded {
            let sameGroupHint = d.count != nil ? " (count: gives every instance the same value; declare the VMs separately)" : ""
            for (i, nic) in vm.networks.enumerated() {
                let nd = d.nics[i]
                if let other = macs[nic.mac] {
                    let hint = vms[other] == nil && d.count != nil && nd.mac != nil ? sameGroupHint : ""
                    session.error("networks[\(i)].mac: \(nic.mac) is already used by vm \"\(other)\"\(hint)", at: nd.mac?.loc ?? nd.loc)
                } else {
                    macs[nic.mac] = vm.name
                }
                guard let ip = nd.ip, let net = networks[nic.network]?.spec else { continue }
                guard let subnet = net.subnet else {
                    let hint = net.mode == .bridge ? " (declare the LAN's subnet: on the bridge network)" : ""
                    session.error(
                        "networks[\(i)].ip: network \"\(net.name)\" has no subnet, so it cannot give a static address\(hint)",
                        at: ip.loc)
                    continue
                }
                if let l = net.leases.first(where: { $0.ip == ip.value || $0.mac == nic.mac }) {
                    session.error(
                        "networks[\(i)].ip: network \"\(net.name)\" already has dhcp host \(l.mac) \(l.ip)\(l.name.isEmpty ? "" : " (\(l.name))"); declare the lease in one place",
                        at: ip.loc)
                } else if !subnet.containsHost(ip.value) {
                    session.error("networks[\(i)].ip: \(ip.value) is not a host address of network \"\(net.name)\" (\(subnet))", at: ip.loc)
                } else if ip.value == net.effectiveGateway {
                    session.error("networks[\(i)].ip: \(ip.value) is the gateway of network \"\(net.name)\"", at: ip.loc)
                } else if let other = ips[net.name]?[ip.value] {
                    let hint = owners[other]?.group == d.group && d.count != nil ? sameGroupHint : ""
                    session.error("networks[\(i)].ip: \(ip.value) is already assigned to vm \"\(other)\"\(hint)", at: ip.loc)
                } else {
                    ips[net.name, default: [:]][ip.value] = vm.name
                    // libvirt serves no DHCP on a bridge network: the address reaches the guest by cloud-init instead.
                    if net.mode != .bridge { leases[net.name, default: []].append(DHCPLease(mac: nic.mac, name: vm.name, ip: ip.value)) }
                }
            }
            for (i, h) in d.hostdevs.enumerated() {
                guard devices[h.value] != nil else { continue }
                if let other = deviceUsers[h.value], other != vm.name {
                    let hint = owners[other]?.group == d.group && d.count != nil ? " (count: gives every instance the same device)" : ""
                    session.error("hostdevs[\(i)]: device \"\(h.value)\" is already passed through to vm \"\(other)\"\(hint)", at: h.loc)
                } else {
                    deviceUsers[h.value] = vm.name
                }
            }
            if let port = vm.graphics?.port, let pl = d.portLoc {
                if vm.host.isEmpty {
                    // Placed VMs: their hosts are chosen when planning.
                } else if let other = ports[vm.host]?[port] {
                    let hint =
                        owners[other]?.group == d.group && d.count != nil
                        ? " (count: gives every instance the same port; leave port: out for automatic ports)" : ""
                    session.error("graphics.port: port \(port) on host \"\(vm.host)\" is already used by vm \"\(other)\"\(hint)", at: pl)
                } else {
                    ports[vm.host, default: [:]][port] = vm.name
                }
            }
        }

        var netSpecs = networks.values.map(\.spec)
        for i in netSpecs.indices { netSpecs[i].leases = (netSpecs[i].leases + (leases[netSpecs[i].name] ?? [])).sorted() }
        var fleet = Fleet(
            name: name,
            hosts: hostSpecs.values.sorted { $0.name < $1.name },
            pools: pools.values.map(\.spec).sorted { $0.name < $1.name },
            networks: netSpecs.sorted { $0.name < $1.name },
            images: images.values.map(\.spec).sorted { $0.name < $1.name },
            devices: devices.values.map(\.spec).sorted { $0.name < $1.name },
            vms: expanded.map(\.vm))
        fleet.placementPolicy = placementPolicy?.value
        return fleet
    }

    /// `firmware: uefi`, or `firmware: {type: uefi, secure_boot: true, enrolled_keys: true}`, and `tpm:`.
    private func decodeFirmware(_ o: Obj, into spec: inout VMSpec) {
        if let fv = o["firmware"] {
            if case .mapping = fv.node {
                guard let f = session.object(fv, Keys.firmware, what: "firmware") else { return }
                spec.firmware = f["type"].flatMap { session.enumeration($0, Firmware.self) }
                let sbv = f["secure_boot"]
                let ekv = f["enrolled_keys"]
                spec.secureBoot = sbv.flatMap { session.bool($0) }
                spec.enrolledKeys = ekv.flatMap { session.bool($0) }
                if spec.firmware == .bios {
                    for (k, v) in [("secure_boot", sbv), ("enrolled_keys", ekv)] where v != nil {
                        session.error("firmware.\(k): applies only to type: uefi (BIOS has no secure boot)", at: v!.keyLoc)
                    }
                } else if spec.firmware == .uefi {
                    if spec.enrolledKeys == true, spec.secureBoot != true, let ekv {
                        session.error(
                            "firmware.enrolled_keys: true needs secure_boot: true (keys are enrolled for secure boot)", at: ekv.loc)
                    }
                    if spec.secureBoot == true, !MachineType.supportsSecureBoot(spec.machine), let sbv {
                        let have = spec.machine.map { "machine: \($0)" } ?? "libvirt's default machine (i440fx)"
                        session.error(
                            "firmware.secure_boot: secure boot needs SMM, which libvirt's secure-boot firmware gets only on q35 machines, not \(have); set machine: q35",
                            at: sbv.loc)
                    }
                }
            } else {
                spec.firmware = session.enumeration(fv, Firmware.self)
            }
        }
        if let tv = o["tpm"], let t = session.object(tv, Keys.tpm, what: "tpm") {
            var tpm = TPMSpec()
            tpm.model = t["model"].flatMap { session.enumeration($0, TPMModel.self) } ?? .crb
            tpm.version = t["version"].flatMap { session.enumeration($0, TPMVersion.self) } ?? .tpm20
            if tpm.model == .crb, tpm.version == .tpm12, let v = t["version"] {
                session.error("tpm.version: a crb TPM is TPM 2.0 only; use model: tis for \"1.2\"", at: v.loc)
            }
            spec.tpm = tpm
        }
    }

    /// An Ignition config must be JSON with `ignition.version`: a syntax error points into the config file itself.
    private func checkIgnition(_ path: String, display: String, at loc: SourceLocation) {
        guard let data = FileManager.default.contents(atPath: path) else {
            session.error("ignition.config: cannot read \(path)", at: loc)
            return
        }
        guard let problem = IgnitionConfig.check(String(decoding: data, as: UTF8.self)) else { return }
        if let line = problem.line {
            session.error(
                "ignition.config: not valid JSON: \(problem.message)",
                at: SourceLocation(file: display, line: line, column: problem.column ?? 1))
        } else {
            session.error("ignition.config: \(display): \(problem.message)", at: loc)
        }
    }

    private func decodeShares(_ v: Val) -> [ShareSpec] {
        var out: [ShareSpec] = []
        var tags: [String: SourceLocation] = [:]
        for item in session.list(v) ?? [] {
            guard let o = session.object(item, Keys.share, what: item.label) else { continue }
            guard let sv = o["source"], let tv = o["target"] else { continue }  // reported as missing required keys
            guard let source = session.absolutePath(sv), let target = session.nonEmpty(tv) else { continue }
            let mode = o["mode"].flatMap { session.enumeration($0, ShareMode.self) } ?? .virtiofs
            let readonly = o["readonly"].flatMap { session.bool($0) } ?? false
            if let prev = tags[target] {
                session.error("\(item.label).target: duplicate mount tag \"\(target)\" (first at \(prev))", at: tv.loc)
                continue
            }
            tags[target] = tv.loc
            if target.utf8.count > 36 && mode == .virtiofs {
                session.error(
                    "\(item.label).target: a virtiofs tag is at most 36 bytes, \"\(target.truncated(40))\" has \(target.utf8.count)",
                    at: tv.loc)
            }
            if readonly && mode == .virtiofs, let rv = o["readonly"] {
                session.error(
                    "\(item.label).readonly: libvirt 9.0 refuses read-only virtiofs shares (\"virtiofs does not yet support read-only shares\"); use mode: 9p for a read-only share",
                    at: rv.loc)
            }
            out.append(ShareSpec(source: source, target: target, mode: mode, readonly: readonly))
        }
        return out
    }

    /// `rollout: {max_unavailable: 1 | "25%", wait:, timeout:}`.
    private func decodeRollout(_ v: Val, group: String, what: String) -> RolloutSpec? {
        guard let o = session.object(v, Keys.rollout, what: what) else { return nil }
        var spec = RolloutSpec(group: group, maxUnavailable: .count(1))
        if let mv = o["max_unavailable"], let s = session.scalar(mv, expected: "a number or a percentage") {
            if s.hasSuffix("%") {
                let digits = s.dropLast()
                if let p = Int(digits), digits.allSatisfy({ $0.isASCII && $0.isNumber }), (1...100).contains(p) {
                    spec.maxUnavailable = .percent(p)
                } else {
                    session.error(
                        "\(mv.label): \"\(s.truncated(40))\" is not a percentage from 1% to 100% (or give a number of VMs)", at: mv.loc)
                }
            } else if let n = session.int(mv, Keys.rollout.range("max_unavailable")) {
                spec.maxUnavailable = .count(n)
            }
        }
        spec.wait = o["wait"].flatMap { session.enumeration($0, ReadinessWait.self) }
        if let tv = o["timeout"], let s = session.scalar(tv, expected: "a duration") {
            if let t = Seconds(parsing: s), t.value > 0 {
                spec.timeout = t
            } else {
                session.error(
                    "\(tv.label): invalid duration \"\(s.truncated(40))\" (expected e.g. 90s, 5m, 1h or a number of seconds)", at: tv.loc)
            }
        }
        return spec
    }

    private func decodeVM(_ group: String, _ raw: Located<Obj>, hosts: [String: HostSpec], solePool: String?) -> VMDraft? {
        let what = "vm \"\(group)\""
        var fields = raw.value.fields
        var profileName: String?
        if let pv = fields["profile"], let pname = session.name(pv) {
            if let profile = profiles[pname] {
                profileName = pname
                // host: and hosts: are one choice: the VM's (either) wins over the profile's (either).
                let vmChoosesHost = fields["host"] != nil || fields["hosts"] != nil
                for (k, v) in profile.value.fields where fields[k] == nil {
                    if vmChoosesHost && (k == "host" || k == "hosts") { continue }
                    fields[k] = v
                }
            } else {
                unknown("profile", pname, at: Located(value: pname, loc: pv.loc), label: "profile", among: profiles.keys)
            }
        }
        let o = Obj(fields: fields, loc: raw.loc, file: raw.value.file)
        // A bad count is reported and the VM is still checked as one VM: one bad field never hides another.
        let count = o["count"].flatMap { session.int($0, Keys.vm.range("count")) }

        // Host: pinned (host: NAME, or the only host), or placed by fleet among candidates (host: auto, hosts: [...]).
        var host = ""
        var placement: VMPlacement?
        if o["host"] != nil, let hostsV = o["hosts"] {
            session.error(
                "\(what): host: and hosts: exclude each other (host: pins the VM, hosts: lists the candidates fleet chooses among)",
                at: hostsV.keyLoc)
        }
        if let hv = o["host"] {
            // An unknown host is reported and kept, so the checks that name it still run.
            if let h = session.name(hv) {
                if h == "auto" {
                    if hosts["auto"] != nil {
                        session.error(
                            "host: auto asks fleet to choose a host, and a host is named \"auto\": rename that host", at: hv.loc)
                    }
                    placement = VMPlacement(candidates: Array(hosts.keys), auto: true)
                } else {
                    host = h
                    _ = reference(Located(value: h, loc: hv.loc), "host", label: "host", among: hosts.keys, of: what, at: raw.loc)
                }
            }
        } else if let hostsV = o["hosts"] {
            var names: [String] = []
            for (i, item) in (session.list(hostsV) ?? []).enumerated() {
                guard let h = session.name(item) else { continue }
                if names.contains(h) {
                    session.error("hosts[\(i)]: host \"\(h)\" is listed twice", at: item.loc)
                } else if hosts[h] == nil {
                    unknown("host", h, at: Located(value: h, loc: item.loc), label: "hosts[\(i)]", among: hosts.keys)
                } else {
                    names.append(h)
                }
            }
            if session.list(hostsV)?.isEmpty ?? false {
                session.error("hosts: lists no host (name the candidates, or use host: auto for all of them)", at: hostsV.loc)
            }
            placement = VMPlacement(candidates: names)
        } else {
            host = reference(nil, "host", label: "host", among: hosts.keys, of: what, at: raw.loc) ?? ""
        }
        if let sv = o["spread"], let spread = session.bool(sv) {
            if placement == nil {
                session.error("spread: applies to VMs that fleet places (host: auto or hosts:)", at: sv.keyLoc)
            } else {
                placement?.spread = spread
            }
        }
        // The hosts the VM may run on: what it uses (images, pools, networks) must be on each of them.
        let candidates = placement?.candidates ?? (host.isEmpty ? [] : [host])
        func lacking(_ objectHosts: [String]?) -> String? { candidates.first { !placed(objectHosts, on: $0) } }
        func onHost(_ h: String) -> String {
            guard let placement else { return "host \"\(h)\"" }
            return
                "host \"\(h)\", one of the candidates of \(placement.auto ? "host: auto" : "hosts:") (list the candidates that have it in hosts:)"
        }

        // Sizes and counts.
        // Memory is stored as libvirt holds it, in whole KiB (ByteSize.wholeKiB), so plans compare like with like.
        var memory = ByteSize(bytes: 0)
        if let mv = o["memory"] {
            memory = session.memory(mv) ?? memory
        } else {
            session.error("\(what): memory: is required (in the VM or its profile)", at: raw.loc)
        }
        var spec = VMSpec(name: group, group: group, host: host, memory: memory)
        spec.placement = placement
        spec.profile = profileName
        spec.maxMemory = o["max_memory"].flatMap { session.memory($0) }
        if let mm = spec.maxMemory, memory > mm, let v = o["max_memory"] {
            session.error("max_memory: \(mm) is less than memory \(memory)", at: v.loc)
        }
        spec.vcpus = o["vcpus"].flatMap { session.int($0, Keys.vm.range("vcpus")) } ?? 1
        spec.maxVcpus = o["max_vcpus"].flatMap { session.int($0, Keys.vm.range("max_vcpus")) }
        if let mv = spec.maxVcpus, spec.vcpus > mv, let v = o["max_vcpus"] {
            session.error("max_vcpus: \(mv) is less than vcpus \(spec.vcpus)", at: v.loc)
        }
        spec.virtType = o["virt_type"].flatMap { session.enumeration($0, VirtType.self) } ?? .kvm
        spec.machine = o["machine"].flatMap { session.nonEmpty($0) }
        decodeFirmware(o, into: &spec)
        spec.cdrom = o["cdrom"].flatMap { session.nonEmpty($0) }
        spec.autostart = o["autostart"].flatMap { session.bool($0) }
        spec.state = o["state"].flatMap { session.enumeration($0, PowerState.self) } ?? .running
        spec.onHostChange = o["on_host_change"].flatMap { session.enumeration($0, HostChangePolicy.self) } ?? .migrate
        spec.description = o["description"].flatMap { session.string($0) }
        spec.customize = o["customize"].flatMap { decodeCustomize($0, what: "\(what) customize") }
        let cloudInitLoc = o["cloud_init"]?.keyLoc
        if let cv = o["cloud_init"], let c = session.object(cv, Keys.cloudInit, what: "\(what) cloud_init") {
            spec.cloudInit = CloudInitSpec(
                userData: c["user_data"].flatMap { session.existingFile($0) },
                metaData: c["meta_data"].flatMap { session.existingFile($0) },
                networkConfig: c["network_config"].flatMap { session.existingFile($0) },
                rootPassword: c["root_password"].flatMap { session.secret($0) })
            if let k = c["ssh_authorized_keys"] {
                spec.cloudInit?.sshAuthorizedKeys = (session.list(k) ?? []).compactMap { session.nonEmpty($0) }
            }
        }
        spec.guestAgent = o["guest_agent"].flatMap { session.bool($0) }
        if let iv = o["ignition"], let ig = session.object(iv, Keys.ignition, what: "\(what) ignition"),
            let cv = ig["config"], let path = session.existingFile(cv)
        {
            spec.ignition = IgnitionSpec(config: path)
            // Named as the manifest's own files are (relative to where fleet runs, when they are).
            let written = session.string(cv) ?? path
            let dir = (cv.file.display as NSString).deletingLastPathComponent
            checkIgnition(path, display: written.hasPrefix("/") || dir.isEmpty ? written : dir + "/" + written, at: cv.loc)
        }
        if let sv = o["shares"] { spec.shares = decodeShares(sv) }
        spec.wait = o["wait"].flatMap { session.enumeration($0, ReadinessWait.self) }
        if let rv = o["rollout"] {
            // Declared on the entry: its VMs are the group; inherited: every VM of the profile is.
            let group = raw.value.fields["rollout"] == nil ? profileName.map { "profile \($0)" } ?? group : group
            spec.rollout = decodeRollout(rv, group: group, what: "\(what) rollout")
        }

        var draft = VMDraft(group: group, loc: raw.loc, count: count, spec: spec)
        draft.cloudInitLoc = cloudInitLoc

        // Disks.
        if let dv = o["disks"] {
            var seen: [String: SourceLocation] = [:]
            for (i, item) in (session.list(dv) ?? []).enumerated() {
                guard let d = session.object(item, Keys.disk, what: item.label) else { continue }
                let diskName = d["name"].flatMap { session.name($0) } ?? "disk\(i)"
                let nameLoc = d["name"]?.loc ?? item.loc
                if let prev = seen[diskName] {
                    session.error("\(item.label): duplicate disk name \"\(diskName)\" (first at \(prev))", at: nameLoc)
                } else {
                    seen[diskName] = nameLoc
                }
                var disk = DiskSpec(name: diskName, pool: "")
                var image: ImageDraft?
                if let iv = d["image"], let iname = session.name(iv) {
                    disk.image = iname
                    image = images[iname]
                    if image == nil {
                        unknown("image", iname, at: Located(value: iname, loc: iv.loc), label: "\(item.label).image", among: images.keys)
                    } else if let h = lacking(image!.spec.hosts) {
                        session.error("\(item.label).image: image \"\(iname)\" is not placed on \(onHost(h))", at: iv.loc)
                    }
                }
                disk.size = d["size"].flatMap { session.size($0) }
                if d["image"] == nil && d["size"] == nil {
                    session.error("\(item.label): a blank disk needs size:", at: item.loc)
                }
                if let pv = d["pool"], let p = session.name(pv) {
                    disk.pool = p
                    if pools[p] == nil {
                        unknown("pool", p, at: Located(value: p, loc: pv.loc), label: "\(item.label).pool", among: pools.keys)
                    } else if let h = lacking(pools[p]!.spec.hosts) {
                        session.error("\(item.label).pool: pool \"\(p)\" is not placed on \(onHost(h))", at: pv.loc)
                    }
                } else if d["pool"] == nil {
                    if let img = image, !img.spec.pool.isEmpty {
                        disk.pool = img.spec.pool
                    } else if let p = solePool {
                        disk.pool = p
                    } else if d["image"] == nil || image != nil {
                        session.error("\(item.label): pool: is required (the fleet has \(pools.count) pools)", at: item.loc)
                    }
                }
                disk.format = d["format"].flatMap { session.enumeration($0, DiskFormat.self) } ?? .qcow2
                disk.bus = d["bus"].flatMap { session.enumeration($0, DiskBus.self) } ?? .virtio
                if let vv = d["volume"], let v = session.nonEmpty(vv) {
                    if ObjectName.isValidVolume(v) {
                        disk.volume = v
                    } else {
                        session.error(
                            "\(item.label).volume: invalid volume name \"\(v.truncated(60))\" (a file name: no '/', no control characters, not . or ..)",
                            at: vv.loc)
                    }
                }
                if let cv = d["clone"] {
                    if d["image"] == nil { session.error("\(item.label).clone: applies only to disks made from an image", at: cv.keyLoc) }
                    disk.clone = session.enumeration(cv, CloneMode.self) ?? .overlay
                }
                draft.spec.disks.append(disk)
                draft.diskLocs.append(nameLoc)
                draft.diskLabels.append(item.label)
            }
        }

        // hostname: true, on the VM's customize or on the image of its first disk, gives each VM its own
        // hostname: through meta-data local-hostname (a seed is made when the VM has no cloud_init:), and
        // through /etc/hostname when the VM's own customization runs anyway.
        let imageHostname = draft.spec.disks.first?.image.flatMap { images[$0]?.spec.customize?.hostname } ?? false
        if draft.spec.cloudInit == nil, !draft.spec.disks.isEmpty, imageHostname || draft.spec.customize?.hostname == true {
            draft.spec.cloudInit = CloudInitSpec()
        }
        if imageHostname, var c = draft.spec.customize, !c.isEmpty, !c.hostname {
            c.hostname = true
            draft.spec.customize = c
        }

        // NICs.
        if let nv = o["networks"] {
            for item in session.list(nv) ?? [] {
                guard let n = session.object(item, Keys.nic, what: item.label) else { continue }
                // Every field is checked even when the network is missing or invalid.
                let model = n["model"].flatMap { session.enumeration($0, NICModel.self) } ?? .virtio
                let mac = n["mac"].flatMap { v in session.mac(v).map { Located(value: $0, loc: v.loc) } }
                let ip = n["ip"].flatMap { v in session.ipv4(v).map { Located(value: $0, loc: v.loc) } }
                guard let netV = n["network"], let net = session.name(netV) else { continue }
                if let nd = networks[net] {
                    if let h = lacking(nd.spec.hosts) {
                        session.error("\(item.label).network: network \"\(net)\" is not placed on \(onHost(h))", at: netV.loc)
                    }
                } else {
                    unknown("network", net, at: Located(value: net, loc: netV.loc), label: "\(item.label).network", among: networks.keys)
                }
                draft.nics.append(NICDraft(network: net, model: model, mac: mac, ip: ip, loc: item.loc))
            }
        }

        // Console.
        if let gv = o["graphics"] {
            if case .scalar = gv.node, session.scalar(gv, expected: "none or a mapping") == "none" {
                draft.spec.graphics = nil
            } else if case .mapping = gv.node, let g = session.object(gv, Keys.graphics, what: "graphics") {
                var spec = GraphicsSpec()
                spec.type = g["type"].flatMap { session.enumeration($0, GraphicsType.self) } ?? .vnc
                if let lv = g["listen"], let listen = session.nonEmpty(lv) {
                    // libvirt writes the address unescaped into its saved XML: only an address may get through.
                    if GraphicsSpec.isValidListen(listen) {
                        spec.listen = listen
                    } else {
                        session.error(
                            "listen: invalid address \"\(listen.truncated(60))\" (expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1, or none)",
                            at: lv.loc)
                    }
                }
                spec.port = g["port"].flatMap { session.int($0, Keys.graphics.range("port")) }
                draft.portLoc = g["port"]?.loc
                spec.password = g["password"].flatMap { session.secret($0) }
                if ["0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"].contains(spec.listen), g["password"] == nil {
                    session.warning(
                        "graphics: \(spec.type.rawValue) listening on \(spec.listen) without a password exposes the console to the whole network",
                        at: g["listen"]!.loc)
                }
                draft.spec.graphics = spec
            } else if case .mapping = gv.node {
            } else {
                session.error("graphics: expected none or a mapping, found \(DecodeSession.describe(gv.node))", at: gv.loc)
            }
        }

        // Passthrough devices.
        // A declared device that binds the domain to its host blocks snapshots: refused here, up front, by the
        // rule the planner applies to live hostdevs (`LiveHostdev.bindsToHost`).
        var bound: (name: String, device: DeviceKind)?
        if let hv = o["hostdevs"] {
            for (i, item) in (session.list(hv) ?? []).enumerated() {
                guard let dn = session.name(item) else { continue }
                let ref = Located(value: dn, loc: item.loc)
                if draft.hostdevs.contains(where: { $0.value == dn }) {
                    session.error("hostdevs[\(i)]: device \"\(dn)\" is listed twice", at: item.loc)
                    continue
                }
                guard let dev = devices[dn] else {
                    unknown("device", dn, at: ref, label: "hostdevs[\(i)]", among: devices.keys)
                    continue
                }
                if let placement {
                    session.error(
                        "hostdevs[\(i)]: device \"\(dn)\" is plugged into one host, and \(placement.auto ? "host: auto" : "hosts:") "
                            + "lets fleet choose another: pin the VM with host: \(dev.spec.host.isEmpty ? "NAME" : dev.spec.host)",
                        at: item.loc)
                }
                if !host.isEmpty, !dev.spec.host.isEmpty, dev.spec.host != host {
                    session.error(
                        "hostdevs[\(i)]: device \"\(dn)\" is on host \"\(dev.spec.host)\" but vm \"\(group)\" runs on \"\(host)\"",
                        at: item.loc)
                }
                if dev.spec.kind.hostdev.bindsToHost && bound == nil { bound = (dn, dev.spec.kind) }
                draft.hostdevs.append(ref)
                draft.spec.hostdevs.append(dev.spec)
            }
        }

        // Snapshots.
        if let sv = o["snapshots"] {
            var names: [String] = []
            for item in session.list(sv) ?? [] {
                guard let s = session.name(item) else { continue }
                if names.contains(s) {
                    session.error("\(item.label): snapshot \"\(s)\" is listed twice", at: item.loc)
                } else {
                    names.append(s)
                }
            }
            draft.spec.snapshots = names
            if let bound, !names.isEmpty {
                let what = bound.device.isPCI ? "PCI passthrough" : "a host-bound hostdev"
                session.error(
                    "snapshots: libvirt cannot snapshot a domain with \(what) (hostdev \"\(bound.name)\"); remove the snapshots or the device",
                    at: sv.keyLoc)
            }
        }

        if draft.spec.ignition != nil, draft.spec.disks.isEmpty, let iv = o["ignition"] {
            session.error("ignition: \(what) has no disk: its Ignition config is uploaded into the pool of its first disk", at: iv.keyLoc)
        }
        if draft.spec.disks.isEmpty && draft.spec.cdrom == nil {
            session.warning("\(what) has no disks and no cdrom: it has nothing to boot from", at: raw.loc)
        }
        return draft
    }
}
