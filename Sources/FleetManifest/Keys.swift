import FleetModel

/// The manifest's vocabulary: every key, its type and its documentation. The loader checks keys against
/// these tables (unknown keys, suggestions) and `FleetSchema` is generated from them, so the two cannot drift.
indirect enum ValueType: Sendable {
    case string
    /// An object name libvirt accepts (`ObjectName.isValid`).
    case name
    /// A Linux interface name (`ObjectName.isValidInterface`).
    case interfaceName
    case path
    case integer(min: Int, max: Int)
    /// A positive decimal number up to `max`, e.g. an overcommit ratio: `4`, `1.5`.
    case ratio(max: Double)
    case boolean
    case size
    case ipv4
    case subnet
    case mac
    case pciAddress
    /// A USB vendor/product id: `"0x287f"` or an integer.
    case usbID
    case checksum
    case octalMode
    /// A percentage: `25%` (1 to 100).
    case percent
    /// A duration: `90s`, `5m`, `1h`, `1d`, or whole seconds.
    case duration
    case enumeration([String])
    case list(ValueType)
    /// A list of exactly two values.
    case pair(ValueType)
    case object(ObjectTable)
    /// A mapping from object names to objects of one table (`vms:`, `pools:`, …).
    case namedObjects(ObjectTable)
    /// `{file: PATH}` or `{env: VAR}`; never a literal.
    case secret
    case oneOf([ValueType])
}

struct KeyDef: Sendable {
    let name: String
    let type: ValueType
    let doc: String
    var required = false
}

struct ObjectTable: Sendable {
    /// The `$defs` entry in the schema.
    let id: String
    let doc: String
    let keys: [KeyDef]
    /// Keys starting with `x-` are ignored (a place for YAML anchors, as in docker-compose).
    var allowsExtensionKeys = false
    var keyNames: [String] { keys.map(\.name) }
    func key(_ name: String) -> KeyDef? { keys.first { $0.name == name } }

    /// The range an integer key declares: the one place ranges are written (the decoder and the schema
    /// read them from here). Every integer key the decoder reads is covered by a test.
    func range(_ name: String) -> ClosedRange<Int> {
        guard let k = key(name) else { return Int.min...Int.max }
        for type in [k.type] + { if case .oneOf(let ts) = k.type { return ts } else { return [] } }() {
            if case .integer(let lo, let hi) = type { return lo...hi }
        }
        return Int.min...Int.max
    }

    /// The maximum a ratio key declares (the decoder and the schema read it from here).
    func ratioMax(_ name: String) -> Double {
        if let k = key(name), case .ratio(let max) = k.type { return max }
        return .infinity
    }

    func removing(_ names: Set<String>, id: String, doc: String) -> ObjectTable {
        ObjectTable(id: id, doc: doc, keys: keys.filter { !names.contains($0.name) })
    }
}

enum Keys {
    static let hosts = ObjectTable(
        id: "host", doc: "A libvirt host fleet manages.",
        keys: [
            KeyDef(
                name: "uri", type: .string, doc: "libvirt connection URI, e.g. qemu:///system or qemu+ssh://root@kvm1/system.",
                required: true)
        ])

    static let poolSource = ObjectTable(
        id: "poolSource", doc: "Where a logical or netfs pool's storage comes from.",
        keys: [
            KeyDef(name: "devices", type: .list(.path), doc: "logical: physical devices of the volume group, e.g. [/dev/sdb]."),
            KeyDef(name: "vg", type: .name, doc: "logical: volume group name."),
            KeyDef(name: "host", type: .string, doc: "netfs: NFS server host name or address."),
            KeyDef(name: "dir", type: .path, doc: "netfs: exported directory on the server.")
        ])

    static let pool = ObjectTable(
        id: "pool", doc: "A libvirt storage pool.",
        keys: [
            KeyDef(name: "type", type: .enumeration(PoolType.allCases.map(\.rawValue)), doc: "Pool type: dir (default), logical or netfs."),
            KeyDef(
                name: "path", type: .path, doc: "Target path: the directory (dir), the mount point (netfs) or /dev/VG (logical). Absolute."),
            KeyDef(name: "source", type: .object(poolSource), doc: "Source storage of logical and netfs pools."),
            KeyDef(name: "autostart", type: .boolean, doc: "Start the pool when the host boots."),
            KeyDef(name: "hosts", type: .list(.name), doc: "Hosts to create the pool on; default: every host.")
        ])

    static let dhcpHost = ObjectTable(
        id: "dhcpHost", doc: "A static DHCP lease (libvirt's <dhcp><host>) that no VM NIC declares with ip:.",
        keys: [
            KeyDef(name: "mac", type: .mac, doc: "MAC address the lease is for.", required: true),
            KeyDef(name: "ip", type: .ipv4, doc: "Address given: a host address of the subnet, not the gateway.", required: true),
            KeyDef(name: "name", type: .string, doc: "Host name dnsmasq hands out with the lease.", required: true)
        ])

    static let dhcp = ObjectTable(
        id: "dhcp", doc: "The dynamic DHCP range libvirt's dnsmasq serves.",
        keys: [
            KeyDef(
                name: "range", type: .pair(.ipv4), doc: "[first, last] address of the dynamic range, inside the subnet.", required: true),
            KeyDef(
                name: "hosts", type: .list(.object(dhcpHost)),
                doc: "Static leases for machines that are not VMs of this manifest (a VM's NIC declares its own with ip:).")
        ])

    static let network = ObjectTable(
        id: "network", doc: "A libvirt virtual network.",
        keys: [
            KeyDef(
                name: "mode", type: .enumeration(NetworkMode.allCases.map(\.rawValue)),
                doc: "nat, bridge (an existing host bridge), isolated or route.", required: true),
            KeyDef(
                name: "bridge", type: .interfaceName,
                doc: "nat/isolated/route: the bridge libvirt creates (optional); bridge mode: the existing host bridge (required)."),
            KeyDef(
                name: "subnet", type: .subnet,
                doc: "IPv4 subnet in CIDR form; required for nat and route, optional for isolated; "
                    + "bridge: the LAN's subnet, needed for static ip: on it."),
            KeyDef(
                name: "gateway", type: .ipv4,
                doc: "The host's address on the network (bridge: the guests' default router); default: the subnet's first address."),
            KeyDef(
                name: "dns", type: .list(.ipv4),
                doc: "bridge only: DNS servers given to guests with a static ip: (cloud-init network-config)."),
            KeyDef(name: "dhcp", type: .object(dhcp), doc: "Dynamic DHCP range."),
            KeyDef(name: "domain", type: .string, doc: "DNS domain served on the network: a DNS name such as lab.example."),
            KeyDef(name: "mtu", type: .integer(min: 68, max: 65535), doc: "MTU of the bridge."),
            KeyDef(name: "autostart", type: .boolean, doc: "Start the network when the host boots."),
            KeyDef(name: "hosts", type: .list(.name), doc: "Hosts to create the network on; default: every host.")
        ])

    static let fileCopy = ObjectTable(
        id: "fileCopy", doc: "A file copied into the guest image.",
        keys: [
            KeyDef(name: "source", type: .path, doc: "Local file, relative to the manifest file's directory. Must exist.", required: true),
            KeyDef(
                name: "dest", type: .path,
                doc: "Absolute, normalised path in the guest (no '.', '..' or '//'); a trailing / copies into that directory.",
                required: true),
            KeyDef(name: "mode", type: .octalMode, doc: "Octal permissions as a string, e.g. \"0644\"."),
            KeyDef(name: "owner", type: .string, doc: "Owner as user:group, e.g. root:root.")
        ])

    static let customize = ObjectTable(
        id: "customize", doc: "Changes made to a disk image with libguestfs before first boot.",
        keys: [
            KeyDef(name: "root_password", type: .secret, doc: "Root password: {file: PATH} or {env: VAR}. Literal passwords are rejected."),
            KeyDef(name: "ssh_authorized_keys", type: .list(.string), doc: "Public keys installed for root."),
            KeyDef(name: "files", type: .list(.object(fileCopy)), doc: "Files copied into the guest."),
            KeyDef(name: "hostname", type: .boolean, doc: "Set the guest hostname to the VM name."),
            KeyDef(name: "timezone", type: .string, doc: "Guest timezone: a zone name such as Asia/Shanghai or UTC."),
            KeyDef(
                name: "sysprep", type: .oneOf([.boolean, .list(.enumeration(SysprepOperation.allCases.map(\.rawValue)))]),
                doc: "true for every sysprep operation, or a list of operation names.")
        ])

    static let image = ObjectTable(
        id: "image", doc: "A base disk image VMs are cloned from.",
        keys: [
            KeyDef(
                name: "source", type: .string, doc: "Local path (relative to the manifest file), file:// or http(s):// URL.", required: true
            ),
            KeyDef(name: "checksum", type: .checksum, doc: "sha256:<64 hex digits>; required for URLs."),
            KeyDef(name: "format", type: .enumeration(DiskFormat.allCases.map(\.rawValue)), doc: "qcow2 or raw; detected when omitted."),
            KeyDef(name: "pool", type: .name, doc: "Pool the image is stored in; default: the only pool, when there is one."),
            KeyDef(name: "customize", type: .object(customize), doc: "Customization applied to the image."),
            KeyDef(name: "hosts", type: .list(.name), doc: "Hosts to place the image on; default: every host.")
        ])

    static let device = ObjectTable(
        id: "device", doc: "A host device passed through to a VM.",
        keys: [
            KeyDef(name: "host", type: .name, doc: "The host the device is plugged into; default: the only host."),
            KeyDef(name: "type", type: .enumeration(["pci", "usb"]), doc: "pci or usb.", required: true),
            KeyDef(name: "address", type: .pciAddress, doc: "pci: address domain:bus:slot.function, e.g. 0000:3b:00.0."),
            KeyDef(name: "vendor", type: .usbID, doc: "usb: vendor id, e.g. \"0x287f\"."),
            KeyDef(name: "product", type: .usbID, doc: "usb: product id, e.g. \"0x00f8\".")
        ])

    static let disk = ObjectTable(
        id: "disk", doc: "A VM disk: cloned from an image, or blank.",
        keys: [
            KeyDef(name: "name", type: .name, doc: "Disk name (volume <vm>-<name>.<ext>); default disk0, disk1, … by position."),
            KeyDef(name: "image", type: .name, doc: "Image the disk is cloned from; absent for a blank disk."),
            KeyDef(name: "size", type: .size, doc: "Capacity, e.g. 50GiB; required for blank disks."),
            KeyDef(name: "pool", type: .name, doc: "Pool holding the volume; default: the image's pool, or the only pool."),
            KeyDef(name: "format", type: .enumeration(DiskFormat.allCases.map(\.rawValue)), doc: "qcow2 (default) or raw."),
            KeyDef(name: "bus", type: .enumeration(DiskBus.allCases.map(\.rawValue)), doc: "virtio (default), scsi, sata, ide or usb."),
            KeyDef(
                name: "clone", type: .enumeration(CloneMode.allCases.map(\.rawValue)),
                doc: "Image disks: overlay (default, backing file) or full copy."),
            KeyDef(
                name: "volume", type: .string,
                doc:
                    "Name of the volume in the pool, e.g. debian12.qcow2 (fleet export writes it for existing disks): a file name, no /; default <vm>-<name>.<ext>."
            )
        ])

    static let nic = ObjectTable(
        id: "nic", doc: "A network interface.",
        keys: [
            KeyDef(name: "network", type: .name, doc: "Network (from networks:) the NIC is attached to.", required: true),
            KeyDef(
                name: "model", type: .enumeration(NICModel.allCases.map(\.rawValue)), doc: "virtio (default), e1000, e1000e or rtl8139."),
            KeyDef(name: "mac", type: .mac, doc: "MAC address; default: a stable address derived from fleet, VM and NIC index."),
            KeyDef(name: "ip", type: .ipv4, doc: "Static DHCP lease on the network's subnet.")
        ])

    static let graphics = ObjectTable(
        id: "graphics", doc: "Graphical console.",
        keys: [
            KeyDef(name: "type", type: .enumeration(GraphicsType.allCases.map(\.rawValue)), doc: "vnc (default) or spice."),
            KeyDef(name: "listen", type: .string, doc: "Listen address: an IPv4 or IPv6 address, or none; default 127.0.0.1."),
            KeyDef(name: "port", type: .integer(min: 5900, max: 65535), doc: "Fixed port 5900-65535; default: allocated at start."),
            KeyDef(
                name: "password", type: .secret,
                doc: "Console password: {file: PATH} or {env: VAR}; vnc: 1-8 characters (checked at apply).")
        ])

    static let cloudInit = ObjectTable(
        id: "cloudInit", doc: "cloud-init NoCloud seed files (relative to the manifest file; must exist).",
        keys: [
            KeyDef(name: "user_data", type: .path, doc: "user-data file."),
            KeyDef(name: "meta_data", type: .path, doc: "meta-data file."),
            KeyDef(name: "network_config", type: .path, doc: "network-config file."),
            KeyDef(
                name: "ssh_authorized_keys", type: .list(.string),
                doc: "Public keys cloud-init installs for root (vendor-data; no libguestfs)."),
            KeyDef(
                name: "root_password", type: .secret,
                doc: "Root password cloud-init sets (vendor-data, as a $6$ hash): {file: PATH} or {env: VAR}.")
        ])

    static let firmware = ObjectTable(
        id: "firmware", doc: "Firmware with the features libvirt's firmware auto-selection must find.",
        keys: [
            KeyDef(name: "type", type: .enumeration(Firmware.allCases.map(\.rawValue)), doc: "bios or uefi.", required: true),
            KeyDef(
                name: "secure_boot", type: .boolean,
                doc: "uefi: UEFI secure boot (with SMM); needs machine: q35. Default: libvirt's choice."),
            KeyDef(
                name: "enrolled_keys", type: .boolean,
                doc: "uefi: start the NVRAM with Microsoft's and the distribution's keys enrolled; true needs secure_boot: true.")
        ])

    static let tpm = ObjectTable(
        id: "tpm", doc: "An emulated TPM (swtpm, run by libvirt; its state lives on the host with the VM).",
        keys: [
            KeyDef(name: "model", type: .enumeration(TPMModel.allCases.map(\.rawValue)), doc: "crb (default) or tis."),
            KeyDef(
                name: "version", type: .enumeration(TPMVersion.allCases.map(\.rawValue)),
                doc: "TPM version, a string: \"2.0\" (default) or \"1.2\" (tis only).")
        ])

    static let ignition = ObjectTable(
        id: "ignition", doc: "Ignition config (Fedora CoreOS, Flatcar), passed through QEMU fw_cfg as opt/com.coreos/config.",
        keys: [
            KeyDef(
                name: "config", type: .path,
                doc:
                    "Ignition JSON file (relative to the manifest file; must exist and be valid JSON with ignition.version). Butane is not translated.",
                required: true)
        ])

    static let share = ObjectTable(
        id: "share", doc: "A host directory shared with the guest.",
        keys: [
            KeyDef(
                name: "source", type: .path, doc: "Absolute directory on the VM's host; must exist (checked by plan on local hosts).",
                required: true),
            KeyDef(name: "target", type: .string, doc: "Mount tag the guest mounts, e.g. mount -t virtiofs TAG /mnt.", required: true),
            KeyDef(
                name: "mode", type: .enumeration(ShareMode.allCases.map(\.rawValue)),
                doc: "virtiofs (default; fleet adds shared memory backing) or 9p."),
            KeyDef(name: "readonly", type: .boolean, doc: "Read-only share; 9p only (libvirt 9.0 refuses read-only virtiofs).")
        ])

    static let rollout = ObjectTable(
        id: "rollout",
        doc: "Restart- and replace-class changes of the group's VMs run in waves, each waiting for its VMs to be ready.",
        keys: [
            KeyDef(
                name: "max_unavailable", type: .oneOf([.integer(min: 1, max: 1000), .percent]),
                doc: "VMs of the group down at once: a number, or a percentage of the group (rounded down, at least 1); default 1."),
            KeyDef(
                name: "wait", type: .enumeration(ReadinessWait.allCases.map(\.rawValue)),
                doc: "What a wave waits for before the next: lease, agent, ssh-port or none; default: each VM's wait:, else none."),
            KeyDef(name: "timeout", type: .duration, doc: "How long a wave may take to be ready, e.g. 90s or 5m; default 5m.")
        ])

    static let vm = ObjectTable(
        id: "vm", doc: "A virtual machine, or count: N identical ones.",
        keys: [
            KeyDef(
                name: "count", type: .integer(min: 1, max: 1000),
                doc: "Number of instances, named <name>-1 … <name>-N; absent: one VM named <name>."),
            KeyDef(
                name: "host", type: .name,
                doc: "Host the VM runs on; optional when the fleet has one host. auto: fleet chooses among all hosts (placement)."),
            KeyDef(
                name: "hosts", type: .list(.name),
                doc: "Candidate hosts fleet chooses among by free capacity (placement); instead of host:."),
            KeyDef(
                name: "spread", type: .boolean,
                doc: "With host: auto or hosts: spread the group's VMs over the candidates (fewest of the group first)."),
            KeyDef(name: "profile", type: .name, doc: "Profile whose keys this VM inherits (VM keys win)."),
            KeyDef(name: "vcpus", type: .integer(min: 1, max: 4096), doc: "vCPUs at boot; default 1."),
            KeyDef(name: "max_vcpus", type: .integer(min: 1, max: 4096), doc: "Maximum vCPUs (hot-plug limit)."),
            KeyDef(
                name: "memory", type: .size,
                doc: "Memory, e.g. 8GiB; at least 1MiB, rounded down to whole KiB. Required (here or in the profile)."),
            KeyDef(name: "max_memory", type: .size, doc: "Maximum memory (balloon limit); at least 1MiB, rounded down to whole KiB."),
            KeyDef(
                name: "firmware", type: .oneOf([.enumeration(Firmware.allCases.map(\.rawValue)), .object(firmware)]),
                doc: "bios or uefi, or a mapping {type, secure_boot, enrolled_keys}; default: libvirt's."),
            KeyDef(name: "tpm", type: .object(tpm), doc: "An emulated TPM: {model: crb, version: \"2.0\"}."),
            KeyDef(name: "virt_type", type: .enumeration(VirtType.allCases.map(\.rawValue)), doc: "kvm (default) or qemu (emulation)."),
            KeyDef(name: "machine", type: .string, doc: "Machine type, e.g. q35."),
            KeyDef(name: "disks", type: .list(.object(disk)), doc: "Disks in boot order."),
            KeyDef(name: "cdrom", type: .path, doc: "ISO path on the host (host-local, not resolved)."),
            KeyDef(name: "networks", type: .list(.object(nic)), doc: "Network interfaces."),
            KeyDef(name: "graphics", type: .oneOf([.enumeration(["none"]), .object(graphics)]), doc: "Console: a mapping, or none."),
            KeyDef(name: "hostdevs", type: .list(.name), doc: "Devices (from devices:) passed through."),
            KeyDef(name: "autostart", type: .boolean, doc: "Start the VM when the host boots."),
            KeyDef(name: "state", type: .enumeration(PowerState.allCases.map(\.rawValue)), doc: "running (default) or stopped."),
            KeyDef(name: "snapshots", type: .list(.name), doc: "Named snapshots fleet keeps."),
            KeyDef(
                name: "on_host_change", type: .enumeration(HostChangePolicy.allCases.map(\.rawValue)),
                doc: "When host: changes: migrate (default) or recreate."),
            KeyDef(name: "description", type: .string, doc: "Free text stored in the domain."),
            KeyDef(name: "cloud_init", type: .object(cloudInit), doc: "cloud-init seed."),
            KeyDef(name: "ignition", type: .object(ignition), doc: "Ignition config, uploaded beside the disks."),
            KeyDef(name: "shares", type: .list(.object(share)), doc: "Host directories shared with the guest (virtiofs or 9p)."),
            KeyDef(name: "guest_agent", type: .boolean, doc: "Add the org.qemu.guest_agent.0 virtio channel for qemu-guest-agent."),
            KeyDef(
                name: "wait", type: .enumeration(ReadinessWait.allCases.map(\.rawValue)),
                doc: "What apply waits for after starting the VM: lease, agent, ssh-port or none (default)."),
            KeyDef(
                name: "rollout", type: .object(rollout),
                doc: "Roll restart- and replace-class changes through the group (this entry's VMs, or a profile's) in waves."),
            KeyDef(name: "customize", type: .object(customize), doc: "Customization of this VM's system disk.")
        ])

    static let profile = vm.removing(
        ["count", "profile"], id: "profile",
        doc: "VM keys shared by VMs that name this profile (any VM key except count and profile).")

    static let overcommit = ObjectTable(
        id: "overcommit", doc: "How much of each host's capacity placement may allocate.",
        keys: [
            KeyDef(name: "cpu", type: .ratio(max: 64), doc: "vCPUs per host CPU; default 4."),
            KeyDef(name: "memory", type: .ratio(max: 4), doc: "Allocated memory per byte of host memory; default 1.0 (none).")
        ])

    static let placement = ObjectTable(
        id: "placement", doc: "How fleet chooses hosts for VMs with host: auto or hosts:.",
        keys: [
            KeyDef(name: "overcommit", type: .object(overcommit), doc: "Overcommit ratios: {cpu: 4, memory: 1.0}.")
        ])

    static let root = ObjectTable(
        id: "manifest", doc: "A fleet manifest file. All files of a manifest directory are merged.",
        keys: [
            KeyDef(
                name: "fleet", type: .name,
                doc: "The fleet's name, required in one manifest file: it identifies the fleet's objects on its hosts."),
            KeyDef(name: "hosts", type: .namedObjects(hosts), doc: "libvirt hosts; default: one host local at qemu:///system."),
            KeyDef(name: "pools", type: .namedObjects(pool), doc: "Storage pools."),
            KeyDef(name: "networks", type: .namedObjects(network), doc: "Virtual networks."),
            KeyDef(name: "images", type: .namedObjects(image), doc: "Base images."),
            KeyDef(name: "devices", type: .namedObjects(device), doc: "Passthrough devices."),
            KeyDef(name: "profiles", type: .namedObjects(profile), doc: "Reusable sets of VM keys."),
            KeyDef(name: "vms", type: .namedObjects(vm), doc: "Virtual machines."),
            KeyDef(name: "placement", type: .object(placement), doc: "Placement policy for VMs with host: auto or hosts:.")
        ], allowsExtensionKeys: true)
}
