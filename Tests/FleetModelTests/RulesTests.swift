import Testing

@testable import FleetModel

@Suite struct ModelRulesTests {
    @Test func memoryIsCanonicalInWholeKiB() {
        #expect(ByteSize(parsing: "1G")?.wholeKiB == .kib(976_562))
        #expect(ByteSize.gib(1).wholeKiB == .gib(1))
        #expect(ByteSize(bytes: 1023).wholeKiB == ByteSize(bytes: 0))
        #expect(ByteSize.minimumMemory == .mib(1))
    }

    @Test func reservedPrefixes() {
        #expect(ObjectName.reservedPrefix(of: "fleet-ledger-web") == "fleet-ledger-")
        #expect(ObjectName.reservedPrefix(of: "fleet-lock-kvm1") == "fleet-lock-")
        #expect(ObjectName.reservedPrefix(of: "fleet-lock") == nil)
        #expect(ObjectName.reservedPrefix(of: "my-fleet-ledger-x") == nil)
    }

    @Test func ipAddresses() {
        for ok in [
            "127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1", "2001:db8::8:800:200c:417a", "1:2:3:4:5:6:7:8",
            "::ffff:192.0.2.1", "1:2:3:4:5:6:7::", "FE80::A"
        ] {
            #expect(IPAddressText.isValid(ok), "\(ok)")
        }
        for bad in [
            "", "localhost", "[::]", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::g", "1.2.3", "256.1.1.1",
            "fe80::1%eth0", "::1/128", "1:2:3:4:5:6:7", "::1.2.3.4.5", "127.0.0.1'/><watchdog"
        ] {
            #expect(!IPAddressText.isValid(bad), "\(bad)")
        }
        #expect(GraphicsSpec.isValidListen("none") && !GraphicsSpec.isValidListen("None"))
    }

    @Test func dnsNames() {
        for ok in ["lab", "lab.example", "a-b.c1.example", String(repeating: "a", count: 63)] { #expect(DNSName.isValid(ok), "\(ok)") }
        for bad in ["", "-a", "a-", "a..b", "a.", "a_b", "lab'/>", String(repeating: "a", count: 64), "a b"] {
            #expect(!DNSName.isValid(bad), "\(bad)")
        }
    }

    @Test func vncPasswords() {
        let vnc = GraphicsSpec(type: .vnc)
        let spice = GraphicsSpec(type: .spice)
        #expect(vnc.passwordProblem("12345678") == nil)
        #expect(vnc.passwordProblem("123456789") == "a vnc password has at most 8 characters (this one has 9)")
        #expect(vnc.passwordProblem("") == "the vnc password is empty")
        #expect(spice.passwordProblem("a much longer spice password") == nil)
        #expect(spice.passwordProblem("a\nb") != nil)
    }

    @Test func guestPaths() {
        for ok in ["/etc/x", "/a", "/etc/sysconfig/network-scripts/ifcfg-eth0", "/x..y/.hidden", "/etc/motd.d/", "/"] {
            #expect(GuestPath.isNormalizedAbsolute(ok), "\(ok)")
        }
        for bad in ["", "etc/x", "/etc/../x", "/etc//x", "/etc/./x", "/etc/x//", "//x", "/..", "/../", "/a\0b", "//"] {
            #expect(!GuestPath.isNormalizedAbsolute(bad), "\(bad)")
        }
    }
}
