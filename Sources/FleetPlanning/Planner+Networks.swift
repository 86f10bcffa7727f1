import FleetModel

/// Networks: create, restart-class settings, live DHCP leases and autostart, deletion.
extension HostPlanner {

    func networks() -> [Change] {
        var out: [Change] = []
        let declared = fleet.networks.filter { placed($0.hosts) }
        for declaredSpec in declared {
            let ref = ObjectRef(.network, declaredSpec.name)
            let ln = live.networks.first(where: { $0.name == declaredSpec.name })
            let spec = withoutHeldLeases(declaredSpec, live: ln)
            let start = out.count
            defer { out.carry(.network(spec), for: ref, from: start) }
            guard let ln else {
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
                out.append(
                    Change(
                        ref, .refused, attributes: [.init("mode", before: ln.spec.mode.rawValue, after: spec.mode.rawValue)],
                        reason:
                            "network \(spec.name) on \(host.name) forwards in \(ln.spec.mode.rawValue) mode, the manifest declares \(spec.mode.rawValue); fleet does not manage \(ln.spec.mode.rawValue) networks and never replaces one (rename the manifest's network, or remove the live one by hand)"
                    ))
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
                attrs.append(
                    .init("dhcp", before: have.dhcp.map { "\($0.start)-\($0.end)" }, after: spec.dhcp.map { "\($0.start)-\($0.end)" }))
            }
            if let d = spec.domain, d != have.domain { attrs.append(.init("domain", before: have.domain, after: d)) }
            if let m = spec.mtu, m != have.mtu { attrs.append(.init("mtu", before: have.mtu.map(String.init), after: String(m))) }
            var steps: [Step] = []
            if !attrs.isEmpty {
                out.append(
                    Change(
                        ref, .updateRestart, attributes: attrs,
                        reason: "the network must be restarted for this; guests on it lose connectivity briefly",
                        steps: [.defineNetwork, .restartNetwork]))
            }
            var liveAttrs: [AttributeChange] = []
            let wantLeases = Set(spec.leases)
            let haveLeases = Set(have.leases)
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
                out.append(
                    Change(ref, .update, attributes: liveAttrs, reason: "applied to the running network and its config", steps: steps))
            }
        }
        for ln in live.networks where context.owns(ln.owner) && !declared.contains(where: { $0.name == ln.name }) {
            out.append(
                Change(
                    ObjectRef(.network, ln.name), .delete, attributes: [.init("mode", before: ln.spec.mode.rawValue, after: nil)],
                    reason: "no longer declared", steps: [.undefineNetwork]))
        }
        return out
    }

    /// The network without the static leases of VMs that preflight refuses on this host: nothing of a refused VM is
    /// made, its lease neither (it comes with the VM, once the VM is no longer refused). A lease already there stays.
    func withoutHeldLeases(_ spec: NetworkSpec, live: LiveNetwork?) -> NetworkSpec {
        let existing = Set(live?.spec.leases ?? [])
        var spec = spec
        spec.leases.removeAll { l in
            guard !existing.contains(l), let vm = context.vmByName[l.name], vm.host == host.name else { return false }
            return context.refusal(vm) != nil
        }
        return spec
    }
}
