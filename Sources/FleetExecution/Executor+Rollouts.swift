import FleetModel
import FleetPlanning
import Foundation

/// When each change of a plan runs, with rollouts (docs/planning.md, "Rollouts"): a change of a VM in a rollout's
/// wave runs in that wave (its volumes and seed too, so the scheduler still orders them before it); a change that
/// depends on one of those (an image version a reimaged disk leaves, a pool emptied by it) runs after every
/// rollout; everything else before. Pure.
struct RolloutPhases {
    enum Phase: Equatable {
        case before
        /// Rollout index, wave index (both 0-based).
        case wave(Int, Int)
        case after
    }

    /// By host index, then change index, as in `plan.hosts`.
    let phase: [[Phase]]

    init(_ plan: Plan) {
        var wave: [String: (Int, Int)] = [:]
        for (r, rollout) in (plan.rollouts ?? []).enumerated() {
            for (w, vms) in rollout.waves.enumerated() { for vm in vms { wave[vm] = (r, w) } }
        }
        var phase = plan.hosts.map { hp in
            hp.changes.map { c in Rollouts.vm(of: c).flatMap { wave[$0] }.map { Phase.wave($0.0, $0.1) } ?? .before }
        }
        var deferred = Set(
            plan.hosts.indices.flatMap { h in
                plan.hosts[h].changes.indices.filter { phase[h][$0] != .before }.map { plan.hosts[h].changes[$0].object }
            }
        )
        var changed = !deferred.isEmpty
        while changed {
            changed = false
            for h in plan.hosts.indices {
                for (i, c) in plan.hosts[h].changes.enumerated() where phase[h][i] == .before {
                    if Scheduler.dependencies(c, plan: plan).contains(where: deferred.contains) {
                        phase[h][i] = .after
                        deferred.insert(c.object)
                        changed = true
                    }
                }
            }
        }
        self.phase = phase
    }
}

extension Executor {
    /// Runs the rollouts' waves: wave 1 of every rollout (each wave's changes on their hosts in parallel), then waits
    /// for the VMs those changes took down to be ready, then wave 2, and so on. A rollout whose wave has a change that
    /// did not apply, or a VM that was not ready in time, stops there: its later waves are reported as skipped.
    func runRollouts(_ rollouts: [Rollout], phases: RolloutPhases) -> ([ApplyEvent], [RolloutResult]) {
        // The changes of the waves `keep(rollout, wave)` accepts, per host, in plan order (the scheduler's stages follow it).
        func waves(_ keep: (Int, Int) -> Bool) -> [HostPlan] {
            plan.hosts.enumerated().map { h, hp in
                var out = hp
                out.changes = hp.changes.indices.filter {
                    if case .wave(let r, let w) = phases.phase[h][$0] { return keep(r, w) }
                    return false
                }.map { hp.changes[$0] }
                return out
            }
        }
        func changes(_ r: Int, _ w: Int) -> [HostPlan] { waves { $0 == r && $1 == w } }
        var events: [ApplyEvent] = []
        var results = rollouts.map { RolloutResult(group: $0.group, waves: $0.waves.count, completed: 0, stopped: nil) }
        for w in 0..<(rollouts.map(\.waves.count).max() ?? 0) {
            let active = rollouts.indices.filter { results[$0].stopped == nil && w < rollouts[$0].waves.count }
            guard !active.isEmpty else { break }
            // Wave w of every active rollout: the hosts run it in parallel.
            let merged = waves { r, v in v == w && active.contains(r) }
            let applied = runHosts(merged)
            events += applied
            // What went wrong in each rollout's wave: a change that did not apply (one skipped only for want of
            // --allow-destroy did nothing to the guest, as in every other wave).
            var waits: [(Int, [Readiness.Target])] = []
            for r in active {
                let mine = changes(r, w)
                var failure: String?
                search: for hp in mine {
                    for c in hp.changes where c.action != .refused && !(c.destructive && !options.allowDestroy) {
                        let e = applied.first { $0.host == hp.host && $0.object == c.object.description && $0.action == c.action.rawValue }
                        if let e, let outcome = e.outcome, outcome != .applied {
                            failure = "\(c.object) on \(hp.host) \(outcome.rawValue): \(e.message ?? "")"
                            break search
                        }
                    }
                }
                if let failure {
                    results[r].stopped = stopMessage(rollouts[r], wave: w, failure)
                    continue
                }
                waits.append((r, readinessTargets(rollouts[r], mine, applied)))
            }
            // The VMs each wave took down, ready again before the next wave (each rollout with its own wait and timeout).
            let outcomes = LockedBox<[Int: [Readiness.Outcome]]>([:])
            let waiting = waits
            Parallel.run(waiting.count, width: waiting.count) { i in
                let (r, targets) = waiting[i]
                for t in targets {
                    self.emit(ApplyEvent(phase: .start, host: t.host, object: "vm/\(t.vm)", action: ApplyEvent.waitAction, time: Date()))
                }
                let o = Readiness.wait(for: targets, timeout: Double(rollouts[r].timeout), connectTimeout: self.options.connectTimeout)
                outcomes.withLock { $0[r] = o }
            }
            let done = outcomes.withLock { $0 }
            for (r, _) in waits {
                var notReady: String?
                for o in done[r] ?? [] {
                    let e = ApplyEvent(
                        phase: .finish, host: o.target.host, object: "vm/\(o.target.vm)", action: ApplyEvent.waitAction,
                        outcome: o.error == nil ? .applied : .failed,
                        message: o.error.map { "\($0)" } ?? "ready (\(o.target.wait.rawValue), \(Int(o.seconds)) s)", time: Date())
                    emit(e)
                    events.append(e)
                    if let error = o.error, notReady == nil { notReady = "\(error)" }
                }
                if let notReady {
                    results[r].stopped = stopMessage(rollouts[r], wave: w, notReady)
                } else {
                    results[r].completed = w + 1
                }
            }
            // A rollout that stopped leaves the rest of its group untouched.
            for r in active where results[r].stopped != nil {
                let message = "not started: \(results[r].stopped!)"
                for later in (w + 1)..<rollouts[r].waves.count {
                    for hp in changes(r, later) { events += skip(hp, message) }
                }
            }
        }
        return (events, results)
    }

    func stopMessage(_ r: Rollout, wave w: Int, _ why: String) -> String {
        "rollout of \(r.group) stopped at wave \(w + 1) of \(r.waves.count): \(why)"
    }

    /// The VMs a wave took down and brought back (restarted with --allow-restart, recreated, or reimaged while
    /// running), each with the rollout's wait; a VM the manifest wants stopped is not waited for.
    func readinessTargets(_ r: Rollout, _ wave: [HostPlan], _ events: [ApplyEvent]) -> [Readiness.Target] {
        var out: [Readiness.Target] = []
        for hp in wave {
            for c in hp.changes where Rollouts.disrupts(c, running: true) {
                guard c.action != .updateRestart || options.allowRestart, let name = Rollouts.vm(of: c) else { continue }
                let applied = events.contains {
                    $0.host == hp.host && $0.object == c.object.description && $0.action == c.action.rawValue && $0.outcome == .applied
                }
                guard applied, fleet.vms.first(where: { $0.name == name })?.state == .running else { continue }
                // A move by recreation is a replace on the new host: the VM runs there.
                guard !out.contains(where: { $0.vm == name }) else { continue }
                out.append(Readiness.Target(host: hp.host, uri: hp.uri, vm: name, wait: r.wait))
            }
        }
        return out
    }
}
