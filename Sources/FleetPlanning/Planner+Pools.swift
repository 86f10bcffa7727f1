import FleetModel

/// Storage pools: create, settings in place, replacement when the type or location changes, deletion.
extension HostPlanner {

    func pools() -> [Change] {
        var out: [Change] = []
        let declared = fleet.pools.filter { placed($0.hosts) }
        for spec in declared {
            let ref = ObjectRef(.pool, spec.name)
            let start = out.count
            defer { out.carry(.pool(spec), for: ref, from: start) }
            guard let lp = live.pools.first(where: { $0.name == spec.name }) else {
                var steps: [Step] = [.definePool, .buildPool, .startPool]
                if spec.autostart == true { steps.append(.setAutostart(true)) }
                out.append(
                    Change(ref, .create, attributes: poolAttributes(nil, spec), reason: "pool \(spec.name) does not exist", steps: steps))
                continue
            }
            if !lp.spec.type.isManaged {
                // Never a replacement: fleet cannot read such a pool back as anything it manages.
                out.append(
                    Change(
                        ref, .refused, attributes: [.init("type", before: lp.spec.type.rawValue, after: spec.type.rawValue)],
                        reason:
                            "pool \(spec.name) on \(host.name) is a \(lp.spec.type.rawValue) pool, the manifest declares a \(spec.type.rawValue) pool; fleet does not manage \(lp.spec.type.rawValue) pools and never replaces one (rename the manifest's pool, or remove the live one by hand)"
                    ))
                continue
            }
            if let c = conflict(ref, lp.owner) {
                out.append(c)
                if c.action == .refused { continue }
            }
            var attrs: [AttributeChange] = []
            var replace = false
            if lp.spec.type != spec.type {
                attrs.append(.init("type", before: lp.spec.type.rawValue, after: spec.type.rawValue))
                replace = true
            }
            if let p = spec.path, normalisePath(p) != normalisePath(lp.spec.path ?? "") {
                attrs.append(.init("path", before: lp.spec.path, after: p))
                replace = true
            }
            if spec.type == .logical, let vg = spec.volumeGroup, vg != lp.spec.volumeGroup {
                attrs.append(.init("source.vg", before: lp.spec.volumeGroup, after: vg))
                replace = true
            }
            if spec.type == .netfs {
                if let h = spec.sourceHost, h != lp.spec.sourceHost {
                    attrs.append(.init("source.host", before: lp.spec.sourceHost, after: h))
                    replace = true
                }
                if let d = spec.sourceDir, d != lp.spec.sourceDir {
                    attrs.append(.init("source.dir", before: lp.spec.sourceDir, after: d))
                    replace = true
                }
            }
            if replace {
                out.append(
                    Change(
                        ref, .replace, attributes: attrs,
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
            out.append(
                Change(
                    ObjectRef(.pool, lp.name), .delete, attributes: poolAttributes(lp.spec, nil),
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
}
