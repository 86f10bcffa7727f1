import FleetImages
import FleetModel
import Foundation
import Testing

/// The network-config fleet writes for static addresses on bridge networks: cloud-init v2, every NIC matched by
/// its MAC; it enters the seed and its instance-id, and a user's own network_config file wins over it.
@Suite struct NetworkConfigTests {
    let nics = [
        GuestNICConfig(mac: MACAddress(parsing: "52:54:00:AB:00:01")!),
        GuestNICConfig(
            mac: MACAddress(parsing: "52:54:00:ab:00:02")!, address: IPv4Address(parsing: "10.20.3.4")!, prefix: 16,
            gateway: IPv4Address(parsing: "10.20.0.254")!,
            dns: [IPv4Address(parsing: "10.20.0.53")!, IPv4Address(parsing: "1.1.1.1")!])
    ]

    @Test func rendersVersion2MatchedByMAC() {
        #expect(
            CloudInitSeed.networkConfig(nics) == """
                version: 2
                ethernets:
                  eth0:
                    match:
                      macaddress: "52:54:00:ab:00:01"
                    set-name: eth0
                    dhcp4: true
                  eth1:
                    match:
                      macaddress: "52:54:00:ab:00:02"
                    set-name: eth1
                    dhcp4: false
                    addresses: [10.20.3.4/16]
                    gateway4: 10.20.0.254
                    nameservers:
                      addresses: [10.20.0.53, 1.1.1.1]

                """)
    }

    @Test func entersTheSeedAndItsInstanceID() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let plain = CloudInitSpec()
        var withNICs = plain
        withNICs.nics = nics
        let a = try CloudInitSeed.instanceID(plain, vmName: "web")
        let b = try CloudInitSeed.instanceID(withNICs, vmName: "web")
        #expect(a != b)
        var moved = withNICs
        moved.nics?[1].address = IPv4Address(parsing: "10.20.3.5")
        #expect(try CloudInitSeed.instanceID(moved, vmName: "web") != b)
        let iso = try CloudInitSeed.image(withNICs, vmName: "web")
        let text = String(decoding: iso, as: UTF8.self)
        #expect(text.contains("addresses: [10.20.3.4/16]"))
        // The user's file wins.
        var own = withNICs
        own.networkConfig = try t.file("nc", "version: 2\nethernets: {}\n")
        let ownISO = String(decoding: try CloudInitSeed.image(own, vmName: "web"), as: UTF8.self)
        #expect(ownISO.contains("ethernets: {}") && !ownISO.contains("10.20.3.4"))
    }
}
