import Foundation
import Testing

@testable import LibvirtXML

/// Parses with every typed document; the result does not matter, only that nothing traps.
func parseAll(_ s: String) {
    _ = try? DomainXML(xml: s)
    _ = try? NetworkXML(xml: s)
    _ = try? StoragePoolXML(xml: s)
    _ = try? StorageVolumeXML(xml: s)
    _ = try? DomainSnapshotXML(xml: s)
    _ = try? NodeDeviceXML(xml: s)
}

@Suite struct RenderTests {
    /// Render -> parse gives the same value, and rendering is byte-identical across calls.
    @Test func typedRoundTripAndDeterminism() throws {
        for s in [Samples.libvirtdDomain, Samples.testDriverDomain, Samples.rich] {
            let d = try DomainXML(xml: s)
            let x = d.xml()
            #expect(x == d.xml())
            #expect(try DomainXML(xml: x) == d)
        }
        for s in [Samples.testDriverNetwork, Samples.libvirtdNetwork] {
            let n = try NetworkXML(xml: s)
            #expect(try NetworkXML(xml: n.xml()) == n)
        }
        for s in [Samples.libvirtdPool, Samples.netfsPool, Samples.logicalPool, Samples.testDriverPool] {
            let p = try StoragePoolXML(xml: s)
            #expect(try StoragePoolXML(xml: p.xml()) == p)
        }
        for s in [Samples.libvirtdVolume, Samples.testDriverVolume] {
            let v = try StorageVolumeXML(xml: s)
            #expect(try StorageVolumeXML(xml: v.xml()) == v)
        }
        let sn = try DomainSnapshotXML(xml: Samples.testDriverSnapshot)
        #expect(try DomainSnapshotXML(xml: sn.xml()) == sn)
        for s in [Samples.libvirtdNodeDevicePCI, Samples.usbNodeDevice] {
            let n = try NodeDeviceXML(xml: s)
            #expect(try NodeDeviceXML(xml: n.xml()) == n)
        }
    }

    @Test func exactRenderFormat() {
        var n = NetworkXML(name: "a&b", forwardMode: "nat", bridge: .init(name: "br'1", stp: true, delay: 0))
        n.ips = [.init(address: "10.0.0.1", prefix: 24, ranges: [.init(start: "10.0.0.2", end: "10.0.0.9")])]
        #expect(
            n.xml() == """
                <network>
                  <name>a&amp;b</name>
                  <forward mode='nat'/>
                  <bridge name='br&apos;1' stp='on' delay='0'/>
                  <ip address='10.0.0.1' prefix='24'>
                    <dhcp>
                      <range start='10.0.0.2' end='10.0.0.9'/>
                    </dhcp>
                  </ip>
                </network>

                """)
        let v = StorageVolumeXML(name: "v<1>", capacity: 1 << 30, format: "qcow2", backingPath: "/p/b.qcow2", backingFormat: "qcow2")
        #expect(
            v.xml() == """
                <volume>
                  <name>v&lt;1&gt;</name>
                  <capacity unit='bytes'>1073741824</capacity>
                  <target>
                    <format type='qcow2'/>
                  </target>
                  <backingStore>
                    <path>/p/b.qcow2</path>
                    <format type='qcow2'/>
                  </backingStore>
                </volume>

                """)
    }

    @Test func unrepresentableCharactersAreDropped() throws {
        let d = DomainSnapshotXML(name: "s\u{1}1", description: "a\u{0}b\tc\nd\u{FFFF}")
        let x = d.xml()
        #expect(!x.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
        let back = try DomainSnapshotXML(xml: x)
        #expect(back.name == "s1" && back.description == "ab\tc\nd")
        #expect(XElement("a", [("v", "x\ty\nz'\"")]).render() == "<a v='x&#9;y&#10;z&apos;&quot;'/>\n")
        #expect(try XElement.parse(XElement("a", [("v", "x\ty\nz")]).render())["v"] == "x\ty\nz")
    }

    @Test func metadataElementsSurviveRoundTrip() throws {
        let d = try DomainXML(xml: Samples.libvirtdDomain)
        let again = try DomainXML(xml: d.xml())
        #expect(again.metadata == d.metadata)
        #expect(d.xml().contains("<fleet:owner xmlns:fleet='https://fleet.dev/xmlns/owner/1' fleet='lab' kind='vm' name='full'/>"))
    }
}

@Suite struct MalformedTests {
    @Test(arguments: [
        "", "   ", "hello", "<", "<domain", "<domain>", "<domain></network>", "<domain a=1/>", "<domain a='1' a='2'/>",
        "<domain a='<'/>", "<domain a='x/>", "<domain><name>x</name>", "<a/><b/>", "<a>&bogus;</a>", "<a>&#0;</a>",
        "<a>&#x110000;</a>", "<a>&amp</a>", "<!-- x", "<a><![CDATA[x</a>", "<a b='1'c='2'/>", "<?xml version='1.0'?"
    ])
    func syntaxErrors(_ s: String) {
        #expect(throws: XMLError.self) { try XElement.parse(s) }
    }

    @Test func structuralErrors() {
        #expect(throws: XMLError.self) { try DomainXML(xml: "<network><name>x</name></network>") }
        #expect(throws: XMLError.self) { try DomainXML(xml: "<domain type='kvm'><memory>1</memory></domain>") }
        #expect(throws: XMLError.self) { try DomainXML(xml: "<domain><name>x</name><memory>1</memory></domain>") }
        #expect(throws: XMLError.self) { try DomainXML(xml: "<domain type='kvm'><name>x</name><memory unit='KiB'>-1</memory></domain>") }
        #expect(throws: XMLError.self) { try DomainXML(xml: "<domain type='kvm'><name>x</name><memory unit='EiB'>99</memory></domain>") }
        #expect(throws: XMLError.self) {
            try DomainXML(
                xml:
                    "<domain type='kvm'><name>x</name><memory>1</memory><devices><hostdev type='pci'><source><address bus='0x1ff' slot='0' function='0'/></source></hostdev></devices></domain>"
            )
        }
        #expect(throws: XMLError.self) { try NetworkXML(xml: "<network><name>n</name><ip/></network>") }
        #expect(throws: XMLError.self) { try StorageVolumeXML(xml: "<volume><name>v</name></volume>") }
        #expect(throws: XMLError.self) {
            try NodeDeviceXML(xml: "<device><name>d</name><capability type='pci'><domain>0</domain></capability></device>")
        }
        #expect(throws: XMLError.self) { try DomainSnapshotXML(xml: "<domainsnapshot/>") }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        #expect(throws: XMLError.self) { try XElement.parse(deep) }
    }

    @Test func everyTruncationOfEverySample() {
        for s in Samples.all {
            let bytes = Array(s.utf8)
            for n in 0..<bytes.count { parseAll(String(decoding: bytes[0..<n], as: UTF8.self)) }
        }
    }

    @Test func randomMutations() {
        var rng = SplitMix(seed: 0xF1EE7)
        let alphabet = Array("<>/='\"&;#x![]-? \nabc0123:".utf8) + [0xFF, 0xC3, 0x00]
        for s in Samples.all {
            let bytes = Array(s.utf8)
            for _ in 0..<300 {
                var b = bytes
                for _ in 0..<(1 + Int(rng.next() % 6)) {
                    let i = Int(rng.next() % UInt64(b.count))
                    switch rng.next() % 3 {
                    case 0: b[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    case 1: b.remove(at: i)
                    default: b.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                    }
                }
                parseAll(String(decoding: b, as: UTF8.self))
            }
        }
    }
}

/// A tiny deterministic PRNG so failures reproduce.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct VolumeTests {
    /// A thousand parses of a real ~5 KB domain document give the same answer each time. How fast they run is
    /// a benchmark's business (`fleet-bench read`, docs/benchmarks.md), not a test's: a timed test fails on a
    /// loaded machine and proves nothing on an idle one.
    @Test func thousandDomains() throws {
        let doc = Samples.libvirtdDomain
        #expect(doc.utf8.count > 4000)
        var names = 0
        for _ in 0..<1000 { names += try DomainXML(xml: doc).devices.controllers.count }
        #expect(names == 11_000)
    }
}
