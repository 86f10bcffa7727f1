import FleetModel

/// What `fleet plan --out FILE` writes. A saved plan describes; it never commands: `fleet apply FILE`
/// reloads the manifests it names (which must still have the recorded digests), recomputes the plan
/// against the live state with the same options, and applies only if the result equals `plan` change for
/// change. The steps in the file are never executed as written (docs/ownership.md, "Saved plans").
public struct SavedPlan: Codable, Sendable {
    public static let currentFormat = 4
    public var format: Int
    /// The manifest paths as loaded (absolute).
    public var paths: [String]
    /// sha256 of every manifest file read, by absolute path.
    public var manifests: [String: String]
    /// The hosts planned, with `--connect` overrides applied.
    public var hosts: [HostSpec]
    public var adopt: Bool
    public var targets: [ObjectRef]
    /// `--rebalance` (nil in plans saved before it existed: false).
    public var rebalance: Bool?
    /// `fleet plan --max-unavailable N`: the rollout budget the plan's waves were cut with (the waves are in `plan`).
    public var maxUnavailable: Int?
    public var plan: Plan

    public init(
        paths: [String], manifests: [String: String], hosts: [HostSpec], adopt: Bool, targets: [ObjectRef], maxUnavailable: Int? = nil,
        plan: Plan
    ) {
        format = Self.currentFormat
        self.paths = paths
        self.manifests = manifests
        self.hosts = hosts
        self.adopt = adopt
        self.targets = targets
        self.maxUnavailable = maxUnavailable
        self.plan = plan
    }

    /// The differences between the saved plan and a recomputed one, one line each; empty when they are equal.
    public static func differences(saved: Plan, now: Plan) -> [String] {
        var out: [String] = []
        let hosts = Set(saved.hosts.map(\.host)).union(now.hosts.map(\.host)).sorted()
        for h in hosts {
            let a = saved.hosts.first { $0.host == h }
            let b = now.hosts.first { $0.host == h }
            guard let a, let b else {
                out.append("host \(h): \(a == nil ? "not in the saved plan" : "no longer planned")")
                continue
            }
            if a.uri != b.uri { out.append("host \(h): URI \(a.uri) → \(b.uri)") }
            if a.error != b.error { out.append("host \(h): \(b.error ?? "now readable")") }
            if a.changes == b.changes { continue }
            let onlySaved = a.changes.filter { !b.changes.contains($0) }
            let onlyNow = b.changes.filter { !a.changes.contains($0) }
            for c in onlySaved {
                out.append("host \(h): saved plan has \(c.action.rawValue) \(c.object), which the manifests and hosts no longer give")
            }
            for c in onlyNow { out.append("host \(h): now \(c.action.rawValue) \(c.object), which the saved plan does not have") }
            if onlySaved.isEmpty && onlyNow.isEmpty { out.append("host \(h): the same changes in another order") }
        }
        if saved.rollouts != now.rollouts {
            let describe = { (p: Plan) in
                (p.rollouts ?? []).map { r in "\(r.group) \(r.waves.map { $0.joined(separator: ",") }.joined(separator: " | "))" }
                    .joined(separator: "; ")
            }
            out.append("rollouts: saved [\(describe(saved))], now [\(describe(now))]")
        }
        return out
    }
}
