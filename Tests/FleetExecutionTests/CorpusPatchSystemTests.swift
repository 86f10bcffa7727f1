import FleetMapping
import FleetModel
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// Every real-world domain of Tests/LibvirtCorpus, defined on the real daemon (never started), gets the patch
/// fleet applies for a memory and a vCPU change. `virsh dumpxml --inactive` before and after, compared as a
/// whole document, differs only in those elements and fleet's own metadata: no device, controller, address,
/// namespace or setting fleet does not manage moves or goes.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct CorpusPatchSystemTests {
    let uri = systemURI ?? "qemu:///system"

    /// Lines of `after` not in `before` and of `before` not in `after`, as multisets.
    static func diff(_ before: String, _ after: String) -> (removed: [String], added: [String]) {
        var count: [String: Int] = [:]
        for l in before.split(separator: "\n") { count[String(l), default: 0] += 1 }
        var added: [String] = []
        for l in after.split(separator: "\n") {
            let k = String(l)
            if let n = count[k], n > 0 { count[k] = n - 1 } else { added.append(k) }
        }
        let removed = count.flatMap { k, n in Array(repeating: k, count: n) }
        return (removed, added)
    }

    /// What a memory and vCPU patch may change: those elements and fleet's mark inside `<metadata>`.
    static func allowed(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.hasPrefix("<memory") || t.hasPrefix("<currentMemory") || t.hasPrefix("<vcpu")
            || t.hasPrefix("<fleet:owner") || t.hasPrefix("</fleet:owner") || t.hasPrefix("<fleet:attr")
            || t == "<metadata>" || t == "</metadata>"
    }

    @Test func aMemoryAndVCPUChangeTouchesNothingElseOnAnyCorpusDomain() throws {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let prefix = "ft-\(hex)-"
        let conn = try Connection(uri: uri)
        defer {
            for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(prefix) { try? d.undefine(flags: [.nvram]) }
        }
        var checked = 0
        for (i, file) in try LibvirtCorpusSystemTests.files("domain").enumerated() {
            let name = "\(prefix)\(i)"
            let xml = LibvirtCorpusSystemTests.prepare(try String(contentsOf: file, encoding: .utf8), name: name)
            guard let d = try? conn.defineDomain(xml: xml) else { continue }  // the unsupported ones are in domain-unsupported/
            let before = try LibvirtCorpusSystemTests.virsh(["dumpxml", "--inactive", name])
            let cfg = try DomainMapping.config(fromXML: try d.xmlDesc(flags: [.inactive, .secure]))
            let virt: VirtType = cfg.virtType == "kvm" ? .kvm : .qemu
            let vm = VMSpec(
                name: name, host: "local", vcpus: max(1, cfg.maxVcpus == cfg.vcpus ? cfg.vcpus : cfg.vcpus + 1),
                maxVcpus: cfg.maxVcpus == cfg.vcpus ? nil : cfg.maxVcpus,
                memory: .mib(max(1, cfg.memory.bytes / (1 << 20)) == cfg.memory.bytes / (1 << 20) ? cfg.memory.bytes / (1 << 20) + 1 : 2),
                maxMemory: nil, virtType: virt)
            let fleet = Fleet(name: "ft\(hex)", hosts: [HostSpec(name: "local", uri: uri)], vms: [vm])
            let mark = OwnerMark(fleet: fleet.name, kind: .vm, name: name)
            guard
                let patched = try DomainPatch.update(
                    try d.xmlDesc(flags: [.inactive, .secure]), vm: vm, fleet: fleet,
                    hypervisor: .qemu, owner: mark)
            else {
                Issue.record("\(file.lastPathComponent): the patch changed nothing, not even the mark")
                continue
            }
            _ = try conn.defineDomain(xml: patched)
            let after = try LibvirtCorpusSystemTests.virsh(["dumpxml", "--inactive", name])
            let (removed, added) = Self.diff(before, after)
            let foreign = (removed.map { "- \($0)" } + added.map { "+ \($0)" }).filter { !Self.allowed(String($0.dropFirst(2))) }
            #expect(
                foreign.isEmpty,
                "\(file.lastPathComponent): the patch touched more than memory and vCPUs:\n\(foreign.joined(separator: "\n"))")
            #expect(
                added.contains { $0.contains("<memory") || $0.contains("<currentMemory") }, "\(file.lastPathComponent): memory unchanged")
            try d.undefine(flags: [.nvram])
            checked += 1
        }
        #expect(checked >= 30, "only \(checked) corpus domains could be defined")
    }

    /// Every corpus network: fleet's patch with the spec read back from it changes nothing, and adding a DHCP host
    /// (what fleet does for a declared `ip:`) adds exactly one `<host>` line to the persistent definition.
    @Test func aDHCPHostIsTheOnlyChangeOnAnyCorpusNetwork() throws {
        let prefix = uniquePrefix()
        let conn = try Connection(uri: uri)
        defer {
            for n in (try? conn.listAllNetworks()) ?? [] where n.name.hasPrefix(prefix) { try? n.undefine() }
        }
        var withDHCP = 0
        for (i, file) in try LibvirtCorpusSystemTests.files("network").enumerated() {
            let name = "\(prefix)n\(i)"
            let bridge = String("ftb\(prefix.dropFirst(3).prefix(8))\(i)".prefix(15))
            let xml = LibvirtCorpusSystemTests.prepare(try String(contentsOf: file, encoding: .utf8), name: name, bridge: bridge)
            guard let n = try? conn.defineNetwork(xml: xml) else { continue }
            let before = try LibvirtCorpusSystemTests.virsh(["net-dumpxml", "--inactive", name])
            let spec = try NetworkMapping.spec(fromXML: try n.xmlDesc(inactive: true))
            if spec.mode.isManaged {
                #expect(
                    try NetworkPatch.update(try n.xmlDesc(inactive: true), spec: spec) == nil,
                    "\(file.lastPathComponent): patching with what was read changes something")
            }
            if let subnet = spec.subnet, spec.dhcp != nil {
                let ip = IPv4Address(subnet.network.value + 77)
                let lease = DHCPLease(mac: MACAddress.stable(for: name), name: "ft-host", ip: ip)
                try n.update(command: .add, section: .ipDHCPHost, xml: NetworkMapping.leaseXML(lease), flags: [.config])
                let after = try LibvirtCorpusSystemTests.virsh(["net-dumpxml", "--inactive", name])
                let (removed, added) = Self.diff(before, after)
                #expect(
                    removed.isEmpty && added.count == 1 && added[0].contains("<host mac="),
                    "\(file.lastPathComponent): -\(removed) +\(added)")
                withDHCP += 1
            }
            try n.undefine()
        }
        #expect(withDHCP >= 2, "the corpus has networks with DHCP")
    }

    /// Every corpus pool: turning autostart on (fleet's only in-place pool change) leaves its XML identical.
    @Test func autostartLeavesEveryCorpusPoolAsItWas() throws {
        let prefix = uniquePrefix()
        let conn = try Connection(uri: uri)
        defer {
            for p in (try? conn.listAllStoragePools()) ?? [] where p.name.hasPrefix(prefix) {
                try? p.setAutostart(false)
                try? p.undefine()
            }
        }
        var checked = 0
        for (i, file) in try LibvirtCorpusSystemTests.files("pool").enumerated() {
            let name = "\(prefix)p\(i)"
            guard
                let p = try? conn.definePool(
                    xml: LibvirtCorpusSystemTests.prepare(try String(contentsOf: file, encoding: .utf8), name: name))
            else { continue }  // a source another corpus pool already uses
            let before = try LibvirtCorpusSystemTests.virsh(["pool-dumpxml", "--inactive", name])
            try p.setAutostart(true)
            let after = try LibvirtCorpusSystemTests.virsh(["pool-dumpxml", "--inactive", name])
            #expect(before == after, "\(file.lastPathComponent)")
            try p.setAutostart(false)
            try p.undefine()
            checked += 1
        }
        #expect(checked >= 8)
    }
}
