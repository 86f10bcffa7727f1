import FleetMapping
import FleetModel
import Foundation
import LibvirtXML
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The real-world libvirt XML kept under Tests/LibvirtCorpus (see its SOURCES.md), read through LibvirtXML and
/// FleetMapping. Each file is checked against an independent reading of the same document (Foundation's
/// libxml2-based XMLDocument and XPath), and the corpus as a whole must cover every kind fleet reads.
enum LibvirtCorpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LibvirtCorpus")

    /// The files of a corpus folder (`domain`, `network`, `pool`, `domain-unsupported`, `pool-unsupported`), sorted.
    static func files(_ folder: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "xml" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }
}

/// XPath over a document parsed by libxml2 (through Foundation), the oracle the typed reading is compared with.
struct XPathOracle {
    let doc: XMLDocument
    init(_ xml: String) throws { doc = try XMLDocument(xmlString: xml, options: []) }
    func nodes(_ path: String) throws -> [XMLNode] { try doc.nodes(forXPath: path) }
    func strings(_ path: String) throws -> [String] { try nodes(path).map { $0.stringValue ?? "" } }
    func string(_ path: String, in node: XMLNode) -> String? {
        ((try? node.nodes(forXPath: path)) ?? []).first?.stringValue
    }
}

@Suite struct LibvirtCorpusTests {
    @Test func domainsReadCompletely() throws {
        var diskTypes: Set<String> = []
        var diskDevices: Set<String> = []
        var hostdevs: Set<String> = []
        var nicTypes: Set<String> = []
        let files = try LibvirtCorpus.files("domain") + LibvirtCorpus.files("domain-unsupported")
        #expect(files.count >= 40)
        for url in files {
            let xml = try LibvirtCorpus.text(url)
            let name = url.lastPathComponent
            let cfg = try DomainMapping.config(fromXML: xml)
            let o = try XPathOracle(xml)

            let disks = try o.nodes("/domain/devices/disk")
            #expect(cfg.disks.count == disks.count, "\(name): disks")
            for (d, n) in zip(cfg.disks, disks) {
                #expect(d.target == o.string("target/@dev", in: n), "\(name): disk target")
                #expect(d.type == (o.string("@type", in: n) ?? "file"), "\(name): disk type of \(d.target)")
                #expect(d.device.rawValue == (o.string("@device", in: n) ?? "disk"), "\(name): device of \(d.target)")
                #expect(d.bus?.rawValue == o.string("target/@bus", in: n), "\(name): bus of \(d.target)")
                #expect(d.format?.rawValue == o.string("driver/@type", in: n), "\(name): format of \(d.target)")
                // The source virsh domblklist prints (file|dev|dir|name|volume|path), and nothing lost.
                if let s = o.string("source/@file|source/@dev|source/@dir", in: n) { #expect(d.path == s, "\(name): \(d.target)") }
                if let s = o.string("source/@volume", in: n) { #expect(d.volume == s && d.pool == o.string("source/@pool", in: n)) }
                if let s = o.string("source/@protocol", in: n) {
                    #expect(d.protocol == s && d.name == o.string("source/@name", in: n), "\(name): \(d.target)")
                    #expect(d.hosts.count == ((try? n.nodes(forXPath: "source/host"))?.count ?? -1), "\(name): hosts of \(d.target)")
                }
                if d.type == "nvme" { #expect(d.nvme?.hasPrefix("nvme://") == true && d.sourceText == d.nvme, "\(name)") }
                if d.type == "vhostuser" { #expect(d.socket != nil && d.socket == o.string("source/@path", in: n), "\(name)") }
                if o.string("source", in: n) != nil || d.type != "file" {
                    #expect(d.sourceText != "-" || o.string("source/@*", in: n) == nil, "\(name): \(d.target) lost its source")
                }
                diskTypes.insert(d.type)
                diskDevices.insert(d.device.rawValue)
            }

            let nics = try o.nodes("/domain/devices/interface")
            #expect(cfg.nics.count == nics.count, "\(name): NICs")
            for (nic, n) in zip(cfg.nics, nics) {
                #expect(nic.type == o.string("@type", in: n), "\(name): NIC type")
                #expect(nic.model == o.string("model/@type", in: n), "\(name): NIC model")
                #expect(nic.mac?.description == o.string("mac/@address", in: n)?.lowercased(), "\(name): NIC MAC")
                // What virsh domiflist prints as Source must be kept.
                if let s = o.string("source/@bridge|source/@dev|source/@network|source/@path", in: n) {
                    #expect(nic.source.description.contains(s), "\(name): NIC source \(nic.source) lacks \(s)")
                }
                if case .other = nic.source { Issue.record("\(name): NIC of type \(nic.type) read without its source") }
                nicTypes.insert(nic.type)
            }

            let hds = try o.nodes("/domain/devices/hostdev")
            #expect(cfg.hostDevices.count == hds.count, "\(name): hostdevs")
            for (h, n) in zip(cfg.hostDevices, hds) {
                #expect(h.type == o.string("@type", in: n) && h.mode == (o.string("@mode", in: n) ?? "subsystem"), "\(name)")
                #expect(h.source != "-", "\(name): hostdev \(h.type) read without its source")
                var key = h.mode == "capabilities" ? "capabilities" : h.type
                if h.type == "usb" { key = h.kind == nil ? "usb-address" : "usb-id" }
                if h.type == "scsi" && h.source.hasPrefix("iscsi ") { key = "scsi-iscsi" }
                hostdevs.insert(key)
                #expect(h.bindsToHost == (key != "usb-id" && key != "usb-address"), "\(name): \(key)")
            }
        }
        #expect(diskTypes.isSuperset(of: ["file", "block", "volume", "network", "nvme", "vhostuser", "dir"]), "\(diskTypes)")
        #expect(diskDevices == ["disk", "cdrom", "floppy", "lun"])
        #expect(
            hostdevs.isSuperset(of: ["pci", "usb-id", "usb-address", "scsi", "scsi-iscsi", "scsi_host", "mdev", "capabilities"]),
            "\(hostdevs)")
        #expect(
            nicTypes.isSuperset(of: [
                "network", "bridge", "direct", "hostdev", "vhostuser", "vdpa", "user", "ethernet",
                "mcast", "udp", "server", "client"
            ]), "\(nicTypes)")
    }

    @Test func poolsReadAsThemselves() throws {
        var types: Set<String> = []
        for url in try LibvirtCorpus.files("pool") + LibvirtCorpus.files("pool-unsupported") {
            let xml = try LibvirtCorpus.text(url)
            let o = try XPathOracle(xml)
            let r = try PoolMapping.spec(fromXML: xml)
            let want = try #require(try o.strings("/pool/@type").first)
            #expect(r.spec.type.rawValue == want, "\(url.lastPathComponent)")
            #expect(r.spec.type.isManaged == ["dir", "logical", "netfs"].contains(want))
            #expect(r.spec.path == (try o.strings("/pool/target/path").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }))
            #expect(r.source.hosts.count == (try o.nodes("/pool/source/host").count), "\(url.lastPathComponent)")
            #expect(r.spec.sourceDevices == (try o.strings("/pool/source/device/@path")), "\(url.lastPathComponent)")
            if try !o.nodes("/pool/source/adapter").isEmpty { #expect(r.source.adapter != nil, "\(url.lastPathComponent)") }
            types.insert(want)
        }
        #expect(
            types == [
                "dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "rbd", "sheepdog",
                "gluster", "zfs", "vstorage"
            ])
    }

    @Test func networksKeepTheirForwardMode() throws {
        var modes: Set<String> = []
        for url in try LibvirtCorpus.files("network") {
            let xml = try LibvirtCorpus.text(url)
            let o = try XPathOracle(xml)
            let r = try NetworkMapping.read(fromXML: xml)
            let forward = try o.nodes("/network/forward")
            let want = forward.isEmpty ? "isolated" : (try o.strings("/network/forward/@mode").first ?? "nat")
            #expect(r.spec.mode.rawValue == want, "\(url.lastPathComponent)")
            #expect(r.spec.mode.isManaged == ["nat", "route", "bridge", "isolated"].contains(want))
            let devs = try o.strings("/network/forward/interface/@dev") + o.strings("/network/forward/pf/@dev")
            for d in devs { #expect(r.forwardDevices.contains { $0 == d || $0 == "pf " + d }, "\(url.lastPathComponent): \(d)") }
            #expect(r.forwardDevices.count >= (try o.nodes("/network/forward/address").count))
            modes.insert(want)
        }
        #expect(
            modes.isSuperset(of: ["nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev", "isolated"]), "\(modes)")
    }
}

/// What a recreation would drop is read from real-world XML: a watchdog and an RNG, but not the guest agent's
/// channel (`guest_agent:` manages it) nor what libvirt adds by itself (controllers, the balloon).
@Suite struct UnmanagedDeviceTests {
    @Test func aHandMadeDomainListsWhatARecreationWouldDrop() throws {
        let url = LibvirtCorpus.root.appendingPathComponent("domain/hand-floppy-lun-scsi.xml")
        let cfg = try DomainMapping.config(fromXML: try String(contentsOf: url, encoding: .utf8))
        #expect(cfg.unmanagedDevices.contains { $0.hasPrefix("watchdog") }, "\(cfg.unmanagedDevices)")
        #expect(cfg.unmanagedDevices.contains { $0.hasPrefix("rng") }, "\(cfg.unmanagedDevices)")
        #expect(!cfg.unmanagedDevices.contains { $0.contains("guest_agent") || $0.hasPrefix("controller") || $0.hasPrefix("memballoon") })
        #expect(cfg.guestAgent)
    }
}
