import FleetModel

/// Text rendering of a plan, Terraform-like. Pure: the CLI decides where it goes and whether colour is on.
public struct PlanRenderer: Sendable {
    public var color: Bool
    public init(color: Bool = false) { self.color = color }

    public static func marker(_ a: Action) -> String {
        switch a {
        case .create: return "+"
        case .update, .start, .stop, .adopt, .migrate: return "~"
        case .updateRestart: return "!"
        case .replace: return "±"
        case .delete: return "-"
        case .refused: return "x"
        }
    }

    public static func label(_ a: Action) -> String {
        switch a {
        case .create: return "create"
        case .update: return "update in place"
        case .updateRestart: return "update, needs restart"
        case .replace: return "replace"
        case .delete: return "delete"
        case .start: return "start"
        case .stop: return "stop"
        case .migrate: return "migrate"
        case .adopt: return "adopt"
        case .refused: return "refused"
        }
    }

    func paint(_ s: String, _ a: Action) -> String {
        guard color else { return s }
        let code: String
        switch a {
        case .create: code = "32"
        case .update, .start, .stop, .adopt, .migrate: code = "33"
        case .updateRestart: code = "35"
        case .replace, .delete: code = "31"
        case .refused: code = "1;31"
        }
        return "\u{1B}[\(code)m\(s)\u{1B}[0m"
    }

    public static func summaryLine(_ s: PlanSummary) -> String {
        var parts = [
            "\(s.create) to create", "\(s.updateLive) to update live", "\(s.updateRestart) need restart",
            "\(s.replace) to replace", "\(s.delete) to delete"
        ]
        if s.migrate > 0 { parts.append("\(s.migrate) to migrate") }
        parts.append("\(s.refused) refused")
        return parts.joined(separator: ", ")
    }

    public func render(_ plan: Plan) -> String {
        var out = "fleet \(plan.fleet): " + Self.summaryLine(plan.summary) + "\n"
        let decisions = plan.shownPlacements
        if !decisions.isEmpty {
            out += "\nplacement (host: auto, hosts:)\n"
            for d in decisions {
                let head = "  \(d.outcome == .refused ? "x" : "→") vm/\(d.vm)  \(Self.label(d))"
                out += (d.outcome == .refused ? paint(head, .refused) : head) + "\n"
                out += "      # \(d.reason)\n"
            }
        }
        for h in plan.hosts {
            out += "\nhost \(h.host) (\(h.uri))"
            if let e = h.error {
                out += "\n  " + (color ? "\u{1B}[1;31merror:\u{1B}[0m " : "error: ") + e + "\n"
                continue
            }
            let warnings = (h.warnings ?? []).map { "  " + (color ? "\u{1B}[33mwarning:\u{1B}[0m " : "warning: ") + $0 + "\n" }.joined()
            if h.changes.isEmpty {
                out += ": no changes\n" + warnings
                continue
            }
            out += "\n" + warnings
            for c in h.changes {
                let head = "  \(Self.marker(c.action)) \(c.object)  \(Self.label(c.action))" + (c.destructive ? " (destroys data)" : "")
                out += paint(head, c.action) + "\n"
                out += "      # \(c.reason)\n"
                for a in c.attributes {
                    switch (a.before, a.after) {
                    case (nil, _?): out += "      \(a.name): \(a.shownAfter)\n"
                    case (_?, nil): out += "      \(a.name): \(a.shownBefore) → (removed)\n"
                    default: out += "      \(a.name): \(a.shownBefore) → \(a.shownAfter)\n"
                    }
                }
            }
        }
        for r in plan.rollouts ?? [] {
            out += "\n" + Self.rolloutLine(r) + "\n"
            for (i, w) in r.waves.enumerated() { out += "  wave \(i + 1): \(w.joined(separator: ", "))\n" }
        }
        return out
    }

    /// `rollout web: 3 waves of at most 1 of 3 VMs (max_unavailable 1); each wave once the last is ready (wait: agent, timeout 5m)`.
    public static func rolloutLine(_ r: Rollout) -> String {
        let waves = r.waves.count == 1 ? "1 wave" : "\(r.waves.count) waves"
        let budget = r.budget.hasPrefix("--") ? r.budget : "max_unavailable \(r.budget)"
        let wait =
            r.wait == .none
            ? "each wave once the last is started (wait: none)"
            : "each wave once the last is ready (wait: \(r.wait.rawValue), timeout \(Seconds(UInt64(r.timeout))))"
        return "rollout \(r.group): \(waves) of at most \(r.maxUnavailable) of \(r.size) VM\(r.size == 1 ? "" : "s") (\(budget)); \(wait)"
    }
}

extension PlanRenderer {
    /// `placed on kvm1`, `moves from kvm1 to kvm2`, `not placed`.
    public static func label(_ d: PlacementDecision) -> String {
        switch d.outcome {
        case .kept: return "stays on \(d.host)"
        case .placed: return "placed on \(d.host)"
        case .moved: return "moves from \(d.from ?? "?") to \(d.host)"
        case .refused: return "not placed"
        }
    }
}

extension Plan {
    /// The placement decisions the renderers show: every one but a VM staying where it is (the JSON has them all).
    public var shownPlacements: [PlacementDecision] { (placements ?? []).filter { $0.outcome != .kept } }
}

extension AttributeChange {
    /// The value before, as every renderer shows it: a sensitive value is `(sensitive)`, never itself.
    public var shownBefore: String { sensitive && before != nil ? "(sensitive)" : (before ?? "") }
    /// The value after, as every renderer shows it.
    public var shownAfter: String { sensitive && after != nil ? "(sensitive)" : (after ?? "") }
}

extension Change {
    /// Needs a reader's attention before apply: it loses data, or fleet will not make it.
    public var needsAttention: Bool { destructive || action == .replace || action == .delete || action == .refused }
}
