import FleetModel

/// What will happen to one object. The classes are documented in docs/planning.md.
public enum Action: String, Hashable, Codable, Sendable, CaseIterable {
    case create
    /// Applied in place; a running guest does not notice (or notices only the hotplug itself).
    case update
    /// Written to the persistent config; takes effect at the next boot. apply restarts only with --allow-restart.
    case updateRestart = "update-restart"
    /// Destroy and recreate. Destructive: apply needs --allow-destroy.
    case replace
    case delete
    case start
    case stop
    case migrate
    /// Take an existing unmanaged object under management (--adopt): writes the ownership mark.
    case adopt
    /// A change fleet will not make; `reason` says why. Never attempted.
    case refused
}

/// `kind/name`, as `--target` accepts. Volume names are `pool/volume`, snapshot names `vm/snapshot`.
public struct ObjectRef: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    public var kind: ObjectKind
    public var name: String
    public init(_ kind: ObjectKind, _ name: String) {
        self.kind = kind
        self.name = name
    }
    public var description: String { "\(kind.rawValue)/\(name)" }
    public static func < (a: ObjectRef, b: ObjectRef) -> Bool { (a.kind, a.name) < (b.kind, b.name) }

    public init?(parsing text: String) {
        guard let slash = text.firstIndex(of: "/"), let kind = ObjectKind(rawValue: String(text[..<slash])) else { return nil }
        let name = String(text[text.index(after: slash)...])
        guard !name.isEmpty else { return nil }
        self.init(kind, name)
    }
}

public struct AttributeChange: Hashable, Codable, Sendable {
    public var name: String
    public var before: String?
    public var after: String?
    /// Redacted as `(sensitive)` by every renderer.
    public var sensitive: Bool
    public init(_ name: String, before: String?, after: String?, sensitive: Bool = false) {
        self.name = name
        self.before = before
        self.after = after
        self.sensitive = sensitive
    }
}

/// A machine-readable instruction for the executor. The specs a step needs travel with its change
/// (`Change.subject`); everything else comes from the live object at apply time.
public enum Step: Hashable, Codable, Sendable {
    case definePool, buildPool, startPool, undefinePool
    case createVolume
    case resizeVolume(ByteSize)
    case deleteVolume
    /// Build a VM's cloud-init NoCloud seed and upload it into its volume.
    case createSeed
    /// Upload a VM's Ignition config into its volume (0600, beside the disks).
    case createIgnition
    /// After a live block resize: grow the partition (growpart) and filesystem (resize2fs, xfs_growfs) on the
    /// disk inside the running guest, through qemu-guest-agent.
    case growGuestFilesystem
    case uploadImage
    case defineNetwork, startNetwork, restartNetwork, undefineNetwork
    case addLease(DHCPLease)
    case removeLease(DHCPLease)
    /// Render the desired domain and define it (new, or the persistent config of an existing one, keeping its UUID).
    /// When a change has this step, its hotplug steps below apply to the running guest only: the
    /// new definition already holds them.
    case defineDomain
    case startDomain, stopDomain, undefineDomain
    /// Shut down and start again so the persistent config takes effect (only with --allow-restart).
    case restartDomain
    case setVcpus(Int, live: Bool)
    case setMemory(ByteSize, live: Bool)
    case attachDisk(name: String, live: Bool)
    case attachInterface(MACAddress, live: Bool)
    case detachInterface(MACAddress, live: Bool)
    case attachHostdev(DeviceKind, live: Bool)
    case detachHostdev(DeviceKind, live: Bool)
    case createSnapshot(String)
    case deleteSnapshot(String)
    case migrate(toHost: String, live: Bool)
    case setAutostart(Bool)
    case writeOwnerMark
}

/// The desired object a change brings about, as the planner resolved it: the executor takes specs from here
/// and never looks one up in the fleet by name.
public enum Subject: Hashable, Codable, Sendable {
    case pool(PoolSpec)
    case network(NetworkSpec)
    case image(ImageSpec)
    case vm(VMSpec)
    /// A VM's disk volume: the VM, the disk's index in `vm.disks` (its guest target follows from it), and
    /// the image the disk is made from.
    case disk(vm: VMSpec, index: Int, image: ImageSpec?)
    /// A VM's cloud-init seed volume.
    case seed(VMSpec)
    /// A VM's Ignition config volume.
    case ignition(VMSpec)

    /// The VM a domain, disk or seed change is about.
    public var vm: VMSpec? {
        switch self {
        case .vm(let vm), .disk(let vm, _, _), .seed(let vm), .ignition(let vm): return vm
        case .pool, .network, .image: return nil
        }
    }
}

public struct Change: Hashable, Codable, Sendable {
    public var object: ObjectRef
    public var action: Action
    public var attributes: [AttributeChange]
    /// For display only: apply decides from `action` and `steps`, never from this text.
    public var reason: String
    public var steps: [Step]
    /// Loses data (a disk, a VM): apply needs --allow-destroy.
    public var destructive: Bool
    /// The VM a volume or snapshot belongs to, so `--target vm/NAME` includes them.
    public var parent: ObjectRef?
    /// The UUID of the live object the change was planned against (domains, networks, pools). The executor
    /// checks it, and fleet's mark, right before it changes the object: a look-alike made since is never touched.
    public var uuid: String?
    /// The desired object, for every change but refusals and deletions of undeclared objects.
    public var subject: Subject?

    public init(
        _ object: ObjectRef, _ action: Action, attributes: [AttributeChange] = [], reason: String,
        steps: [Step] = [], destructive: Bool = false, parent: ObjectRef? = nil, subject: Subject? = nil
    ) {
        self.object = object
        self.action = action
        self.attributes = attributes
        self.reason = reason
        self.steps = steps
        self.destructive = destructive
        self.parent = parent
        self.subject = subject
    }
}

public struct HostPlan: Hashable, Codable, Sendable {
    public var host: String
    public var uri: String
    /// Set when the host could not be read; the host then has no changes.
    public var error: String?
    public var changes: [Change]
    /// What preflight found that does not block (docs/planning.md, "Preflight"); nil when nothing.
    public var warnings: [String]?
    public init(host: String, uri: String, error: String? = nil, changes: [Change] = [], warnings: [String]? = nil) {
        self.host = host
        self.uri = uri
        self.error = error
        self.changes = changes
        self.warnings = warnings
    }
}

public struct PlanSummary: Hashable, Codable, Sendable {
    public var create = 0, updateLive = 0, updateRestart = 0, replace = 0, delete = 0, migrate = 0, refused = 0
    public var total: Int { create + updateLive + updateRestart + replace + delete + migrate + refused }
    public var actionable: Int { total - refused }
}

/// A plan: a pure function of desired and live state (see `Planner.plan`). Codable so that
/// `fleet plan --out FILE` can save it and `fleet apply FILE` can run exactly it.
public struct Plan: Hashable, Codable, Sendable {
    public var fleet: String
    public var hosts: [HostPlan]
    /// What the plan was computed for, so a saved plan is applied against the same intent.
    public var desired: Fleet
    /// A fingerprint of the live state the plan was computed from (set by the caller).
    public var liveFingerprint: String?
    /// Where placement put each VM with `host: auto` or `hosts:`, and why; nil when no VM has them.
    public var placements: [PlacementDecision]?
    /// The waves of the VM groups with a rollout (docs/planning.md, "Rollouts"); nil when none.
    public var rollouts: [Rollout]?

    public init(fleet: String, hosts: [HostPlan], desired: Fleet, liveFingerprint: String? = nil) {
        self.fleet = fleet
        self.hosts = hosts
        self.desired = desired
        self.liveFingerprint = liveFingerprint
    }

    public var changes: [Change] { hosts.flatMap(\.changes) }
    public var hasErrors: Bool { hosts.contains { $0.error != nil } }
    public var isEmpty: Bool { changes.isEmpty }

    public var summary: PlanSummary {
        var s = PlanSummary()
        for c in changes {
            switch c.action {
            case .create: s.create += 1
            case .update, .start, .stop, .adopt: s.updateLive += 1
            case .updateRestart: s.updateRestart += 1
            case .replace: s.replace += 1
            case .migrate: s.migrate += 1
            case .delete: s.delete += 1
            case .refused: s.refused += 1
            }
        }
        return s
    }
}

extension Fleet {
    /// Every object the manifests declare, as `--target` names them.
    public var declaredObjects: [ObjectRef] {
        var out: [ObjectRef] = pools.map { ObjectRef(.pool, $0.name) } + networks.map { ObjectRef(.network, $0.name) }
        out += images.map { ObjectRef(.image, $0.name) } + devices.map { ObjectRef(.device, $0.name) }
        for vm in vms {
            out.append(ObjectRef(.vm, vm.name))
            out += vm.disks.map { ObjectRef(.volume, "\($0.pool)/\($0.volumeName(vm: vm.name))") }
            if let seed = vm.seedVolume { out.append(ObjectRef(.volume, "\(seed.pool)/\(seed.name)")) }
            if let ign = vm.ignitionVolume { out.append(ObjectRef(.volume, "\(ign.pool)/\(ign.name)")) }
            out += vm.snapshots.map { ObjectRef(.snapshot, "\(vm.name)/\($0)") }
        }
        return out
    }
}
