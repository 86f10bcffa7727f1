import ArgumentParser
import FleetExecution
import FleetModel
import Foundation

/// `fleet inventory`: every VM fleet manages, with its host, state, addresses and groups, for Ansible or as JSON.
public struct InventoryCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Print every managed VM with its host, state, addresses and groups (an Ansible dynamic inventory).",
        discussion: """
            With manifests, the VMs of their fleet on its hosts; without, every fleet's VMs on the --connect host \
            (default qemu:///system). Addresses come from the DHCP lease, the guest agent and ARP, as in `fleet show`. \
            Ansible groups: the VM group (a `count:` VM's group name, else the VM's name), `profile_<name>` and \
            `fleet_<name>` (names with other characters than letters, digits and `_` have them replaced by `_`). \
            As an inventory script: a file `#!/bin/sh` `exec fleet inventory PATH "$@"` (mode 0755), then \
            `ansible -i FILE all -m ping` (Ansible passes `--list`, or `--host VM`). Exit status 1 when a host could not be read \
            (the others are still listed).
            """)

    public enum Format: String, CaseIterable, ExpressibleByArgument, Sendable { case ansible, json }

    @Argument(help: "Manifest directories or files (default: none; every fleet's VMs on the --connect host).")
    public var paths: [String] = []
    @OptionGroup public var connection: ConnectionOptions
    @Option(help: "ansible: Ansible's dynamic-inventory JSON (`_meta.hostvars`); json: fleet's own list of VMs.")
    public var format: Format = .ansible
    @Flag(help: "What Ansible passes an inventory script: the whole inventory (the default).")
    public var list = false
    @Option(name: .customLong("host"), help: ArgumentHelp("What Ansible passes an inventory script: one VM's variables.", valueName: "VM"))
    public var hostVars: String?

    public init() {}

    public func run() throws {
        var fleet: Fleet?
        if !paths.isEmpty {
            var m = ManifestOptions()
            m.paths = paths
            fleet = try loadFleet(m)
        }
        let hosts = try connection.hosts(for: fleet ?? Fleet(name: "", hosts: [Fleet.defaultHost]))
        let live = StateReader(fleet: fleet?.name, timeout: connection.timeout, detail: true).read(hosts: hosts)
        let inventory = Inventory(live: live, fleet: fleet)
        if let name = hostVars {
            // Ansible asks for one host only when `_meta` is missing; answered anyway, `{}` for a VM it does not know.
            if let vars = inventory.ansible.hostvars[name] { printOut(try jsonString(vars)) } else { printOut("{}") }
        } else {
            switch format {
            case .ansible: printOut(try jsonString(inventory.ansible))
            case .json: printOut(try jsonString(inventory))
            }
        }
        let failed = live.hosts.filter { $0.error != nil }
        for h in failed { printError("host \(h.name) (\(h.uri)): \(h.error ?? "")") }
        if !failed.isEmpty { throw ExitCode.failed }
    }
}

/// The managed VMs of some hosts, as `fleet inventory` prints them.
public struct Inventory: Encodable, Sendable {
    public struct Address: Encodable, Sendable, Hashable {
        public var address: String
        public var prefix: UInt32
        /// lease, agent or arp.
        public var source: String
    }

    public struct VM: Encodable, Sendable {
        public var name: String
        public var host: String
        public var uri: String
        public var state: String
        public var fleet: String
        /// The manifest key it came from (`web` for `web-1` of `count: 3`).
        public var group: String
        /// Its profile, when the manifests are given and name one.
        public var profile: String?
        public var addresses: [Address]
        /// Its Ansible groups.
        public var groups: [String]
    }

    public var vms: [VM]

    /// The VMs a fleet mark says are fleet's (the given fleet's only, when there is one), by host then name.
    public init(live: LiveState, fleet: Fleet?) {
        let declared = Dictionary((fleet?.vms ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var vms: [VM] = []
        for h in live.hosts where h.error == nil {
            for d in h.domains {
                guard let mark = d.owner, mark.kind == .vm, fleet.map({ $0.name == mark.fleet }) ?? true else { continue }
                let profile = declared[d.name]?.profile
                let addresses = (d.live?.nics ?? []).flatMap(\.addresses).compactMap(Self.address)
                var groups = [Self.groupName(mark.name)]
                if let profile { groups.append("profile_" + Self.groupName(profile)) }
                groups.append("fleet_" + Self.groupName(mark.fleet))
                vms.append(
                    VM(
                        name: d.name, host: h.name, uri: h.uri, state: d.state.rawValue, fleet: mark.fleet, group: mark.name,
                        profile: profile, addresses: addresses, groups: groups))
            }
        }
        self.vms = vms.sorted { ($0.host, $0.name) < ($1.host, $1.name) }
    }

    /// `192.168.122.3/24 (DHCP lease)`, as the live state holds a guest address for display, read back.
    static func address(_ text: String) -> Address? {
        guard let space = text.firstIndex(of: " "), let slash = text[..<space].firstIndex(of: "/"),
            let prefix = UInt32(text[text.index(after: slash)..<space])
        else { return nil }
        let label = text[text.index(after: space)...].trimmingCharacters(in: CharacterSet(charactersIn: "()"))
        let source = GuestAddress.Source.allCases.first { $0.label == label }?.rawValue ?? label
        return Address(address: String(text[..<slash]), prefix: prefix, source: source)
    }

    /// An Ansible group name: letters, digits and `_` (others become `_`), not starting with a digit.
    static func groupName(_ name: String) -> String {
        let s = String(
            name.unicodeScalars.map { c -> Character in
                (c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "_")) ? Character(c) : "_"
            })
        if ["all", "ungrouped", "_meta"].contains(s) { return "vm_" + s }
        return s.first?.isNumber ?? true ? "_" + s : s
    }

    /// Ansible's dynamic-inventory JSON: a group per name with its hosts, `all` with every group as a child, and
    /// the host variables under `_meta.hostvars` (so Ansible calls no `--host` per VM).
    public var ansible: AnsibleInventory {
        var groups: [String: [String]] = [:]
        var hostvars: [String: AnsibleInventory.HostVars] = [:]
        for vm in vms {
            for g in vm.groups { groups[g, default: []].append(vm.name) }
            hostvars[vm.name] = AnsibleInventory.HostVars(
                ansibleHost: vm.addresses.first?.address, fleetHost: vm.host, fleetURI: vm.uri, fleetState: vm.state,
                fleetAddresses: vm.addresses.map(\.address), fleetGroup: vm.group, fleetProfile: vm.profile, fleet: vm.fleet)
        }
        return AnsibleInventory(groups: groups.mapValues { $0.sorted() }, hostvars: hostvars)
    }
}

public struct AnsibleInventory: Encodable, Sendable {
    public struct HostVars: Encodable, Sendable {
        public var ansibleHost: String?
        public var fleetHost: String
        public var fleetURI: String
        public var fleetState: String
        public var fleetAddresses: [String]
        public var fleetGroup: String
        public var fleetProfile: String?
        public var fleet: String
        enum CodingKeys: String, CodingKey {
            case ansibleHost = "ansible_host"
            case fleetHost = "fleet_host"
            case fleetURI = "fleet_uri"
            case fleetState = "fleet_state"
            case fleetAddresses = "fleet_addresses"
            case fleetGroup = "fleet_group"
            case fleetProfile = "fleet_profile"
            case fleet
        }
    }

    public var groups: [String: [String]]
    public var hostvars: [String: HostVars]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        struct Meta: Encodable { var hostvars: [String: HostVars] }
        try c.encode(Meta(hostvars: hostvars), forKey: Key("_meta"))
        try c.encode(["children": groups.keys.sorted() + ["ungrouped"]], forKey: Key("all"))
        for (name, hosts) in groups { try c.encode(["hosts": hosts], forKey: Key(name)) }
        try c.encode([String: [String]](), forKey: Key("ungrouped"))
    }
}
