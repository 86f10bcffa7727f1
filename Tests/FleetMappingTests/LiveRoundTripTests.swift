import FleetModel
import FleetTestSupport
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

/// A libvirt connection driven through virsh (tests only). Every object is named with `prefix` and removed by `cleanup`.
struct Virsh {
    let uri: String
    func callAny(_ args: [String]) throws -> (status: Int32, output: String) { try run(["virsh", "-q", "-c", uri] + args) }
    @discardableResult
    func call(_ args: [String]) throws -> String {
        let r = try callAny(args)
        guard r.status == 0 else { throw XMLError("virsh \(args.joined(separator: " ")): \(r.output)") }
        return r.output
    }
    /// Defines from XML via a file and dumps the inactive definition in the same virsh session (a test-driver
    /// fixture URI gives every new connection a fresh state). Throws with virsh's message on failure.
    func defineAndDump(_ kind: String, _ xml: String, name: String, dir: URL) throws -> String {
        let path = try write(xml, to: dir, "\(name).xml")
        let (define, dump) =
            switch kind {
            case "domain": ("define", "dumpxml --inactive --security-info")
            // The test driver rejects net-/pool-dumpxml --inactive (flag 0x1); its networks are inactive anyway.
            case "network": ("net-define", uri.hasPrefix("test:") ? "net-dumpxml" : "net-dumpxml --inactive")
            default: ("pool-define", uri.hasPrefix("test:") ? "pool-dumpxml" : "pool-dumpxml --inactive")
            }
        let r = try callAny(["\(define) \(path); \(dump) \(name)"])
        guard r.status == 0 else { throw XMLError("\(define) \(name) on \(uri): \(r.output)\n\(xml)") }
        return r.output
    }
}

/// Defines every rendered object on `uri`, reads it back with `dumpxml --inactive`, and checks the managed fields.
func roundTrip(uri: String, hypervisor: Hypervisor) throws {
    let v = Virsh(uri: uri)
    let prefix = uniquePrefix()
    let dir = try scratchDir()
    var domains: [String] = []
    var networks: [String] = []
    var pools: [String] = []
    defer {
        for d in domains { _ = try? v.callAny(["undefine", "--nvram", d]) }
        for n in networks { _ = try? v.callAny(["net-undefine", n]) }
        for p in pools { _ = try? v.callAny(["pool-undefine", p]) }
        try? FileManager.default.removeItem(at: dir)
    }
    let fleet = corpusFleet(prefix: prefix)
    for vm in fleet.vms {
        let xml = DomainMapping.render(
            vm, hypervisor: hypervisor, graphicsPassword: vm.graphics == nil ? nil : "pw",
            owner: mark(vm, fleet))
        domains.append(vm.name)
        let back = try v.defineAndDump("domain", xml, name: vm.name, dir: dir)
        let got = try DomainMapping.config(fromXML: back)
        expectLive(got, expectedConfig(vm, fleet: fleet, hypervisor: hypervisor, password: vm.graphics != nil), vm)
        // What fleet reads from its own XML and from libvirt's must agree on every managed field.
        let mine = try DomainMapping.config(fromXML: xml)
        expectLive(got, mine, vm)
    }
    // The ledger domain.
    let fleetName = String(prefix.dropLast())
    let ledgerName = LedgerMapping.domainName(fleet: fleetName)
    let entries = ledgerEntries().map { e in
        var e = e
        e.mark.fleet = fleetName
        return e
    }
    domains.append(ledgerName)
    let ledgerBack = try v.defineAndDump(
        "domain", LedgerMapping.render(fleet: fleetName, entries: entries, hypervisor: hypervisor),
        name: ledgerName, dir: dir)
    #expect(
        try LedgerMapping.entries(fromXML: ledgerBack)
            == LedgerMapping.entries(
                fromXML:
                    LedgerMapping.renderMetadata(fleet: fleetName, entries: entries)))
    #expect(Set(try LedgerMapping.entries(fromXML: ledgerBack)) == Set(entries))
    #expect(try DomainMapping.config(fromXML: ledgerBack).owner == nil)
    // Networks.
    for spec in corpusNetworks(prefix: prefix) {
        let xml = NetworkMapping.render(spec)
        networks.append(spec.name)
        let got = try NetworkMapping.spec(fromXML: try v.defineAndDump("network", xml, name: spec.name, dir: dir))
        expectNetwork(got, spec)
    }
    // Pools (defined only: starting would need the directories, LVM and NFS).
    for spec in corpusPools(prefix: prefix) {
        let xml = PoolMapping.render(spec)
        pools.append(spec.name)
        let got = try PoolMapping.spec(fromXML: try v.defineAndDump("pool", xml, name: spec.name, dir: dir))
        expectPool(got.spec, spec)
    }
}

func expectNetwork(_ got: NetworkSpec, _ want: NetworkSpec, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.name == want.name, sourceLocation: sourceLocation)
    #expect(got.mode == want.mode, sourceLocation: sourceLocation)
    if let b = want.bridge { #expect(got.bridge == b, sourceLocation: sourceLocation) }
    #expect(got.subnet == want.subnet, sourceLocation: sourceLocation)
    #expect(got.effectiveGateway == want.effectiveGateway, sourceLocation: sourceLocation)
    #expect(got.dhcp == want.dhcp, sourceLocation: sourceLocation)
    #expect(got.leases == want.leases.sorted(), sourceLocation: sourceLocation)
    #expect(got.domain == want.domain, sourceLocation: sourceLocation)
    #expect(got.mtu == want.mtu, sourceLocation: sourceLocation)
    #expect(got.hosts == nil && got.autostart == nil, sourceLocation: sourceLocation)
}

func expectPool(_ got: PoolSpec, _ want: PoolSpec, sourceLocation: SourceLocation = #_sourceLocation) {
    var w = want
    if w.type == .logical {
        if w.volumeGroup == nil { w.volumeGroup = w.name }
        if w.path == nil { w.path = "/dev/\(w.volumeGroup!)" }
    }
    #expect(got == w, sourceLocation: sourceLocation)
}

@Suite struct LiveRoundTripTests {
    @Test func testDriverFixture() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try roundTrip(uri: try testFixture(dir: dir), hypervisor: .test)
    }

    @Test(.enabled(if: systemURI != nil)) func realLibvirtd() throws {
        try roundTrip(uri: systemURI!, hypervisor: .qemu)
    }
}

@Suite struct RunningDomainTests {
    /// Starts a tiny disk-less TCG domain (no hostdevs) on libvirtd to read a *live* XML: autoport graphics get a
    /// real port, the owner mark and managed fields survive. Destroyed and undefined in `defer`.
    @Test(.enabled(if: systemURI != nil)) func liveXMLOfARunningDomain() throws {
        let v = Virsh(uri: systemURI!)
        let name = uniquePrefix() + "run"
        let dir = try scratchDir()
        defer {
            _ = try? v.callAny(["destroy", name])
            _ = try? v.callAny(["undefine", "--nvram", name])
            try? FileManager.default.removeItem(at: dir)
        }
        let vm = VMSpec(
            name: name, host: "local", vcpus: 1, maxVcpus: 2, memory: .mib(48), maxMemory: .mib(64), virtType: .qemu,
            graphics: GraphicsSpec(type: .vnc, listen: "127.0.0.1"), description: "fleet test: safe to delete",
            guestAgent: true)
        let fleet = Fleet(name: "lab")
        let xml = DomainMapping.render(vm, hypervisor: .qemu, owner: mark(vm, fleet))
        _ = try v.defineAndDump("domain", xml, name: name, dir: dir)
        try v.call(["start", name])
        let live = try DomainMapping.config(fromXML: try v.call(["dumpxml", name]))
        #expect(live.vcpus == 1 && live.maxVcpus == 2)
        // The live <currentMemory> is the balloon's actual size: the maximum until a guest balloon driver shrinks it.
        #expect(live.maxMemory == .mib(64) && live.memory >= .mib(48) && live.memory <= .mib(64), "\(live.memory)")
        #expect(live.owner == mark(vm, fleet) && live.description == vm.description)
        #expect(live.graphics.count == 1 && live.graphics[0].port == nil && (live.graphics[0].activePort ?? 0) >= 5900)
        #expect(MachineType.matches(desired: "pc", live: live.machine))
        // libvirt adds the socket path, state and address to the agent channel; it still reads as the agent.
        #expect(live.guestAgent)
        let d = try DomainXML(xml: try v.call(["dumpxml", name]))
        #expect(d.id != nil)
    }
}

@Suite struct MetadataAPITests {
    /// What the executor does through virDomainSetMetadata/GetMetadata (here via `virsh metadata`): set the bare
    /// owner and ledger elements, read them back bare and inside the domain XML.
    func check(uri: String, hypervisor: Hypervisor) throws {
        let v = Virsh(uri: uri)
        let prefix = uniquePrefix()
        let dir = try scratchDir()
        let fleetName = String(prefix.dropLast())
        let name = LedgerMapping.domainName(fleet: fleetName)
        defer {
            _ = try? v.callAny(["undefine", name])
            try? FileManager.default.removeItem(at: dir)
        }
        let path = try write(LedgerMapping.render(fleet: fleetName, entries: [], hypervisor: hypervisor), to: dir, "ledger.xml")
        let entries = ledgerEntries().map { e in
            var e = e
            e.mark.fleet = fleetName
            return e
        }
        let mark = OwnerMark(fleet: fleetName, kind: .vm, name: "x", attributes: ["k": "v & w"])
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let cmds = [
            "define \(path)",
            "metadata \(name) \(OwnerXML.namespace) --key \(OwnerXML.prefix) --config --set \(q(OwnerXML.metadataElement(mark)))",
            "metadata \(name) \(LedgerMapping.namespace) --key \(OwnerXML.prefix) --config --set \(q(LedgerMapping.renderMetadata(fleet: fleetName, entries: entries)))",
            "echo =====", "metadata \(name) \(OwnerXML.namespace) --config",
            "echo =====", "metadata \(name) \(LedgerMapping.namespace) --config",
            "echo =====", "dumpxml --inactive \(name)"
        ]
        let r = try v.callAny([cmds.joined(separator: "; ")])
        #expect(r.status == 0, "\(r.output)")
        let parts = r.output.components(separatedBy: "=====").map { String($0.drop { $0 != "<" }) }
        try #require(parts.count == 4, "\(r.output)")
        #expect(OwnerXML.parse(parts[1]) == mark, "\(parts[1])")
        #expect(Set(try LedgerMapping.entries(fromXML: parts[2])) == Set(entries), "\(parts[2])")
        #expect(try DomainMapping.config(fromXML: parts[3]).owner == mark)
        #expect(Set(try LedgerMapping.entries(fromXML: parts[3])) == Set(entries))
    }

    @Test func onTestDriverFixture() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try check(uri: try testFixture(dir: dir), hypervisor: .test)
    }

    @Test(.enabled(if: systemURI != nil)) func onLibvirtd() throws {
        try check(uri: systemURI!, hypervisor: .qemu)
    }
}
