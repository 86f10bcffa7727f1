import FleetManifest
import FleetModel
import FleetTestSupport
import Foundation
import Testing

@testable import FleetMapping

/// The repository's example manifests, loaded with the real loader, render to XML libvirt's schemas accept and
/// read back to the same managed values.
@Suite struct ExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    static func manifestDirs() -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: examples.path) else { return [] }
        return names.sorted().map { examples.appendingPathComponent($0).path }.filter { dir in
            // ci/ holds a GitHub workflow (.yml), not a manifest.
            ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).contains { $0.hasSuffix(".yaml") }
        }
    }

    @Test func examplesRenderValidAndRoundTrip() throws {
        let dirs = Self.manifestDirs()
        try #require(!dirs.isEmpty, "no example manifests under \(Self.examples.path)")
        let scratch = try scratchDir()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var failures: [String] = []
        var rendered = 0
        for dir in dirs {
            let result = ManifestLoader().load(paths: [dir])
            guard let fleet = result.fleet else {
                Issue.record("\(dir) does not load: \(result.diagnostics.map(\.description).joined(separator: "\n"))")
                continue
            }
            let tag = URL(fileURLWithPath: dir).lastPathComponent
            for vm in fleet.vms {
                let xml = DomainMapping.render(vm, hypervisor: .qemu, owner: mark(vm, fleet))
                if let f = try validate(xml, type: "domain", dir: scratch, name: "\(tag)-\(vm.name).xml") { failures.append(f) }
                #expect(try DomainMapping.config(fromXML: xml) == expectedConfig(vm, fleet: fleet, hypervisor: .qemu), "\(tag)/\(vm.name)")
                rendered += 1
            }
            for n in fleet.networks {
                let xml = NetworkMapping.render(n)
                if let f = try validate(xml, type: "network", dir: scratch, name: "\(tag)-net-\(n.name).xml") { failures.append(f) }
                expectNetwork(try NetworkMapping.spec(fromXML: xml), n)
                rendered += 1
            }
            for p in fleet.pools {
                let xml = PoolMapping.render(p)
                if let f = try validate(xml, type: "storagepool", dir: scratch, name: "\(tag)-pool-\(p.name).xml") { failures.append(f) }
                var want = p
                want.autostart = nil
                want.hosts = nil
                expectPool(try PoolMapping.spec(fromXML: xml).spec, want)
                rendered += 1
            }
        }
        #expect(rendered > 0)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// Every example VM, network and pool defined on libvirtd under a unique prefix and read back.
    @Test(.enabled(if: systemURI != nil)) func examplesOnLibvirtd() throws {
        let v = Virsh(uri: systemURI!)
        let prefix = uniquePrefix()
        let scratch = try scratchDir()
        var domains: [String] = []
        var networks: [String] = []
        var pools: [String] = []
        defer {
            for d in domains { _ = try? v.callAny(["undefine", "--nvram", d]) }
            for n in networks { _ = try? v.callAny(["net-undefine", n]) }
            for p in pools { _ = try? v.callAny(["pool-undefine", p]) }
            try? FileManager.default.removeItem(at: scratch)
        }
        for dir in Self.manifestDirs() {
            guard var fleet = ManifestLoader().load(paths: [dir]).fleet else { continue }
            fleet.vms = fleet.vms.map { vm in
                var vm = vm
                vm.name = prefix + vm.name
                return vm
            }
            for vm in fleet.vms {
                domains.append(vm.name)
                let xml = DomainMapping.render(vm, hypervisor: .qemu, owner: mark(vm, fleet))
                let got = try DomainMapping.config(fromXML: try v.defineAndDump("domain", xml, name: vm.name, dir: scratch))
                expectLive(got, expectedConfig(vm, fleet: fleet, hypervisor: .qemu), vm)
            }
            for var n in fleet.networks {
                n.name = prefix + n.name
                // Bridge names are host-global (and at most 15 bytes): let libvirt pick one unless the mode needs it.
                if n.mode != .bridge { n.bridge = nil }
                networks.append(n.name)
                expectNetwork(
                    try NetworkMapping.spec(fromXML: try v.defineAndDump("network", NetworkMapping.render(n), name: n.name, dir: scratch)),
                    n)
            }
            for var p in fleet.pools {
                p.name = prefix + p.name
                p.autostart = nil
                p.hosts = nil
                // A dir pool's path is host-global too: a user who applied the example holds it already
                // ("Storage source conflict"). The test's copy gets a path of its own.
                if p.type == .dir { p.path = scratch.appendingPathComponent(p.name).path }
                pools.append(p.name)
                expectPool(
                    try PoolMapping.spec(fromXML: try v.defineAndDump("pool", PoolMapping.render(p), name: p.name, dir: scratch)).spec, p)
            }
        }
        #expect(!domains.isEmpty)
    }
}
