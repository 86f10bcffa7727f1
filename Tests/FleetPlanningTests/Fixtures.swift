import FleetModel

@testable import FleetPlanning

/// A small fleet exercising every kind, and a live host that mirrors it exactly (what the reader
/// returns after a successful apply). Tests then perturb one side and check the plan.
enum Fixture {
    static let usb = DeviceSpec(name: "token", host: "kvm1", kind: .usb(vendor: 0x287f, product: 0x00f8))
    static let gpu = DeviceSpec(name: "gpu0", host: "kvm1", kind: .pci(PCIAddress(parsing: "0000:3b:00.0")!))

    static func fleet() -> Fleet {
        let mac1 = MACAddress.stable(for: "lab/web-1/0")
        let net = NetworkSpec(
            name: "nat0", mode: .nat, bridge: "virbr10", subnet: IPv4Subnet(parsing: "192.168.150.0/24"),
            dhcp: DHCPSpec(start: IPv4Address(parsing: "192.168.150.100")!, end: IPv4Address(parsing: "192.168.150.200")!),
            leases: [DHCPLease(mac: mac1, name: "web-1", ip: IPv4Address(parsing: "192.168.150.11")!)],
            autostart: true)
        let web = VMSpec(
            name: "web-1", group: "web", host: "kvm1", vcpus: 2, maxVcpus: 4, memory: .gib(1), maxMemory: .gib(2),
            virtType: .qemu, disks: [DiskSpec(name: "disk0", size: .gib(10), pool: "vmdisk")],
            networks: [NICSpec(network: "nat0", mac: mac1, ip: IPv4Address(parsing: "192.168.150.11"))],
            graphics: GraphicsSpec(type: .vnc, listen: "127.0.0.1", port: 5920),
            hostdevs: [usb], autostart: true, state: .running, snapshots: ["baseline"])
        let db = VMSpec(
            name: "db", host: "kvm1", vcpus: 1, memory: .mib(512), virtType: .qemu,
            disks: [DiskSpec(name: "disk0", size: .gib(5), pool: "vmdisk")], hostdevs: [gpu], state: .stopped)
        return Fleet(
            name: "lab", hosts: [HostSpec(name: "kvm1", uri: "test:///default"), HostSpec(name: "kvm2", uri: "test:///other")],
            pools: [PoolSpec(name: "vmdisk", type: .dir, path: "/data/vmfs", autostart: true, hosts: ["kvm1"])],
            networks: [net.with { $0.hosts = ["kvm1"] }],
            devices: [gpu, usb], vms: [db, web])
    }

    static func mark(_ kind: ObjectKind, _ name: String, _ attrs: [String: String] = [:]) -> OwnerMark {
        OwnerMark(fleet: "lab", kind: kind, name: name, attributes: attrs)
    }

    static func config(_ vm: VMSpec, devices: [DeviceSpec]) -> DomainConfig {
        DomainConfig(
            vcpus: vm.vcpus, maxVcpus: vm.effectiveMaxVcpus, memory: vm.memory, maxMemory: vm.effectiveMaxMemory,
            firmware: nil, virtType: vm.virtType.rawValue, machine: "pc-i440fx-7.2",
            disks: vm.disks.enumerated().map { i, d in
                LiveDisk(
                    target: "vd" + String(UnicodeScalar(UInt8(97 + i))), bus: d.bus, format: d.format, pool: d.pool,
                    volume: d.volumeName(vm: vm.name))
            },
            nics: vm.networks.map { LiveNIC(source: .network($0.network), model: $0.model.rawValue, mac: $0.mac) },
            graphics: vm.graphics.map { [LiveGraphics(type: $0.type.rawValue, listen: $0.listen, port: $0.port)] } ?? [],
            hostdevs: vm.hostdevs.filter(devices.contains).map(\.kind),
            description: vm.description, owner: mark(.vm, vm.group))
    }

    /// kvm1 exactly as fleet would have left it; kvm2 empty.
    static func live(_ f: Fleet) -> LiveState {
        var host = LiveHost(name: "kvm1", uri: "test:///default")
        host.pools = f.pools.map { p in
            LivePool(
                name: p.name, uuid: "u-\(p.name)", active: true, autostart: p.autostart ?? false,
                spec: p.with {
                    $0.hosts = nil
                    $0.autostart = nil
                }, owner: mark(.pool, p.name))
        }
        host.networks = f.networks.map { n in
            LiveNetwork(
                name: n.name, uuid: "u-\(n.name)", active: true, autostart: n.autostart ?? false,
                spec: n.with {
                    $0.hosts = nil
                    $0.autostart = nil
                }, owner: mark(.network, n.name))
        }
        for vm in f.vms {
            for d in vm.disks {
                host.volumes.append(
                    LiveVolume(
                        pool: d.pool, name: d.volumeName(vm: vm.name), path: "/data/vmfs/\(d.volumeName(vm: vm.name))",
                        format: d.format.rawValue, capacity: d.size ?? .gib(1), allocation: .mib(1),
                        owner: mark(.volume, vm.group, ["vm": vm.name])))
            }
            let cfg = config(vm, devices: f.devices)
            let running = vm.state == .running
            host.domains.append(
                LiveDomain(
                    name: vm.name, uuid: "u-\(vm.name)", id: running ? 7 : nil, state: running ? .running : .shutoff,
                    autostart: vm.autostart ?? false, config: cfg, live: running ? cfg : nil,
                    snapshots: vm.snapshots.map { LiveSnapshot(name: $0, fleet: "lab") }))
        }
        host.nodeDevices = f.devices.map(\.kind)
        return LiveState(hosts: [host, LiveHost(name: "kvm2", uri: "test:///other", nodeDevices: [])])
    }
}

extension Hashable {
    func with(_ edit: (inout Self) -> Void) -> Self {
        var copy = self
        edit(&copy)
        return copy
    }
}

extension Plan {
    func change(_ ref: String, _ action: Action? = nil) -> Change? {
        changes.first { $0.object.description == ref && (action == nil || $0.action == action) }
    }
}
