import FleetModel
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

@Suite struct NetworkMappingTests {
    @Test func corpusValidates() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var failures: [String] = []
        for (i, n) in corpusNetworks(prefix: "ft-x-").enumerated() {
            if let f = try validate(
                NetworkMapping.render(n, uuid: "3bcaffeb-0431-4b8c-b781-8b3bfe29f665"), type: "network", dir: dir, name: "n\(i).xml")
            {
                failures.append(f)
            }
        }
        for (i, p) in corpusPools(prefix: "ft-x-").enumerated() {
            if let f = try validate(PoolMapping.render(p), type: "storagepool", dir: dir, name: "p\(i).xml") { failures.append(f) }
        }
        for (i, v) in [
            VolumeMapping.render(name: "a.qcow2", format: .qcow2, capacity: .gib(10)),
            VolumeMapping.render(name: "b.img", format: .raw, capacity: ByteSize(bytes: 12345)),
            VolumeMapping.render(name: "c.qcow2", format: .qcow2, capacity: .gib(20), backingPath: "/var/lib/fleet/base.qcow2"),
            VolumeMapping.render(name: "d.qcow2", format: .qcow2, capacity: .gib(20), backingPath: "/x/base.img", backingFormat: .raw)
        ]
        .enumerated() {
            if let f = try validate(v, type: "storagevol", dir: dir, name: "v\(i).xml") { failures.append(f) }
        }
        for (i, s) in [
            SnapshotMapping.render(name: "pre-upgrade", description: "before <apt> & co"),
            SnapshotMapping.render(name: "s", description: nil)
        ].enumerated() {
            if let f = try validate(s, type: "domainsnapshot", dir: dir, name: "s\(i).xml") { failures.append(f) }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// The validation tests can fail: the validator really rejects a broken document.
    @Test func validatorRejectsInvalid() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try validate("<network><name>x</name><forward mode='bogus'/></network>", type: "network", dir: dir, name: "bad.xml") != nil)
        #expect(try validate("<domain type='bogus'><name>x</name></domain>", type: "domain", dir: dir, name: "bad2.xml") != nil)
    }

    @Test func shapes() throws {
        let nets = corpusNetworks()
        let nat = try NetworkXML(xml: NetworkMapping.render(nets[0]))
        #expect(nat.forwardMode == "nat" && nat.bridge == NetworkXML.Bridge(name: "br", stp: true, delay: 0))
        #expect(
            nat.ips == [
                NetworkXML.IP(
                    address: "10.77.0.1", prefix: 24, ranges: [.init(start: "10.77.0.100", end: "10.77.0.200")],
                    hosts: [
                        .init(mac: "52:54:00:00:00:01", name: "a", ip: "10.77.0.10"),
                        .init(mac: "52:54:00:00:00:02", name: "b", ip: "10.77.0.20")
                    ])
            ])
        #expect(nat.domainName == "lab.test" && nat.mtu == 1400)
        let iso = try NetworkXML(xml: NetworkMapping.render(nets[1]))
        #expect(iso.forwardMode == nil && iso.ips.first?.address == "10.78.0.254" && iso.bridge == nil)
        #expect(try NetworkXML(xml: NetworkMapping.render(nets[2])).forwardMode == "route")
        let br = try NetworkXML(xml: NetworkMapping.render(nets[3]))
        #expect(br.forwardMode == "bridge" && br.bridge == NetworkXML.Bridge(name: "br0") && br.ips.isEmpty)
        #expect(
            NetworkMapping.leaseXML(
                DHCPLease(mac: MACAddress(parsing: "52:54:00:00:00:09")!, name: "w&1", ip: IPv4Address(parsing: "10.0.0.9")!))
                == "<host mac='52:54:00:00:00:09' name='w&amp;1' ip='10.0.0.9'/>")
    }

    @Test func inProcessRoundTrip() throws {
        for n in corpusNetworks() {
            let got = try NetworkMapping.spec(fromXML: NetworkMapping.render(n))
            expectNetwork(got, n)
        }
    }

    @Test func readsLibvirtShapes() throws {
        // libvirt's default network uses a netmask; forward modes fleet does not create read as themselves.
        let d = try NetworkMapping.spec(
            fromXML: """
                <network><name>default</name><forward mode='nat'/><bridge name='virbr0' stp='on' delay='0'/>
                <mac address='52:54:00:0a:0b:0c'/><ip address='192.168.122.1' netmask='255.255.255.0'>
                <dhcp><range start='192.168.122.2' end='192.168.122.254'/><host mac='52:54:00:00:00:01' ip='192.168.122.9'/></dhcp></ip></network>
                """)
        #expect(d.subnet == IPv4Subnet(parsing: "192.168.122.0/24") && d.gateway == IPv4Address(parsing: "192.168.122.1"))
        #expect(d.bridge == "virbr0" && d.mode == .nat && d.leases.isEmpty)  // a host without a name is not a fleet lease
        #expect(try NetworkMapping.spec(fromXML: "<network><name>o</name><forward mode='open'/></network>").mode == .other("open"))
        #expect(
            try NetworkMapping.spec(fromXML: "<network><name>m</name><forward mode='passthrough'/></network>").mode == .other("passthrough")
        )
        #expect(throws: XMLError.self) {
            try NetworkMapping.spec(fromXML: "<network><name>x</name><ip address='10.0.0.1' netmask='255.0.255.0'/></network>")
        }
        #expect(throws: XMLError.self) {
            try NetworkMapping.spec(fromXML: "<network><name>x</name><ip address='nope' prefix='8'/></network>")
        }
        #expect(NetworkMapping.prefixLength(IPv4Address(parsing: "255.255.255.252")!) == 30)
        #expect(NetworkMapping.prefixLength(IPv4Address(parsing: "0.0.0.0")!) == 0)
    }
}

@Suite struct StorageMappingTests {
    @Test func poolsRoundTripInProcess() throws {
        for p in corpusPools() {
            let r = try PoolMapping.spec(fromXML: PoolMapping.render(p))
            expectPool(r.spec, p)
            #expect(r.capacity.bytes == 0)
        }
        let lvm = try StoragePoolXML(xml: PoolMapping.render(PoolSpec(name: "vmvg", type: .logical, sourceDevices: ["/dev/sdb"])))
        #expect(lvm.source == StoragePoolXML.Source(devices: ["/dev/sdb"], name: "vmvg", format: "lvm2") && lvm.targetPath == "/dev/vmvg")
    }

    @Test func poolSizes() throws {
        let r = try PoolMapping.spec(
            fromXML: """
                <pool type='dir'><name>p</name><capacity unit='bytes'>100</capacity><allocation unit='KiB'>2</allocation>
                <available>98</available><source/><target><path>/p</path></target></pool>
                """)
        #expect(r.capacity.bytes == 100 && r.allocation.bytes == 2048 && r.available.bytes == 98 && r.spec.path == "/p")
        #expect(try PoolMapping.spec(fromXML: "<pool type='iscsi'><name>i</name></pool>").spec.type == .other("iscsi"))
    }

    @Test func volumes() throws {
        let xml = VolumeMapping.render(name: "web-root.qcow2", format: .qcow2, capacity: .gib(10), backingPath: "/pool/debian.qcow2")
        let v = try StorageVolumeXML(xml: xml)
        #expect(v.capacity == 10 << 30 && v.format == "qcow2" && v.backingPath == "/pool/debian.qcow2" && v.backingFormat == "qcow2")
        let live = try VolumeMapping.volume(
            fromXML: """
                <volume type='file'><name>v2.qcow2</name><key>/tmp/p/v2.qcow2</key><capacity unit='bytes'>2147483648</capacity>
                <allocation unit='bytes'>200704</allocation><target><path>/tmp/p/v2.qcow2</path><format type='qcow2'/></target>
                <backingStore><path>/tmp/p/v1.qcow2</path><format type='qcow2'/></backingStore></volume>
                """, pool: "p")
        #expect(
            live
                == LiveVolume(
                    pool: "p", name: "v2.qcow2", path: "/tmp/p/v2.qcow2", format: "qcow2", capacity: .gib(2),
                    allocation: ByteSize(bytes: 200_704), backingPath: "/tmp/p/v1.qcow2", backingFormat: "qcow2"))
    }

    @Test func snapshotsAndNodeDevices() throws {
        let s = SnapshotMapping.render(name: "pre", description: "d")
        #expect(try SnapshotMapping.name(fromXML: s) == "pre")
        #expect(try DomainSnapshotXML(xml: s).description == "d")
        #expect(throws: XMLError.self) { try SnapshotMapping.name(fromXML: "<domainsnapshot><description/></domainsnapshot>") }
        let pci =
            "<device><name>pci_0000_3b_00_1</name><capability type='pci'><domain>0</domain><bus>59</bus><slot>0</slot><function>1</function><product id='0x1234'/><vendor id='0x10de'>NVIDIA</vendor></capability></device>"
        #expect(try NodeDeviceMapping.kind(fromXML: pci) == .pci(PCIAddress(parsing: "0000:3b:00.1")!))
        let usb =
            "<device><name>usb_1_5</name><capability type='usb_device'><bus>1</bus><device>5</device><product id='0x0407'/><vendor id='0x1050'/></capability></device>"
        #expect(try NodeDeviceMapping.kind(fromXML: usb) == .usb(vendor: 0x1050, product: 0x0407))
        #expect(try NodeDeviceMapping.kind(fromXML: "<device><name>computer</name><capability type='system'/></device>") == nil)
        let badSlot =
            "<device><name>x</name><capability type='pci'><domain>0</domain><bus>0</bus><slot>40</slot><function>0</function><product id='0x1'/><vendor id='0x1'/></capability></device>"
        #expect(throws: XMLError.self) { try NodeDeviceMapping.kind(fromXML: badSlot) }
    }

    /// Volumes and snapshots on a test-driver fixture: create from the rendered XML, read back through the mapping.
    @Test func volumeAndSnapshotOnTestDriver() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixture = """
            <node>
              <domain type='test'><name>ft-dom</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>
              <pool type='dir'><name>ft-pool</name><target><path>/ft-pool</path></target></pool>
            </node>
            """
        let uri = "test://" + (try write(fixture, to: dir, "fixture.xml"))
        let vol = try write(VolumeMapping.render(name: "web-root.qcow2", format: .qcow2, capacity: .gib(3)), to: dir, "vol.xml")
        let snap = try write(SnapshotMapping.render(name: "pre", description: "before"), to: dir, "snap.xml")
        let r = try run([
            "virsh", "-q", "-c", uri,
            "vol-create ft-pool \(vol); vol-dumpxml --pool ft-pool web-root.qcow2; echo =====; snapshot-create ft-dom \(snap); snapshot-dumpxml ft-dom pre"
        ])
        #expect(r.status == 0, "\(r.output)")
        let parts = r.output.components(separatedBy: "=====")
        try #require(parts.count == 2)
        let v = try VolumeMapping.volume(fromXML: parts[0], pool: "ft-pool")
        #expect(v.name == "web-root.qcow2" && v.format == "qcow2" && v.capacity == .gib(3) && v.path == "/ft-pool/web-root.qcow2")
        let snapXML = String(parts[1].drop { $0 != "<" })
        #expect(try SnapshotMapping.name(fromXML: snapXML) == "pre")
        #expect(try DomainSnapshotXML(xml: snapXML).description == "before")
    }
}

@Suite struct MappingRobustnessTests {
    /// Mutated versions of everything fleet renders go through every reader: errors are fine, traps are not.
    @Test func mutatedDocumentsNeverTrap() {
        let fleet = corpusFleet()
        var docs = fleet.vms.map { DomainMapping.render($0, hypervisor: .qemu, graphicsPassword: "p", owner: mark($0, fleet)) }
        docs += corpusNetworks().map { NetworkMapping.render($0) }
        docs += corpusPools().map { PoolMapping.render($0) }
        docs.append(LedgerMapping.render(fleet: "lab", entries: ledgerEntries(), hypervisor: .qemu))
        docs.append(VolumeMapping.render(name: "v", format: .qcow2, capacity: .gib(1), backingPath: "/b"))
        var state: UInt64 = 0x5EED
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let alphabet = Array("<>/='\"&;#x-:0123456789abcdef ".utf8)
        var parsed = 0
        for doc in docs {
            let bytes = Array(doc.utf8)
            for _ in 0..<200 {
                var b = bytes
                for _ in 0..<(1 + next() % 4) {
                    let i = next() % b.count
                    if next() % 2 == 0 { b[i] = alphabet[next() % alphabet.count] } else { b.remove(at: i) }
                }
                let s = String(decoding: b, as: UTF8.self)
                if (try? DomainMapping.config(fromXML: s)) != nil { parsed += 1 }
                _ = try? NetworkMapping.spec(fromXML: s)
                _ = try? PoolMapping.spec(fromXML: s)
                _ = try? VolumeMapping.volume(fromXML: s, pool: "p")
                _ = try? LedgerMapping.entries(fromXML: s)
                _ = try? NodeDeviceMapping.kind(fromXML: s)
                _ = OwnerXML.parse(s)
            }
        }
        #expect(parsed > 0)  // some mutations leave a readable domain: the readers really ran
    }
}
