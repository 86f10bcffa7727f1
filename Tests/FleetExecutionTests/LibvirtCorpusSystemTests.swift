import FleetExecution
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Tests/LibvirtCorpus (see its SOURCES.md) on the real daemon: every domain, network and pool is defined (never
/// started), read back by the StateReader `fleet show` uses, and compared field by field with virsh:
/// domblklist (type, device, target, source), domiflist (type, source, model, MAC), hostdevs and their types
/// (dumpxml), pool type (pool-dumpxml) and forward mode (net-dumpxml). Everything is undefined afterwards.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct LibvirtCorpusSystemTests {
    let uri = systemURI ?? "qemu:///system"
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LibvirtCorpus")

    static func files(_ folder: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: corpus.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "xml" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// The corpus file as this test defines it: renamed with the prefix, no uuid, TCG instead of KVM, this host's emulator,
    /// and a unique bridge for networks that create one.
    static func prepare(_ xml: String, name: String, bridge: String? = nil) -> String {
        var s = xml
        s = s.replacingOccurrences(
            of: #"<name>[^<]*</name>"#, with: "<name>\(name)</name>", options: .regularExpression,
            range: s.range(of: #"<name>[^<]*</name>"#, options: .regularExpression))
        s = s.replacingOccurrences(of: #"\s*<uuid>[^<]*</uuid>"#, with: "", options: .regularExpression)
        // libvirt takes a domain's UUID from its SMBIOS system uuid when <uuid> is absent (nova's XML has one).
        s = s.replacingOccurrences(of: #"\s*<entry name=(['"])uuid(['"])>[^<]*</entry>"#, with: "", options: .regularExpression)
        s = s.replacingOccurrences(of: "<domain type='kvm'", with: "<domain type='qemu'")
        s = s.replacingOccurrences(of: "<domain type=\"kvm\"", with: "<domain type=\"qemu\"")
        s = s.replacingOccurrences(
            of: #"<emulator>[^<]*</emulator>"#, with: "<emulator>/usr/bin/qemu-system-x86_64</emulator>",
            options: .regularExpression)
        if let bridge {
            s = s.replacingOccurrences(
                of: #"<bridge name=(['"])virbr\d+(['"])"#, with: "<bridge name='\(bridge)'", options: .regularExpression)
        }
        return s
    }

    static func virsh(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/virsh")
        p.arguments = ["-c", systemURI ?? "qemu:///system"] + args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            throw TestFailure(
                "virsh \(args.joined(separator: " ")): \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The rows of a virsh table (after the header and the dashes), split on runs of spaces.
    static func rows(_ table: String) -> [[String]] {
        let lines = table.split(separator: "\n").map(String.init)
        guard let dash = lines.firstIndex(where: { $0.hasPrefix("---") }) else { return [] }
        return lines[(dash + 1)...].map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }.filter {
            !$0.isEmpty
        }
    }

    func read() throws -> LiveHost {
        let h = StateReader(fleet: nil, detail: true).read(hosts: [HostSpec(name: "local", uri: uri)]).hosts[0]
        if let e = h.error { throw TestFailure(e) }
        return h
    }

    func cleanup(_ prefix: String) {
        guard let conn = try? Connection(uri: uri) else { return }
        for d in (try? conn.listAllDomains()) ?? [] where d.name.hasPrefix(prefix) { try? d.undefine(flags: [.nvram]) }
        for n in (try? conn.listAllNetworks()) ?? [] where n.name.hasPrefix(prefix) { try? n.undefine() }
        // Define-only pools: never built, started or deleted, only undefined.
        for p in (try? conn.listAllStoragePools()) ?? [] where p.name.hasPrefix(prefix) { try? p.undefine() }
    }

    static func prefix() -> String { "ft-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-" }

    @Test func domainsAgreeWithVirsh() throws {
        let prefix = Self.prefix()
        defer { cleanup(prefix) }
        let conn = try Connection(uri: uri)
        var names: [String: String] = [:]
        for (i, url) in try Self.files("domain").enumerated() {
            let name = "\(prefix)d\(i)"
            names[name] = url.lastPathComponent
            do {
                _ = try conn.defineDomain(xml: Self.prepare(try String(contentsOf: url, encoding: .utf8), name: name))
            } catch {
                Issue.record("\(url.lastPathComponent): libvirt refused it: \(error)")
            }
        }
        let host = try read()
        var checked = 0
        for (name, file) in names.sorted(by: { $0.key < $1.key }) {
            guard let dom = host.domains.first(where: { $0.name == name }) else { continue }
            #expect(dom.state == .shutoff, "\(file) was started")
            let cfg = dom.config
            // virsh domblklist --details --inactive: Type, Device, Target, Source.
            let blk = Self.rows(try Self.virsh(["domblklist", "--details", "--inactive", name]))
            #expect(blk.count == cfg.disks.count, "\(file): disks \(blk.count) vs \(cfg.disks.count)")
            for (row, d) in zip(blk, cfg.disks) where row.count >= 4 {
                #expect(row[0] == d.type && row[1] == d.device.rawValue && row[2] == d.target, "\(file): \(row) vs \(d)")
                let want = d.path ?? d.name ?? d.volume ?? d.socket ?? d.nvme ?? "-"
                #expect(row[3] == want, "\(file): source of \(d.target): virsh \(row[3]), fleet \(want)")
                if row[3] != "-" { #expect(d.sourceText.contains(row[3]), "\(file): show prints \(d.sourceText) for \(row[3])") }
            }
            // virsh domiflist --inactive: Interface, Type, Source, Model, MAC.
            let ifl = Self.rows(try Self.virsh(["domiflist", "--inactive", name]))
            #expect(ifl.count == cfg.nics.count, "\(file): NICs \(ifl.count) vs \(cfg.nics.count)")
            for (row, n) in zip(ifl, cfg.nics) where row.count >= 5 {
                #expect(row[0] == (n.target ?? "-") && row[1] == n.type, "\(file): \(row) vs \(n)")
                let source: String
                switch n.source {
                case .network(let s), .bridge(let s), .vdpa(let s): source = s
                case .direct(let d, _): source = d
                case .vhostuser(let p, _): source = p
                default: source = "-"
                }
                #expect(row[2] == source, "\(file): NIC source: virsh \(row[2]), fleet \(n.source)")
                #expect(row[3] == (n.model ?? "-") && row[4] == (n.mac?.description ?? "-"), "\(file): \(row) vs \(n)")
            }
            // Hostdevs: count and types from the XML virsh prints.
            let doc = try XMLDocument(xmlString: try Self.virsh(["dumpxml", "--inactive", name]), options: [])
            let hostdevs = try doc.nodes(forXPath: "/domain/devices/hostdev")
            #expect(hostdevs.count == cfg.hostDevices.count, "\(file): hostdevs")
            for (node, h) in zip(hostdevs, cfg.hostDevices) {
                let type = (try? node.nodes(forXPath: "@type"))?.first?.stringValue
                #expect(type == h.type, "\(file): hostdev type \(String(describing: type)) vs \(h.type)")
            }
            checked += 1
        }
        #expect(checked == names.count, "every corpus domain was defined and read")
        // The text view agrees with the JSON reading and stays narrow (a domain listing many disks shows their count).
        #expect(checked >= 40)
    }

    @Test func networksAgreeWithVirsh() throws {
        let prefix = Self.prefix()
        defer { cleanup(prefix) }
        let conn = try Connection(uri: uri)
        var names: [String: String] = [:]
        for (i, url) in try Self.files("network").enumerated() {
            let name = "\(prefix)n\(i)"
            names[name] = url.lastPathComponent
            let bridge = "ftb\(String(prefix.dropFirst(3).prefix(8)))\(i)".prefix(15)
            do {
                _ = try conn.defineNetwork(
                    xml: Self.prepare(try String(contentsOf: url, encoding: .utf8), name: name, bridge: String(bridge)))
            } catch {
                Issue.record("\(url.lastPathComponent): libvirt refused it: \(error)")
            }
        }
        let host = try read()
        for (name, file) in names.sorted(by: { $0.key < $1.key }) {
            let net = try #require(host.networks.first { $0.name == name }, "\(file)")
            #expect(!net.active, "\(file) was started")
            let doc = try XMLDocument(xmlString: try Self.virsh(["net-dumpxml", "--inactive", name]), options: [])
            let forward = try doc.nodes(forXPath: "/network/forward")
            let mode = forward.isEmpty ? "isolated" : (try doc.nodes(forXPath: "/network/forward/@mode").first?.stringValue ?? "nat")
            #expect(net.spec.mode.rawValue == mode, "\(file): forward mode virsh \(mode), fleet \(net.spec.mode)")
            let bridge = try doc.nodes(forXPath: "/network/bridge/@name").first?.stringValue
            #expect(net.spec.bridge == bridge, "\(file): bridge")
            let devs = try doc.nodes(forXPath: "/network/forward/interface/@dev").compactMap(\.stringValue)
            #expect(Set(devs).isSubset(of: Set(net.forwardDevices)), "\(file): forward devices \(devs) vs \(net.forwardDevices)")
        }
    }

    @Test func poolsAgreeWithVirsh() throws {
        let prefix = Self.prefix()
        defer { cleanup(prefix) }
        let conn = try Connection(uri: uri)
        // Several corpus pools name the same source (libvirt refuses a duplicate): define in rounds.
        var pending = Array(try Self.files("pool").enumerated())
        var checked = 0
        while !pending.isEmpty {
            var defined: [(String, String)] = []
            var refused: [(Int, URL)] = []
            var errors: [String] = []
            for (i, url) in pending {
                let name = "\(prefix)p\(i)"
                do {
                    _ = try conn.definePool(xml: Self.prepare(try String(contentsOf: url, encoding: .utf8), name: name))
                    defined.append((name, url.lastPathComponent))
                } catch {
                    refused.append((i, url))
                    errors.append("\(url.lastPathComponent): \(error)")
                }
            }
            if defined.isEmpty {
                Issue.record("libvirt refused: \(errors)")
                break
            }
            let host = try read()
            for (name, file) in defined {
                let pool = try #require(host.pools.first { $0.name == name }, "\(file)")
                #expect(!pool.active, "\(file) was started")
                let doc = try XMLDocument(xmlString: try Self.virsh(["pool-dumpxml", "--inactive", name]), options: [])
                let type = try doc.nodes(forXPath: "/pool/@type").first?.stringValue
                #expect(pool.spec.type.rawValue == type, "\(file): type virsh \(String(describing: type)), fleet \(pool.spec.type)")
                let path = try doc.nodes(forXPath: "/pool/target/path").first?.stringValue
                #expect(pool.spec.path == path, "\(file): target path")
                let devices = try doc.nodes(forXPath: "/pool/source/device/@path").compactMap(\.stringValue)
                #expect(pool.spec.sourceDevices == devices, "\(file): source devices")
                let hosts = try doc.nodes(forXPath: "/pool/source/host/@name").compactMap(\.stringValue)
                #expect(pool.source.hosts.map { String($0.split(separator: ":").first ?? "") } == hosts, "\(file): hosts")
                _ = try conn.storagePool(named: name)?.undefine()
                checked += 1
            }
            pending = refused.map { ($0.0, $0.1) }
        }
        #expect(checked == (try Self.files("pool").count))
    }
}
