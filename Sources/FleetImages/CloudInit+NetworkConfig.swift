import FleetModel

extension CloudInitSeed {
    /// cloud-init network-config version 2 for `nics`: each NIC matched by its MAC and named `eth<N>` by its
    /// position (cloud-init renames it so at first boot), with a static address, its gateway (`gateway4`,
    /// which cloud-init 22.x renders for ifupdown, netplan and NetworkManager alike) and DNS servers; NICs
    /// without an address use DHCP. Deterministic, so the seed's instance-id only changes with the inputs.
    public static func networkConfig(_ nics: [GuestNICConfig]) -> String {
        var out = "version: 2\nethernets:\n"
        for (i, nic) in nics.enumerated() {
            let name = "eth\(i)"
            out += "  \(name):\n"
            out += "    match:\n      macaddress: \"\(nic.mac.description.lowercased())\"\n"
            out += "    set-name: \(name)\n"
            if let a = nic.address, let p = nic.prefix {
                out += "    dhcp4: false\n"
                out += "    addresses: [\(a)/\(p)]\n"
                if let g = nic.gateway { out += "    gateway4: \(g)\n" }
                if !nic.dns.isEmpty {
                    out += "    nameservers:\n      addresses: [\(nic.dns.map(\.description).joined(separator: ", "))]\n"
                }
            } else {
                out += "    dhcp4: true\n"
            }
        }
        return out
    }
}
