import FleetModel

extension Assembly {
    /// A VM with a static `ip:` on a `bridge` network, where libvirt serves no DHCP, gets a cloud-init
    /// network-config: every NIC matched by MAC, the bridge ones with their address, the network's prefix,
    /// gateway and DNS servers, the others on DHCP (NAT and isolated networks keep their DHCP host entries).
    /// Such a VM gets a seed even without `cloud_init:`. Invalid addresses are reported elsewhere and skipped here.
    static func withGuestNetworkConfig(_ vm: VMSpec, networks: [String: NetworkSpec]) -> VMSpec {
        var nics: [GuestNICConfig] = []
        var anyStatic = false
        for nic in vm.networks {
            var c = GuestNICConfig(mac: nic.mac)
            if let net = networks[nic.network], net.mode == .bridge, let ip = nic.ip, let subnet = net.subnet, subnet.containsHost(ip) {
                c.address = ip
                c.prefix = subnet.prefix
                c.gateway = net.effectiveGateway
                c.dns = net.dns ?? []
                anyStatic = true
            }
            nics.append(c)
        }
        guard anyStatic, !vm.disks.isEmpty else { return vm }
        var vm = vm
        var ci = vm.cloudInit ?? CloudInitSpec()
        ci.nics = nics
        vm.cloudInit = ci
        return vm
    }
}
