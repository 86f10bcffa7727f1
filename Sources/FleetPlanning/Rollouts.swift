import FleetModel

/// One VM group's rollout, as planned: its VMs with a disruptive change, in waves of at most `maxUnavailable`
/// (docs/planning.md, "Rollouts"). The executor runs the waves one after another across every host, waiting for
/// a wave's VMs to be ready before the next; every change of a wave's VM runs in that wave.
public struct Rollout: Hashable, Codable, Sendable {
    /// The VM entry's name, or `profile NAME`.
    public var group: String
    /// VMs in the group, on every host (what a percentage is taken of).
    public var size: Int
    /// As declared (`1`, `25%`), or `--max-unavailable N`.
    public var budget: String
    /// VMs per wave: the budget resolved against the group's size.
    public var maxUnavailable: Int
    /// What a wave waits for.
    public var wait: ReadinessWait
    /// Seconds a wave's VMs have to be ready.
    public var timeout: Int
    /// VM names, wave by wave.
    public var waves: [[String]]

    public init(
        group: String, size: Int, budget: String, maxUnavailable: Int, wait: ReadinessWait, timeout: Int, waves: [[String]]
    ) {
        self.group = group
        self.size = size
        self.budget = budget
        self.maxUnavailable = maxUnavailable
        self.wait = wait
        self.timeout = timeout
        self.waves = waves
    }

    /// The wave (0-based) a VM is in, if it is in this rollout.
    public func wave(of vm: String) -> Int? { waves.firstIndex { $0.contains(vm) } }
}

/// The one home of the rollout rules: which changes take a VM down, and how a group's VMs are cut into waves.
/// Pure.
public enum Rollouts {
    /// The VM a change is about: a VM's own change, or one of its volumes or snapshots.
    public static func vm(of c: Change) -> String? {
        if c.object.kind == .vm { return c.object.name }
        return c.parent?.kind == .vm ? c.parent?.name : nil
    }

    /// Whether a change takes its VM down: a restart (update-restart), a recreation (replace), or the reimage of
    /// a disk of a running VM (the executor stops and starts it around the new disk). A seed or Ignition volume is
    /// swapped under the running guest, and a live migration keeps it running: neither counts.
    public static func disrupts(_ c: Change, running: Bool) -> Bool {
        switch (c.object.kind, c.action) {
        case (.vm, .updateRestart), (.vm, .replace): return true
        case (.volume, .replace):
            return running && c.parent?.kind == .vm && !c.steps.contains(.createSeed) && !c.steps.contains(.createIgnition)
        default: return false
        }
    }

    /// The rollouts of a plan's changes: per group with a `rollout:` (or every VM group, with `override`, which then
    /// replaces each group's budget), the group's VMs that have a disruptive change, in name order (numbers in names
    /// compare as numbers: web-2 before web-10), cut into waves. `running`: the VMs whose domain runs now.
    public static func plan(_ changes: [Change], desired: Fleet, running: Set<String>, override: Int? = nil) -> [Rollout] {
        struct Group {
            var spec: RolloutSpec?
            var members: [VMSpec] = []
        }
        var groups: [String: Group] = [:]
        for vm in desired.vms {
            if let r = vm.rollout {
                groups[r.group, default: Group(spec: r)].members.append(vm)
            } else if override != nil {
                groups[vm.group, default: Group()].members.append(vm)
            }
        }
        var disrupted: Set<String> = []
        for c in changes where c.action != .refused {
            if let name = vm(of: c), disrupts(c, running: running.contains(name)) { disrupted.insert(name) }
        }
        var out: [Rollout] = []
        for (name, g) in groups.sorted(by: { naturalOrder($0.key, $1.key) }) {
            let vms = g.members.map(\.name).filter(disrupted.contains).sorted(by: naturalOrder)
            guard !vms.isEmpty else { continue }
            let budget: RolloutSpec.Budget = override.map { .count($0) } ?? g.spec?.maxUnavailable ?? .count(1)
            let limit = budget.limit(groupSize: g.members.count)
            // A group's VMs may each declare their own wait: (a rollout without wait: uses it): the first VM's, in order.
            let first = g.members.sorted { naturalOrder($0.name, $1.name) }.first
            out.append(
                Rollout(
                    group: name, size: g.members.count, budget: override.map { "--max-unavailable \($0)" } ?? budget.description,
                    maxUnavailable: limit, wait: g.spec?.wait ?? first?.wait ?? .none,
                    timeout: Int((g.spec?.timeout ?? RolloutSpec.defaultTimeout).value),
                    waves: stride(from: 0, to: vms.count, by: limit).map { Array(vms[$0..<min($0 + limit, vms.count)]) }))
        }
        return out
    }

    /// Name order in which runs of digits compare as numbers: `web-2` < `web-10`.
    public static func naturalOrder(_ a: String, _ b: String) -> Bool {
        var i = a.unicodeScalars.makeIterator()
        var j = b.unicodeScalars.makeIterator()
        var x = i.next()
        var y = j.next()
        func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0 >= "0" && $0 <= "9" } ?? false }
        while let cx = x, let cy = y {
            if isDigit(cx) && isDigit(cy) {
                var nx = ""
                var ny = ""
                while isDigit(x) {
                    nx.unicodeScalars.append(x!)
                    x = i.next()
                }
                while isDigit(y) {
                    ny.unicodeScalars.append(y!)
                    y = j.next()
                }
                let tx = nx.drop { $0 == "0" }
                let ty = ny.drop { $0 == "0" }
                if tx.count != ty.count { return tx.count < ty.count }
                if tx != ty { return tx < ty }
                if nx.count != ny.count { return nx.count < ny.count }
                continue
            }
            if cx != cy { return cx.value < cy.value }
            x = i.next()
            y = j.next()
        }
        return x == nil && y != nil
    }
}

extension Plan {
    /// The rollout and wave (0-based) a change runs in, if any.
    public func wave(of c: Change) -> (rollout: Rollout, wave: Int)? {
        guard let name = Rollouts.vm(of: c) else { return nil }
        for r in rollouts ?? [] { if let w = r.wave(of: name) { return (r, w) } }
        return nil
    }
}
