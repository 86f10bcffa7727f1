import FleetModel

public struct PlanOptions: Hashable, Codable, Sendable {
    /// Take declared objects whose names are taken by unmanaged ones under management.
    public var adopt: Bool
    /// Restrict the plan to these objects (and, for a VM, its volumes and snapshots). Empty: everything.
    public var targets: [ObjectRef]
    /// Per VM, the digest of its customization inputs (computed by the caller, which may read files
    /// and secrets); a disk whose recorded digest differs is rebuilt.
    public var customizationDigests: [String: String]
    /// Per VM with `cloud_init:`, the instance-id its seed content gives (computed by the caller);
    /// a seed recorded with another id is rebuilt.
    public var seedInstanceIDs: [String: String]
    /// Per VM with a graphics password, the digest of the declared password (computed by the caller, which
    /// reads secrets); compared with the digest of the one the domain holds, never printed.
    public var graphicsPasswordDigests: [String: String]
    public init(adopt: Bool = false, targets: [ObjectRef] = [], customizationDigests: [String: String] = [:],
                seedInstanceIDs: [String: String] = [:], graphicsPasswordDigests: [String: String] = [:]) {
        self.adopt = adopt; self.targets = targets; self.customizationDigests = customizationDigests
        self.seedInstanceIDs = seedInstanceIDs; self.graphicsPasswordDigests = graphicsPasswordDigests
    }
}

/// The planner: a pure function of desired and live state. This target cannot import the
/// libvirt binding, so the compiler proves it does no I/O.
public enum Planner {
    public static func plan(desired: Fleet, live: LiveState, options: PlanOptions = PlanOptions()) -> Plan {
        let context = Context(desired: desired, live: live, options: options)
        var hosts: [HostPlan] = []
        for host in desired.hosts {
            var hp = HostPlan(host: host.name, uri: host.uri)
            guard let lh = live.host(host.name) else {
                hp.error = "host \(host.name) was not read"
                hosts.append(hp)
                continue
            }
            if let error = lh.error {
                hp.error = error
                hosts.append(hp)
                continue
            }
            var changes = HostPlanner(context: context, host: host, live: lh).changes().map { identify($0, lh, context) }
                .map { guardTree($0, lh, desired) }
            if !options.targets.isEmpty {
                changes = changes.filter { c in
                    options.targets.contains { $0 == c.object || $0 == c.parent }
                }
            }
            hp.changes = order(changes)
            hosts.append(hp)
        }
        return Plan(fleet: desired.name, hosts: hosts, desired: desired)
    }

    /// Ties a change to the live object it was planned against, by UUID (a migration: the domain on its source host).
    static func identify(_ c: Change, _ live: LiveHost, _ context: Context) -> Change {
        guard c.action != .create, c.action != .refused else { return c }
        var c = c
        switch c.object.kind {
        case .vm:
            c.uuid = live.domains.first { $0.name == c.object.name }?.uuid
                ?? (c.action == .migrate ? context.ownedDomainHost[c.object.name]?.domain.uuid : nil)
        case .network: c.uuid = live.networks.first { $0.name == c.object.name }?.uuid
        case .pool: c.uuid = live.pools.first { $0.name == c.object.name }?.uuid
        default: break
        }
        return c
    }

    /// A deletion of an object that another manifest tree of the same fleet name made is refused, naming that
    /// tree: two checkouts that chose one `fleet:` name must not delete each other's objects.
    static func guardTree(_ c: Change, _ live: LiveHost, _ desired: Fleet) -> Change {
        guard c.action == .delete, let tree = desired.tree else { return c }
        let mark: OwnerMark?
        switch c.object.kind {
        case .vm: mark = live.domains.first { $0.name == c.object.name }?.owner
        case .network: mark = live.networks.first { $0.name == c.object.name }?.owner
        case .pool: mark = live.pools.first { $0.name == c.object.name }?.owner
        case .volume, .image: mark = live.volumes.first { "\($0.pool)/\($0.name)" == c.object.name }?.owner
        default: mark = nil
        }
        guard let other = mark?.attributes["tree"], other != tree else { return c }
        return Change(c.object, .refused, attributes: c.attributes,
                      reason: "made by another manifest tree of fleet \(desired.name) (\(other)), not this one (\(tree)); "
                          + "two trees share the fleet name: give one of them another `fleet:` name, or delete it from \(other)",
                      parent: c.parent)
    }

    /// Stable order: creations and updates by kind (pools first, snapshots last), then deletions in reverse.
    static func order(_ changes: [Change]) -> [Change] {
        func phase(_ c: Change) -> Int { c.action == .delete ? 1 : 0 }
        return changes.enumerated().sorted { l, r in
            let (a, b) = (l.element, r.element)
            if phase(a) != phase(b) { return phase(a) < phase(b) }
            if a.object.kind != b.object.kind {
                return phase(a) == 0 ? a.object.kind < b.object.kind : b.object.kind < a.object.kind
            }
            if a.object.name != b.object.name { return a.object.name < b.object.name }
            return l.offset < r.offset
        }.map(\.element)
    }
}

/// Facts about the whole fleet that several hosts' plans need.
struct Context {
    let desired: Fleet
    let live: LiveState
    let options: PlanOptions
    let devices: [String: DeviceSpec]
    /// Where each VM this fleet owns lives now, by domain name.
    let ownedDomainHost: [String: (host: String, domain: LiveDomain)]

    init(desired: Fleet, live: LiveState, options: PlanOptions) {
        self.desired = desired
        self.live = live
        self.options = options
        devices = Dictionary(desired.devices.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var owned: [String: (String, LiveDomain)] = [:]
        for h in live.hosts where h.error == nil {
            for d in h.domains where d.owner?.fleet == desired.name {
                owned[d.name] = (h.name, d)
            }
        }
        ownedDomainHost = owned
    }

    func owns(_ mark: OwnerMark?) -> Bool { mark?.fleet == desired.name }
}

struct HostPlanner {
    let context: Context
    let host: HostSpec
    let live: LiveHost
    var fleet: Fleet { context.desired }

    var vms: [VMSpec] { fleet.vms.filter { $0.host == host.name } }

    func placed(_ hosts: [String]?) -> Bool { fleet.placement(hosts).contains(host.name) }

    func changes() -> [Change] {
        var out: [Change] = []
        out += pools()
        out += images()
        out += volumes()
        out += networks()
        out += domains()
        return out
    }

    // MARK: Ownership

    /// A declared object whose name is taken: fine when this fleet owns it, adoptable with --adopt, refused otherwise.
    func conflict(_ ref: ObjectRef, _ mark: OwnerMark?) -> Change? {
        if context.owns(mark) { return nil }
        if context.options.adopt && mark == nil {
            return Change(ref, .adopt, reason: "exists unmanaged; --adopt takes it under fleet \(fleet.name)", steps: [.writeOwnerMark])
        }
        let who = mark.map { "fleet \($0.fleet)" } ?? "nobody (unmanaged)"
        return Change(ref, .refused, reason: "\(ref) exists on \(host.name) and is managed by \(who); fleet never modifies objects it does not own" + (mark == nil ? " (use --adopt to take it over)" : ""))
    }

    // MARK: Pools

    func pools() -> [Change] {
        var out: [Change] = []
        let declared = fleet.pools.filter { placed($0.hosts) }
        for spec in declared {
            let ref = ObjectRef(.pool, spec.name)
            guard let lp = live.pools.first(where: { $0.name == spec.name }) else {
                var steps: [Step] = [.definePool, .buildPool, .startPool]
                if spec.autostart == true { steps.append(.setAutostart(true)) }
                out.append(Change(ref, .create, attributes: poolAttributes(nil, spec), reason: "pool \(spec.name) does not exist", steps: steps))
                continue
            }
            if !lp.spec.type.isManaged {
                // Never a replacement: fleet cannot read such a pool back as anything it manages.
                out.append(Change(ref, .refused, attributes: [.init("type", before: lp.spec.type.rawValue, after: spec.type.rawValue)],
                                  reason: "pool \(spec.name) on \(host.name) is a \(lp.spec.type.rawValue) pool, the manifest declares a \(spec.type.rawValue) pool; fleet does not manage \(lp.spec.type.rawValue) pools and never replaces one (rename the manifest's pool, or remove the live one by hand)"))
                continue
            }
            if let c = conflict(ref, lp.owner) {
                out.append(c)
                if c.action == .refused { continue }
            }
            var attrs: [AttributeChange] = []
            var replace = false
            if lp.spec.type != spec.type { attrs.append(.init("type", before: lp.spec.type.rawValue, after: spec.type.rawValue)); replace = true }
            if let p = spec.path, normalisePath(p) != normalisePath(lp.spec.path ?? "") {
                attrs.append(.init("path", before: lp.spec.path, after: p)); replace = true
            }
            if spec.type == .logical, let vg = spec.volumeGroup, vg != lp.spec.volumeGroup {
                attrs.append(.init("source.vg", before: lp.spec.volumeGroup, after: vg)); replace = true
            }
            if spec.type == .netfs {
                if let h = spec.sourceHost, h != lp.spec.sourceHost { attrs.append(.init("source.host", before: lp.spec.sourceHost, after: h)); replace = true }
                if let d = spec.sourceDir, d != lp.spec.sourceDir { attrs.append(.init("source.dir", before: lp.spec.sourceDir, after: d)); replace = true }
            }
            if replace {
                out.append(Change(ref, .replace, attributes: attrs,
                                  reason: "a pool's type or location cannot change in place; its volumes are recreated",
                                  steps: [.undefinePool, .definePool, .buildPool, .startPool] + (spec.autostart == true ? [.setAutostart(true)] : []),
                                  destructive: true))
                continue
            }
            var steps: [Step] = []
            if let a = spec.autostart, a != lp.autostart {
                attrs.append(.init("autostart", before: String(lp.autostart), after: String(a)))
                steps.append(.setAutostart(a))
            }
            if !lp.active {
                // Build first: a run killed between define and build leaves a pool whose directory may not exist.
                attrs.append(.init("active", before: "false", after: "true"))
                steps += [.buildPool, .startPool]
            }
            if !steps.isEmpty {
                out.append(Change(ref, .update, attributes: attrs, reason: "pool settings differ", steps: steps))
            }
        }
        for lp in live.pools where context.owns(lp.owner) && !declared.contains(where: { $0.name == lp.name }) {
            out.append(Change(ObjectRef(.pool, lp.name), .delete, attributes: poolAttributes(lp.spec, nil),
                              reason: "no longer declared; the pool is undefined, its directory and unmanaged volumes are kept",
                              steps: [.undefinePool]))
        }
        return out
    }

    func poolAttributes(_ before: PoolSpec?, _ after: PoolSpec?) -> [AttributeChange] {
        var a: [AttributeChange] = [.init("type", before: before?.type.rawValue, after: after?.type.rawValue)]
        if before?.path != nil || after?.path != nil { a.append(.init("path", before: before?.path, after: after?.path)) }
        return a
    }

    // MARK: Images and volumes

    /// Images needed on this host: listed for it, or used by one of its VMs.
    var neededImages: [ImageSpec] {
        let used = Set(vms.flatMap { $0.disks.compactMap(\.image) })
        return fleet.images.filter { img in
            img.hosts.map { $0.contains(host.name) } ?? used.contains(img.name)
        }
    }

    func liveVolume(_ pool: String, _ name: String) -> LiveVolume? {
        live.volumes.first { $0.pool == pool && $0.name == name }
    }

    func images() -> [Change] {
        var out: [Change] = []
        let needed = neededImages
        for img in needed {
            let ref = ObjectRef(.image, img.name)
            guard let lv = liveVolume(img.pool, img.volumeName) else {
                out.append(Change(ref, .create, attributes: [
                    .init("volume", before: nil, after: "\(img.pool)/\(img.volumeName)"),
                    .init("source", before: nil, after: img.source),
                ] + (img.sha256.map { [AttributeChange("sha256", before: nil, after: $0)] } ?? []),
                reason: "image volume missing on \(host.name)", steps: [.uploadImage]))
                continue
            }
            if let c = conflict(ref, lv.owner) { out.append(c); continue }
            if let want = img.sha256, let have = lv.owner?.attributes["sha256"], want != have {
                // Cannot happen with checksummed names unless the volume was overwritten out of band.
                out.append(Change(ref, .refused, attributes: [.init("sha256", before: have, after: want)],
                                  reason: "image volume \(lv.name) holds other content than its name says; remove it by hand"))
            }
        }
        // Image volumes fleet uploaded that nothing declares any more, and that no disk is backed by once this
        // plan's deletions ran (the executor deletes those disks first, and skips the image if one of them is).
        let neededNames = Set(needed.map { "\($0.pool)/\($0.volumeName)" })
        let leaving = volumesLeaving
        for lv in live.volumes where lv.owner?.kind == .image && context.owns(lv.owner) && !neededNames.contains("\(lv.pool)/\(lv.name)") {
            let users = live.volumes.filter { $0.backingPath == lv.path }
            let staying = users.filter { !leaving.contains("\($0.pool)/\($0.name)") }
            // Named by its volume: the image's own name may already stand for its newer version.
            let ref = ObjectRef(.image, "\(lv.pool)/\(lv.name)")
            if staying.isEmpty {
                // With disks on it going too, it goes with them: skipped when they are (without --allow-destroy).
                let destructive = users.contains { $0.owner?.attributes["role"] != "seed" }
                out.append(Change(ref, .delete, attributes: [.init("volume", before: "\(lv.pool)/\(lv.name)", after: nil)],
                                  reason: users.isEmpty ? "image version no longer used" : "image version no longer used once its disks are deleted",
                                  steps: [.deleteVolume], destructive: destructive))
            }
        }
        return out
    }

    /// `pool/name` of every disk and seed volume this fleet owns here that the plan deletes (declared nowhere).
    var volumesLeaving: Set<String> {
        var declared: Set<String> = []
        for vm in vms {
            for d in vm.disks { declared.insert("\(d.pool)/\(d.volumeName(vm: vm.name))") }
            if let (pool, name) = vm.seedVolume { declared.insert("\(pool)/\(name)") }
        }
        return Set(live.volumes.filter { $0.owner?.kind == .volume && context.owns($0.owner) }
            .map { "\($0.pool)/\($0.name)" }.filter { !declared.contains($0) })
    }

    struct DesiredVolume {
        var vm: VMSpec
        var disk: DiskSpec
        var name: String { disk.volumeName(vm: vm.name) }
    }

    func volumes() -> [Change] {
        var out: [Change] = []
        var desired: [DesiredVolume] = []
        for vm in vms {
            for d in vm.disks { desired.append(DesiredVolume(vm: vm, disk: d)) }
        }
        for dv in desired {
            let ref = ObjectRef(.volume, "\(dv.disk.pool)/\(dv.name)")
            let parent = ObjectRef(.vm, dv.vm.name)
            let image = dv.disk.image.flatMap { n in fleet.images.first { $0.name == n } }
            guard let lv = liveVolume(dv.disk.pool, dv.name) else {
                var attrs: [AttributeChange] = [.init("format", before: nil, after: dv.disk.format.rawValue)]
                if let s = dv.disk.size { attrs.append(.init("capacity", before: nil, after: s.description)) }
                if let image { attrs.append(.init("image", before: nil, after: image.name + (dv.disk.clone == .full ? " (full copy)" : " (overlay)"))) }
                if let c = dv.vm.customize, !c.isEmpty { attrs.append(.init("customize", before: nil, after: "yes")) }
                out.append(Change(ref, .create, attributes: attrs, reason: "disk \(dv.disk.name) of \(dv.vm.name) does not exist",
                                  steps: [.createVolume], parent: parent))
                continue
            }
            if let c = conflict(ref, lv.owner) {
                out.append(Change(c.object, c.action, reason: c.reason, steps: c.steps, parent: parent))
                if c.action == .refused { continue }
            }
            var attrs: [AttributeChange] = []
            var replace = false
            if let f = lv.format, f != dv.disk.format.rawValue {
                attrs.append(.init("format", before: f, after: dv.disk.format.rawValue)); replace = true
            }
            if let image {
                let recorded = lv.owner?.attributes["image"]
                let expectedBacking = liveVolume(image.pool, image.volumeName)?.path
                if let recorded, recorded != image.name {
                    attrs.append(.init("image", before: recorded, after: image.name)); replace = true
                } else if dv.disk.clone == .overlay, let expectedBacking, let have = lv.backingPath, have != expectedBacking {
                    attrs.append(.init("image", before: have, after: expectedBacking)); replace = true
                } else if dv.disk.clone == .full, let version = lv.owner?.attributes["version"], version != image.volumeName {
                    attrs.append(.init("image", before: version, after: image.volumeName)); replace = true
                } else if dv.disk.clone == .overlay, expectedBacking == nil, lv.backingPath != nil {
                    // A new image version is about to be uploaded: the disk must be rebuilt on it.
                    attrs.append(.init("image", before: lv.backingPath, after: "\(image.pool)/\(image.volumeName)")); replace = true
                }
            }
            if image != nil, let want = customizationDigest(dv.vm), let have = lv.owner?.attributes["customize"], want != have {
                attrs.append(.init("customize", before: have, after: want)); replace = true
            }
            if replace {
                out.append(Change(ref, .replace, attributes: attrs,
                                  reason: "the disk's content source changed: it is recreated (reimage; a running VM is stopped and started again); its data is lost",
                                  steps: [.deleteVolume, .createVolume], destructive: true, parent: parent))
                continue
            }
            if let size = dv.disk.size, size != lv.capacity {
                if size < lv.capacity {
                    out.append(Change(ref, .refused, attributes: [.init("capacity", before: lv.capacity.description, after: size.description)],
                                      reason: "shrinking a disk would destroy the data past the new end; fleet never shrinks disks", parent: parent))
                } else {
                    out.append(Change(ref, .update, attributes: [.init("capacity", before: lv.capacity.description, after: size.description)],
                                      reason: "disk grows in place (block resize on a running guest)", steps: [.resizeVolume(size)], parent: parent))
                }
            }
        }
        // cloud-init seeds: derived from the manifest, rebuilt whenever their content changes.
        var seeds: Set<String> = []
        for vm in vms {
            guard let (pool, name) = vm.seedVolume else { continue }
            seeds.insert("\(pool)/\(name)")
            let ref = ObjectRef(.volume, "\(pool)/\(name)")
            let parent = ObjectRef(.vm, vm.name)
            let want = context.options.seedInstanceIDs[vm.name]
            guard let lv = liveVolume(pool, name) else {
                out.append(Change(ref, .create, attributes: [.init("cloud-init instance-id", before: nil, after: want ?? "(computed at apply)")],
                                  reason: "cloud-init seed of \(vm.name) does not exist", steps: [.createSeed], parent: parent))
                continue
            }
            if let c = conflict(ref, lv.owner) { out.append(Change(c.object, c.action, reason: c.reason, steps: c.steps, parent: parent)); continue }
            if let want, let have = lv.owner?.attributes["instance-id"], want != have {
                out.append(Change(ref, .replace, attributes: [.init("cloud-init instance-id", before: have, after: want)],
                                  reason: "the cloud-init documents changed: the seed is rebuilt and cloud-init runs again at the next boot",
                                  steps: [.deleteVolume, .createSeed], parent: parent))
            }
        }
        // Disks fleet created that are no longer declared (their VM or disk was removed, or the VM moved away).
        let desiredNames = Set(desired.map { "\($0.disk.pool)/\($0.name)" }).union(seeds)
        for lv in live.volumes where lv.owner?.kind == .volume && context.owns(lv.owner) && !desiredNames.contains("\(lv.pool)/\(lv.name)") {
            let seed = lv.owner?.attributes["role"] == "seed"
            out.append(Change(ObjectRef(.volume, "\(lv.pool)/\(lv.name)"), .delete,
                              attributes: [.init("capacity", before: lv.capacity.description, after: nil)],
                              reason: seed ? "cloud-init seed no longer declared" : "no longer declared; its data is lost",
                              steps: [.deleteVolume], destructive: !seed,
                              parent: lv.owner.map { ObjectRef(.vm, $0.attributes["vm"] ?? $0.name) }))
        }
        return out
    }

    /// The digest the image work records on a VM's customized system disk. The planner cannot read
    /// secrets or files, so the caller computes it (FleetImages) and passes it in the options.
    func customizationDigest(_ vm: VMSpec) -> String? { context.options.customizationDigests[vm.name] }

    // MARK: Networks

    func networks() -> [Change] {
        var out: [Change] = []
        let declared = fleet.networks.filter { placed($0.hosts) }
        for spec in declared {
            let ref = ObjectRef(.network, spec.name)
            guard let ln = live.networks.first(where: { $0.name == spec.name }) else {
                var steps: [Step] = [.defineNetwork, .startNetwork]
                if spec.autostart == true { steps.append(.setAutostart(true)) }
                var attrs: [AttributeChange] = [.init("mode", before: nil, after: spec.mode.rawValue)]
                if let b = spec.bridge { attrs.append(.init("bridge", before: nil, after: b)) }
                if let s = spec.subnet { attrs.append(.init("subnet", before: nil, after: s.description)) }
                if let d = spec.dhcp { attrs.append(.init("dhcp", before: nil, after: "\(d.start)-\(d.end)")) }
                for l in spec.leases { attrs.append(.init("lease \(l.name)", before: nil, after: "\(l.mac) \(l.ip)")) }
                out.append(Change(ref, .create, attributes: attrs, reason: "network \(spec.name) does not exist", steps: steps))
                continue
            }
            if !ln.spec.mode.isManaged {
                out.append(Change(ref, .refused, attributes: [.init("mode", before: ln.spec.mode.rawValue, after: spec.mode.rawValue)],
                                  reason: "network \(spec.name) on \(host.name) forwards in \(ln.spec.mode.rawValue) mode, the manifest declares \(spec.mode.rawValue); fleet does not manage \(ln.spec.mode.rawValue) networks and never replaces one (rename the manifest's network, or remove the live one by hand)"))
                continue
            }
            if let c = conflict(ref, ln.owner) {
                out.append(c)
                if c.action == .refused { continue }
            }
            let have = ln.spec
            var attrs: [AttributeChange] = []
            if have.mode != spec.mode { attrs.append(.init("mode", before: have.mode.rawValue, after: spec.mode.rawValue)) }
            if let b = spec.bridge, b != have.bridge { attrs.append(.init("bridge", before: have.bridge, after: b)) }
            if spec.subnet != have.subnet, spec.mode != .bridge {
                attrs.append(.init("subnet", before: have.subnet?.description, after: spec.subnet?.description))
            }
            if spec.mode != .bridge, let g = spec.effectiveGateway, g != have.effectiveGateway {
                attrs.append(.init("gateway", before: have.effectiveGateway?.description, after: g.description))
            }
            if spec.dhcp != have.dhcp {
                attrs.append(.init("dhcp", before: have.dhcp.map { "\($0.start)-\($0.end)" }, after: spec.dhcp.map { "\($0.start)-\($0.end)" }))
            }
            if let d = spec.domain, d != have.domain { attrs.append(.init("domain", before: have.domain, after: d)) }
            if let m = spec.mtu, m != have.mtu { attrs.append(.init("mtu", before: have.mtu.map(String.init), after: String(m))) }
            var steps: [Step] = []
            if !attrs.isEmpty {
                out.append(Change(ref, .updateRestart, attributes: attrs,
                                  reason: "the network must be restarted for this; guests on it lose connectivity briefly",
                                  steps: [.defineNetwork, .restartNetwork]))
            }
            var liveAttrs: [AttributeChange] = []
            let wantLeases = Set(spec.leases), haveLeases = Set(have.leases)
            for l in spec.leases where !haveLeases.contains(l) {
                liveAttrs.append(.init("lease \(l.name)", before: nil, after: "\(l.mac) \(l.ip)"))
                steps.append(.addLease(l))
            }
            for l in have.leases.sorted() where !wantLeases.contains(l) {
                liveAttrs.append(.init("lease \(l.name)", before: "\(l.mac) \(l.ip)", after: nil))
                steps.insert(.removeLease(l), at: 0)
            }
            if let a = spec.autostart, a != ln.autostart {
                liveAttrs.append(.init("autostart", before: String(ln.autostart), after: String(a)))
                steps.append(.setAutostart(a))
            }
            if !ln.active {
                liveAttrs.append(.init("active", before: "false", after: "true"))
                steps.append(.startNetwork)
            }
            if !steps.isEmpty {
                out.append(Change(ref, .update, attributes: liveAttrs, reason: "applied to the running network and its config", steps: steps))
            }
        }
        for ln in live.networks where context.owns(ln.owner) && !declared.contains(where: { $0.name == ln.name }) {
            out.append(Change(ObjectRef(.network, ln.name), .delete, attributes: [.init("mode", before: ln.spec.mode.rawValue, after: nil)],
                              reason: "no longer declared", steps: [.undefineNetwork]))
        }
        return out
    }

    // MARK: Domains

    func domains() -> [Change] {
        var out: [Change] = []
        for vm in vms {
            let ref = ObjectRef(.vm, vm.name)
            let missing = missingDevices(vm)
            if !missing.isEmpty {
                out.append(Change(ref, .refused, reason: missing.joined(separator: "; ")))
                continue
            }
            if let dom = live.domains.first(where: { $0.name == vm.name }) {
                if let c = conflict(ref, dom.owner) {
                    out.append(c)
                    if c.action == .refused { continue }
                }
                out += compare(vm, dom)
                continue
            }
            if let (from, dom) = context.ownedDomainHost[vm.name], from != host.name {
                out += move(vm, dom, from: from)
                continue
            }
            out += create(vm)
        }
        // Domains this fleet owns that are no longer declared here (deleted, or moved to another host).
        for dom in live.domains where context.owns(dom.owner) && !vms.contains(where: { $0.name == dom.name }) {
            let ref = ObjectRef(.vm, dom.name)
            if let target = fleet.vms.first(where: { $0.name == dom.name }), target.host != host.name {
                // A migration removes the domain from this host itself; a refused move leaves it here.
                // Only a recreation on the new host (PCI passthrough) deletes it here.
                if !hostBound(dom, target).isEmpty && target.onHostChange == .recreate {
                    out.append(Change(ref, .delete, reason: "recreated on \(target.host) (on_host_change: recreate)",
                                      steps: [.undefineDomain], destructive: true))
                }
                continue
            }
            // Its disks are deleted next: it is forced off, not shut down gracefully.
            out.append(Change(ref, .delete, attributes: [.init("state", before: dom.state.rawValue, after: nil)],
                              reason: "no longer declared", steps: [.undefineDomain], destructive: true))
        }
        return out
    }

    /// The hostdevs that tie the domain to its host (libvirt refuses to migrate or memory-snapshot it with any of
    /// them, docs/planning.md): those of its persistent and running definitions, including the PCI function of an
    /// `<interface type='hostdev'>` (libvirt keeps it among the domain's hostdevs), and the PCI devices the manifest adds.
    func hostBound(_ dom: LiveDomain?, _ vm: VMSpec) -> [LiveHostdev] {
        var out: [LiveHostdev] = []
        let configs = [dom?.config, dom?.live].compactMap { $0 }
        let nics = configs.flatMap(\.nics).compactMap { n -> LiveHostdev? in
            guard case .hostdev(let addr) = n.source else { return nil }
            return LiveHostdev(type: addr.hasPrefix("usb ") ? "usb" : "pci", source: addr)
        }
        for h in configs.flatMap(\.hostDevices) + nics + deviceKinds(vm).map(hostdev)
        where h.bindsToHost && !out.contains(where: { $0.type == h.type && $0.source == h.source }) {
            out.append(h)
        }
        return out
    }

    func hostdev(_ k: DeviceKind) -> LiveHostdev {
        DomainConfig(vcpus: 1, maxVcpus: 1, memory: .init(bytes: 0), maxMemory: .init(bytes: 0), hostdevs: [k]).hostDevices[0]
    }

    /// `PCI passthrough (pci 0000:00:00.0)`, `hostdevs (scsi scsi_host0 0:0:0, mdev …)`.
    func boundText(_ b: [LiveHostdev]) -> String {
        if b.allSatisfy({ $0.type == "pci" && $0.mode == "subsystem" }) {
            return "PCI passthrough (\(b.map(\.description).joined(separator: ", ")))"
        }
        return "host-bound hostdevs (\(b.map(\.description).joined(separator: ", ")))"
    }

    func deviceKinds(_ vm: VMSpec) -> [DeviceKind] { vm.hostdevs.compactMap { context.devices[$0]?.kind } }

    func missingDevices(_ vm: VMSpec) -> [String] {
        guard let present = live.nodeDevices else { return [] }
        return vm.hostdevs.compactMap { name -> String? in
            guard let d = context.devices[name] else { return "device \(name) is not declared" }
            let found = present.contains { p in
                switch (p, d.kind) {
                case let (.pci(a), .pci(b)): return a == b
                case let (.usb(v1, p1), .usb(v2, p2)): return v1 == v2 && p1 == p2
                default: return false
                }
            }
            return found ? nil : "device \(name) (\(describe(d.kind))) is not present on host \(host.name)"
        }
    }

    func create(_ vm: VMSpec) -> [Change] {
        let ref = ObjectRef(.vm, vm.name)
        var steps: [Step] = [.defineDomain]
        if vm.autostart == true { steps.append(.setAutostart(true)) }
        var attrs: [AttributeChange] = [
            .init("vcpus", before: nil, after: vcpuText(vm.vcpus, vm.maxVcpus)),
            .init("memory", before: nil, after: memText(vm.memory, vm.maxMemory)),
        ]
        for (i, d) in vm.disks.enumerated() { attrs.append(.init("disk \(i)", before: nil, after: "\(d.pool)/\(d.volumeName(vm: vm.name))")) }
        for n in vm.networks { attrs.append(.init("nic \(n.mac)", before: nil, after: "\(n.network) \(n.model.rawValue)")) }
        if let g = vm.graphics { attrs.append(.init("graphics", before: nil, after: graphicsText(g))) }
        if vm.guestAgent == true { attrs.append(.init("guest_agent", before: nil, after: "true")) }
        if vm.graphics?.password != nil { attrs.append(.init("graphics.password", before: nil, after: "set", sensitive: true)) }
        for h in vm.hostdevs { attrs.append(.init("hostdev \(h)", before: nil, after: context.devices[h].map { describe($0.kind) })) }
        var out = [Change(ref, .create, attributes: attrs, reason: "VM does not exist", steps: steps)]
        if vm.state == .running {
            out.append(Change(ref, .start, attributes: [.init("state", before: nil, after: "running")], reason: "state: running", steps: [.startDomain]))
        }
        out += snapshotChanges(vm, existing: [], bound: hostBound(nil, vm))
        return out
    }

    func move(_ vm: VMSpec, _ dom: LiveDomain, from: String) -> [Change] {
        let ref = ObjectRef(.vm, vm.name)
        let bound = hostBound(dom, vm)
        if !bound.isEmpty {
            if vm.onHostChange == .recreate {
                var out = create(vm)
                out[0].reason = "moves from \(from) by recreation with fresh disks (\(boundText(bound)) cannot migrate)"
                out[0].destructive = true
                out[0].action = .replace
                return out
            }
            return [Change(ref, .refused, attributes: [.init("host", before: from, after: host.name)],
                           reason: "cannot migrate a domain with \(boundText(bound)) (libvirt: \"cannot migrate a domain with <hostdev mode='\(bound[0].mode)'\(bound[0].mode == "subsystem" ? " type='\(bound[0].type)'" : "")>\"); set on_host_change: recreate to recreate it on \(host.name) with fresh disks")]
        }
        if !dom.snapshots.isEmpty {
            return [Change(ref, .refused, attributes: [.init("host", before: from, after: host.name)],
                           reason: "libvirt cannot migrate a domain that has snapshots (\(dom.snapshots.map(\.name).joined(separator: ", "))); delete them first")]
        }
        let running = dom.state.isActive
        return [Change(ref, .migrate, attributes: [.init("host", before: from, after: host.name)],
                       reason: running ? "live migration; the guest keeps running" : "offline migration of the definition; disks are created on \(host.name)",
                       steps: [.migrate(toHost: host.name, live: running)])]
    }

    func compare(_ vm: VMSpec, _ dom: LiveDomain) -> [Change] {
        let ref = ObjectRef(.vm, vm.name)
        let cfg = dom.config
        let running = dom.state.isActive
        let liveCfg = running ? dom.live : nil
        var restartAttrs: [AttributeChange] = []
        var liveAttrs: [AttributeChange] = []
        var liveSteps: [Step] = []
        var configOnly = false

        // Maxima are fixed for the life of the QEMU process.
        let maxVcpus = vm.maxVcpus ?? cfg.maxVcpus
        if let m = vm.maxVcpus, m != cfg.maxVcpus { restartAttrs.append(.init("max_vcpus", before: String(cfg.maxVcpus), after: String(m))) }
        if vm.vcpus != cfg.vcpus || (liveCfg.map { $0.vcpus != vm.vcpus } ?? false) {
            let before = liveCfg.map { $0.vcpus != cfg.vcpus ? "\(cfg.vcpus) (running: \($0.vcpus))" : String(cfg.vcpus) } ?? String(cfg.vcpus)
            let attr = AttributeChange("vcpus", before: before, after: String(vm.vcpus))
            // vCPUs hot-plug, but unplugging needs guest cooperation QEMU's default CPU models lack
            // ("device unplug request for not supported device type"): fewer vCPUs wait for a restart.
            let unplug = liveCfg.map { vm.vcpus < $0.vcpus } ?? false
            if !unplug && vm.vcpus <= maxVcpus && vm.vcpus <= (liveCfg?.maxVcpus ?? maxVcpus) {
                liveAttrs.append(attr); liveSteps.append(.setVcpus(vm.vcpus, live: running))
            } else {
                restartAttrs.append(attr)
            }
        }
        let maxMemory = vm.maxMemory ?? cfg.maxMemory
        if let m = vm.maxMemory, m != cfg.maxMemory { restartAttrs.append(.init("max_memory", before: cfg.maxMemory.description, after: m.description)) }
        // The live figure is the balloon's actual size. A guest without a balloon driver stays at the
        // boot maximum whatever the target, so only a figure that is neither the configured nor the
        // maximum memory says someone ballooned it (virsh setmem --live).
        let liveMemoryDrifted = liveCfg.map { $0.memory != vm.memory && $0.memory != cfg.memory && $0.memory != $0.maxMemory } ?? false
        if vm.memory != cfg.memory || liveMemoryDrifted {
            let before = liveMemoryDrifted ? "\(cfg.memory) (running: \(liveCfg!.memory))" : cfg.memory.description
            let attr = AttributeChange("memory", before: before, after: vm.memory.description)
            if vm.memory <= maxMemory && vm.memory <= (liveCfg?.maxMemory ?? maxMemory) {
                liveAttrs.append(attr); liveSteps.append(.setMemory(vm.memory, live: running))
            } else {
                restartAttrs.append(attr)
            }
        }
        if let f = vm.firmware, f != (cfg.firmware ?? .bios) {
            restartAttrs.append(.init("firmware", before: (cfg.firmware ?? .bios).rawValue, after: f.rawValue))
        }
        if cfg.virtType != "test", vm.virtType.rawValue != cfg.virtType {
            restartAttrs.append(.init("virt_type", before: cfg.virtType, after: vm.virtType.rawValue))
        }
        if let m = vm.machine, !MachineType.matches(desired: m, live: cfg.machine) {
            restartAttrs.append(.init("machine", before: cfg.machine, after: m))
        }
        // The agent's virtio-serial port is defined with the domain; fleet applies it at the next boot.
        if let a = vm.guestAgent, a != cfg.guestAgent {
            restartAttrs.append(.init("guest_agent", before: String(cfg.guestAgent), after: String(a)))
        }
        if let g = vm.graphics {
            // Graphics are matched by type (as the patch does): a domain with SPICE and VNC keeps both.
            let have = cfg.graphics.first { $0.type == g.type.rawValue } ?? cfg.graphics.first
            if have?.type != g.type.rawValue || have?.listen != g.listen || (g.port != nil && have?.port != g.port) {
                restartAttrs.append(.init("graphics", before: have.map(graphicsText), after: graphicsText(g)))
            }
            if g.password != nil && have?.hasPassword != true {
                restartAttrs.append(.init("graphics.password", before: nil, after: "set", sensitive: true))
            } else if g.password != nil, let want = context.options.graphicsPasswordDigests[vm.name],
                      let haveDigest = have?.passwordDigest, want != haveDigest {
                restartAttrs.append(.init("graphics.password", before: "set", after: "changed", sensitive: true))
            }
        }
        // Passthrough devices: USB hotplugs, PCI needs a restart (and is never hotplugged by fleet).
        let want = deviceKinds(vm), have = cfg.hostdevs
        for k in want where !have.contains(k) {
            let a = AttributeChange("hostdev \(deviceName(k))", before: nil, after: describe(k))
            if k.isPCI { restartAttrs.append(a) } else { liveAttrs.append(a); liveSteps.append(.attachHostdev(k, live: running)) }
        }
        // Only devices this fleet declares are its to detach (DeviceOwnership).
        for k in have where !want.contains(k) && DeviceOwnership.isDeclaredDevice(k, in: fleet) {
            let a = AttributeChange("hostdev \(deviceName(k))", before: describe(k), after: nil)
            if k.isPCI { restartAttrs.append(a) } else { liveAttrs.append(a); liveSteps.append(.detachHostdev(k, live: running)) }
        }
        // NICs, matched by MAC (stable: fleet derives it from the VM and NIC position).
        let haveNICs = Dictionary(cfg.nics.compactMap { n in n.mac.map { ($0, n) } }, uniquingKeysWith: { a, _ in a })
        for nic in vm.networks {
            guard let h = haveNICs[nic.mac] else {
                liveAttrs.append(.init("nic \(nic.mac)", before: nil, after: "\(nic.network) \(nic.model.rawValue)"))
                liveSteps.append(.attachInterface(nic.mac, live: running))
                continue
            }
            if h.source != .network(nic.network) {
                liveAttrs.append(.init("nic \(nic.mac)", before: sourceText(h.source), after: nic.network))
                liveSteps.append(.detachInterface(nic.mac, live: running))
                liveSteps.append(.attachInterface(nic.mac, live: running))
            } else if let m = h.model, m != nic.model.rawValue {
                restartAttrs.append(.init("nic \(nic.mac).model", before: m, after: nic.model.rawValue))
            }
        }
        for h in cfg.nics {
            guard let mac = h.mac, !vm.networks.contains(where: { $0.mac == mac }),
                  DeviceOwnership.isDerivedMAC(mac, fleet: fleet.name, vm: vm.name) else { continue }
            liveAttrs.append(.init("nic \(mac)", before: sourceText(h.source), after: nil))
            liveSteps.append(.detachInterface(mac, live: running))
        }
        // Disks, matched by pool volume.
        let seed = vm.seedVolume?.name ?? ""
        let haveDisks = cfg.disks.filter { $0.device == .disk && $0.volume != seed }
        for (i, d) in vm.disks.enumerated() {
            let vol = d.volumeName(vm: vm.name)
            guard let h = haveDisks.first(where: { $0.pool == d.pool && $0.volume == vol }) else {
                let a = AttributeChange("disk \(i)", before: nil, after: "\(d.pool)/\(vol)")
                if i == 0 { restartAttrs.append(a) } else { liveAttrs.append(a); liveSteps.append(.attachDisk(name: d.name, live: running)) }
                continue
            }
            if let b = h.bus, b != d.bus { restartAttrs.append(.init("disk \(i).bus", before: b.rawValue, after: d.bus.rawValue)) }
            if let f = h.format, f != d.format { restartAttrs.append(.init("disk \(i).format", before: f.rawValue, after: d.format.rawValue)) }
        }
        // Only a disk on a volume this fleet owns is ever removed; any other disk (a file, a device, another
        // tool's volume) is not fleet's to take away, and an update keeps it (docs/planning.md, the patch rule).
        for h in haveDisks where !vm.disks.contains(where: { $0.pool == h.pool && $0.volumeName(vm: vm.name) == h.volume }) {
            guard let p = h.pool, let v = h.volume, let lv = liveVolume(p, v), lv.owner?.kind == .volume, context.owns(lv.owner) else { continue }
            restartAttrs.append(.init("disk \(h.target)", before: h.sourceText, after: nil))
        }
        let haveCdrom = cfg.disks.first { $0.device == .cdrom && $0.volume != seed }
        if let c = vm.cdrom, haveCdrom?.path != c {
            restartAttrs.append(.init("cdrom", before: haveCdrom?.path, after: c))
        }
        if let d = vm.description, d != (cfg.description ?? "") {
            liveAttrs.append(.init("description", before: cfg.description, after: d))
            configOnly = true
        }
        if let a = vm.autostart, a != dom.autostart {
            liveAttrs.append(.init("autostart", before: String(dom.autostart), after: String(a)))
            liveSteps.append(.setAutostart(a))
        }

        var out: [Change] = []
        if !restartAttrs.isEmpty {
            var steps: [Step] = [.defineDomain]
            steps += liveSteps.filter(\.isHotplug)
            steps += liveSteps.filter { !$0.isHotplug }
            if running {
                steps.append(.restartDomain)
                out.append(Change(ref, .updateRestart, attributes: liveAttrs + restartAttrs,
                                  reason: "takes effect at the next boot: \(restartAttrs.map(\.name).joined(separator: ", ")); apply restarts the guest only with --allow-restart",
                                  steps: steps))
            } else {
                out.append(Change(ref, .update, attributes: liveAttrs + restartAttrs,
                                  reason: "the VM is stopped: the new definition applies at its next start", steps: steps))
            }
        } else if !liveAttrs.isEmpty {
            var steps = liveSteps
            if configOnly { steps.insert(.defineDomain, at: 0) }
            out.append(Change(ref, .update, attributes: liveAttrs,
                              reason: running ? "applied to the running guest and its config, no restart" : "applied to the config",
                              steps: steps))
        }
        switch (vm.state, running) {
        case (.running, false):
            out.append(Change(ref, .start, attributes: [.init("state", before: dom.state.rawValue, after: "running")], reason: "state: running", steps: [.startDomain]))
        case (.stopped, true):
            out.append(Change(ref, .stop, attributes: [.init("state", before: dom.state.rawValue, after: "stopped")],
                              reason: "state: stopped (graceful shutdown, forced after a timeout)", steps: [.stopDomain]))
        default: break
        }
        out += snapshotChanges(vm, existing: dom.snapshots, bound: hostBound(dom, vm))
        return out
    }

    func snapshotChanges(_ vm: VMSpec, existing: [LiveSnapshot], bound: [LiveHostdev]) -> [Change] {
        var out: [Change] = []
        let parent = ObjectRef(.vm, vm.name)
        for name in vm.snapshots where !existing.contains(where: { $0.name == name }) {
            let ref = ObjectRef(.snapshot, "\(vm.name)/\(name)")
            if !bound.isEmpty {
                out.append(Change(ref, .refused, reason: "libvirt cannot snapshot a domain with \(boundText(bound)) (the device state cannot be saved: qemu_snapshot.c runs the migration check, which refuses every hostdev but USB)", parent: parent))
            } else {
                out.append(Change(ref, .create, reason: "snapshot declared", steps: [.createSnapshot(name)], parent: parent))
            }
        }
        for s in existing where s.fleet == fleet.name && !vm.snapshots.contains(s.name) {
            out.append(Change(ObjectRef(.snapshot, "\(vm.name)/\(s.name)"), .delete, reason: "no longer declared",
                              steps: [.deleteSnapshot(s.name)], destructive: true, parent: parent))
        }
        return out
    }

    func deviceName(_ k: DeviceKind) -> String {
        fleet.devices.first { $0.kind == k && $0.host == host.name }?.name ?? describe(k)
    }
}

// MARK: Display helpers

func describe(_ k: DeviceKind) -> String { k.description }

func vcpuText(_ n: Int, _ max: Int?) -> String { max.map { "\(n) (max \($0))" } ?? String(n) }
func memText(_ m: ByteSize, _ max: ByteSize?) -> String { max.map { "\(m) (max \($0))" } ?? m.description }
func graphicsText(_ g: GraphicsSpec) -> String { "\(g.type.rawValue) \(g.listen):\(g.port.map(String.init) ?? "auto")" }
func graphicsText(_ g: LiveGraphics) -> String { "\(g.type) \(g.listen ?? "?"):\(g.port.map(String.init) ?? "auto")" }
func sourceText(_ s: InterfaceSource) -> String { s.description }
func normalisePath(_ p: String) -> String {
    var s = p
    while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
    return s
}

extension Step {
    /// Steps that plug a device into the running guest.
    var isHotplug: Bool {
        switch self {
        case .attachDisk, .attachInterface, .detachInterface, .attachHostdev, .detachHostdev: return true
        default: return false
        }
    }
}
