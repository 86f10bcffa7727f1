import FleetModel
import Testing

/// Static addresses on bridge networks become a cloud-init network-config (libvirt serves no DHCP there);
/// NAT and isolated networks keep DHCP host entries. `wait:` is read and checked.
@Suite struct GuestNetworkTests {
    let networks = """
        networks:
          nat: {mode: nat, subnet: 192.168.50.0/24}
          lan: {mode: bridge, bridge: br0, subnet: 10.20.0.0/16, gateway: 10.20.0.254, dns: [10.20.0.53, 1.1.1.1]}
        pools: {p: {type: dir, path: /var/lib/libvirt/images}}
        """

    @Test func bridgeStaticAddressBecomesNetworkConfig() throws {
        let (fleet, diags) = try load(
            """
            fleet: f
            \(networks)
            vms:
              web:
                memory: 1GiB
                disks: [{size: 1GiB}]
                networks:
                  - {network: nat, ip: 192.168.50.10, mac: "52:54:00:00:00:01"}
                  - {network: lan, ip: 10.20.3.4, mac: "52:54:00:00:00:02"}
                wait: agent
            """)
        #expect(diags.isEmpty, "\(diags)")
        let f = try #require(fleet)
        let vm = try #require(f.vms.first)
        #expect(vm.wait == .agent)
        // The NAT NIC keeps its DHCP host entry; the bridge gets none.
        #expect(f.networks.first { $0.name == "nat" }?.leases.map(\.ip.description) == ["192.168.50.10"])
        #expect(f.networks.first { $0.name == "lan" }?.leases.isEmpty == true)
        #expect(f.networks.first { $0.name == "lan" }?.dns?.map(\.description) == ["10.20.0.53", "1.1.1.1"])
        // A seed is made for it (no cloud_init: given), with both NICs: the bridge one static, the other DHCP.
        let nics = try #require(vm.cloudInit?.nics)
        #expect(nics.count == 2)
        #expect(nics[0].mac.description == "52:54:00:00:00:01" && nics[0].address == nil)
        #expect(
            nics[1].address?.description == "10.20.3.4" && nics[1].prefix == 16
                && nics[1].gateway?.description == "10.20.0.254" && nics[1].dns.count == 2)
        #expect(vm.seedVolume?.name == "web-cidata.img")
    }

    @Test func withoutBridgeAddressesNoNetworkConfig() throws {
        let (fleet, diags) = try load(
            """
            fleet: f
            \(networks)
            vms:
              web:
                memory: 1GiB
                disks: [{size: 1GiB}]
                networks: [{network: nat, ip: 192.168.50.10}, {network: lan}]
            """)
        #expect(diags.isEmpty, "\(diags)")
        #expect(fleet?.vms.first?.cloudInit == nil)
        #expect(fleet?.vms.first?.wait == nil)
    }

    @Test func errorsPointAtTheirKeys() throws {
        let (_, diags) = try load(
            """
            fleet: f
            networks:
              lan: {mode: bridge, bridge: br0}
              nat: {mode: nat, subnet: 192.168.50.0/24, dns: [192.168.50.1]}
            pools: {p: {type: dir, path: /var/lib/libvirt/images}}
            vms:
              web:
                memory: 1GiB
                disks: [{size: 1GiB}]
                networks: [{network: lan, ip: 10.20.3.4}]
                wait: soon
            """)
        #expect(diags.contains { $0.hasPrefix("fleet.yaml:4:45: error: dns: applies to bridge networks only") }, "\(diags)")
        #expect(
            diags.contains {
                $0.hasPrefix("fleet.yaml:10:35: error: networks[0].ip: network \"lan\" has no subnet")
                    && $0.contains("declare the LAN's subnet: on the bridge network")
            }, "\(diags)")
        #expect(diags.contains { $0.hasPrefix("fleet.yaml:11:11: error:") && $0.contains("soon") }, "\(diags)")
    }
}
