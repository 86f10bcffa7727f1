import Testing

@testable import FleetModel

@Suite struct UnitsTests {
    @Test func parsesSizes() {
        #expect(ByteSize(parsing: "512MiB") == .mib(512))
        #expect(ByteSize(parsing: "8GiB") == .gib(8))
        #expect(ByteSize(parsing: "50G")?.bytes == 50_000_000_000)
        #expect(ByteSize(parsing: "1048576") == .mib(1))
        #expect(ByteSize(parsing: "1 KiB") == .kib(1))
        #expect(ByteSize(parsing: "GiB") == nil)
        #expect(ByteSize(parsing: "-1GiB") == nil)
        #expect(ByteSize(parsing: "1.5GiB") == nil)
        #expect(ByteSize(parsing: "99999999999999999999") == nil)
        #expect(ByteSize(parsing: "20000000000TiB") == nil)
        #expect(ByteSize.gib(8).description == "8GiB")
        #expect(ByteSize(bytes: 1000).description == "1000")
    }

    @Test func parsesDurations() {
        #expect(Seconds(parsing: "30s") == Seconds(30))
        #expect(Seconds(parsing: "5m") == Seconds(300))
        #expect(Seconds(parsing: "12") == Seconds(12))
        #expect(Seconds(parsing: "5x") == nil)
        #expect(Seconds(300).description == "5m")
    }

    @Test func addresses() {
        let net = IPv4Subnet(parsing: "192.168.150.0/24")!
        #expect(net.firstHost.description == "192.168.150.1")
        #expect(net.containsHost(IPv4Address(parsing: "192.168.150.11")!))
        #expect(!net.containsHost(IPv4Address(parsing: "192.168.150.255")!))
        #expect(!net.contains(IPv4Address(parsing: "192.168.151.1")!))
        #expect(IPv4Subnet(parsing: "192.168.150.5/24") == nil)
        #expect(IPv4Address(parsing: "256.1.1.1") == nil)
        #expect(PCIAddress(parsing: "0000:3b:00.0")?.description == "0000:3b:00.0")
        #expect(PCIAddress(parsing: "3b:00.0")?.description == "0000:3b:00.0")
        #expect(PCIAddress(parsing: "0000:3b:00") == nil)
        #expect(MACAddress(parsing: "52:54:00:AA:bb:01")?.description == "52:54:00:aa:bb:01")
        #expect(MACAddress(parsing: "01:00:5e:00:00:01") == nil)
        #expect(MACAddress(parsing: "5B:54:00:00:00:01") == nil)  // B: odd, multicast
        #expect(MACAddress(parsing: "5A:54:00:00:00:01")?.description == "5a:54:00:00:00:01")
        for bad in [
            "52:54:00:aa:bb", "52:54:00:aa:bb:0g", "52-54-00-aa-bb-01", "52:54:00:aa:bb:012", "52:54:00:aa::b01", "５2:54:00:aa:bb:01"
        ] {
            #expect(MACAddress(parsing: bad) == nil, "\(bad)")
        }
        #expect(MACAddress.stable(for: "lab/web-1/0") == MACAddress.stable(for: "lab/web-1/0"))
        #expect(MACAddress.stable(for: "lab/web-1/0") != MACAddress.stable(for: "lab/web-1/1"))
    }

    @Test func names() {
        #expect(ObjectName.isValid("web-1"))
        #expect(!ObjectName.isValid("-web"))
        #expect(!ObjectName.isValid("a/b"))
        #expect(!ObjectName.isValid(""))
        #expect(ObjectName.isValidInterface("virbr10"))
        #expect(!ObjectName.isValidInterface("averyveryverylongbridge"))
    }
}
