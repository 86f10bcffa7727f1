import FleetModel
import FleetTestSupport
import Foundation

@testable import FleetMapping

/// Runs a command (tests only: virsh and virt-xml-validate), returning exit status and combined output.
@discardableResult
func run(_ args: [String], stdin: String? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    if let stdin {
        let inp = Pipe()
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try inp.fileHandleForWriting.close()
    } else {
        try p.run()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A scratch directory removed by the caller's `defer`.
func scratchDir() throws -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-xml-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}

func write(_ s: String, to dir: URL, _ name: String) throws -> String {
    let u = dir.appendingPathComponent(name)
    try s.write(to: u, atomically: true, encoding: .utf8)
    return u.path
}

/// `virt-xml-validate FILE TYPE`; returns nil when valid, else the validator's output.
func validate(_ xml: String, type: String, dir: URL, name: String) throws -> String? {
    let path = try write(xml, to: dir, name)
    let r = try run(["virt-xml-validate", path, type])
    return r.status == 0 ? nil : "\(name): \(r.output)\n\(xml)"
}

/// A libvirt test-driver fixture: a fresh, private state on every open, so tests can mutate it in parallel.
func testFixture(dir: URL) throws -> String {
    let node = """
        <node>
          <cpu><mhz>2000</mhz><model>i686</model><active>2</active><max>2</max></cpu>
          <memory>8388608</memory>
        </node>
        """
    return "test://" + (try write(node, to: dir, "fixture.xml"))
}

let owner = OwnerMark(fleet: "lab", kind: .vm, name: "web", attributes: ["digest": "abc&<'\"", "base": "debian-12"])

/// A fleet whose VMs together cover every option the domain renderer has.
func corpusFleet(prefix: String = "") -> Fleet {
    let devices = [
        DeviceSpec(name: "gpu", host: "local", kind: .pci(PCIAddress(domain: 0, bus: 0, slot: 0, function: 0))),
        DeviceSpec(name: "key", host: "local", kind: .usb(vendor: 0x1050, product: 0x0407))
    ]
    func mac(_ i: Int) -> MACAddress { MACAddress.stable(for: "\(prefix)nic\(i)") }
    var vms: [VMSpec] = []
    // Minimal.
    vms.append(VMSpec(name: "\(prefix)min", host: "local", memory: .mib(512)))
    // Everything.
    vms.append(
        VMSpec(
            name: "\(prefix)full", host: "local", vcpus: 2, maxVcpus: 4, memory: .gib(1), maxMemory: .gib(2), firmware: .uefi,
            virtType: .qemu, machine: "q35",
            disks: [
                DiskSpec(name: "root", image: "debian", size: .gib(10), pool: "\(prefix)pool"),
                DiskSpec(name: "data", size: .gib(2), pool: "\(prefix)pool", format: .raw, bus: .scsi),
                DiskSpec(name: "sata", size: .gib(1), pool: "\(prefix)pool", bus: .sata),
                DiskSpec(name: "usb", size: .mib(64), pool: "\(prefix)pool", format: .raw, bus: .usb)
            ],
            cdrom: "/var/lib/libvirt/images/install.iso",
            networks: [
                NICSpec(network: "\(prefix)net", mac: mac(0)),
                NICSpec(network: "\(prefix)net", model: .e1000e, mac: mac(1), ip: IPv4Address(parsing: "10.9.0.10"))
            ],
            graphics: GraphicsSpec(type: .vnc, listen: "0.0.0.0", port: 5931),
            hostdevs: devices, cloudInit: CloudInitSpec(userData: "#cloud-config\n"),
            description: "web & <db> \"front\" 'end'", guestAgent: true))
    vms[1].secureBoot = true
    vms[1].enrolledKeys = true
    vms[1].tpm = TPMSpec(model: .crb, version: .tpm20)
    // BIOS, pc machine, IDE, spice with autoport and a password, e1000 and rtl8139.
    vms.append(
        VMSpec(
            name: "\(prefix)legacy", host: "local", vcpus: 3, memory: .mib(768), firmware: .bios, virtType: .kvm, machine: "pc",
            disks: [
                DiskSpec(name: "disk0", size: .gib(4), pool: "\(prefix)pool", bus: .ide),
                DiskSpec(name: "disk1", size: .gib(4), pool: "\(prefix)pool", format: .raw, bus: .virtio)
            ],
            cdrom: "/srv/iso/netinst.iso",
            networks: [
                NICSpec(network: "\(prefix)net", model: .e1000, mac: mac(2)),
                NICSpec(network: "\(prefix)net2", model: .rtl8139, mac: mac(3))
            ],
            graphics: GraphicsSpec(type: .spice, listen: "127.0.0.1", port: nil),
            cloudInit: CloudInitSpec(userData: "#cloud-config\n")))
    // Many virtio disks: vda … vdab.
    vms.append(
        VMSpec(
            name: "\(prefix)many", host: "local", memory: .mib(256),
            disks: (0..<28).map { DiskSpec(name: "d\($0)", size: .mib(16), pool: "\(prefix)pool") }))
    return Fleet(name: "lab", devices: devices, vms: vms)
}

func corpusNetworks(prefix: String = "") -> [NetworkSpec] {
    let leases = [
        DHCPLease(mac: MACAddress(parsing: "52:54:00:00:00:02")!, name: "b", ip: IPv4Address(parsing: "10.77.0.20")!),
        DHCPLease(mac: MACAddress(parsing: "52:54:00:00:00:01")!, name: "a", ip: IPv4Address(parsing: "10.77.0.10")!)
    ]
    return [
        NetworkSpec(
            name: "\(prefix)nat", mode: .nat, bridge: "\(String(prefix.prefix(11)))br", subnet: IPv4Subnet(parsing: "10.77.0.0/24"),
            dhcp: DHCPSpec(start: IPv4Address(parsing: "10.77.0.100")!, end: IPv4Address(parsing: "10.77.0.200")!),
            leases: leases, domain: "lab.test", mtu: 1400),
        NetworkSpec(
            name: "\(prefix)iso", mode: .isolated, subnet: IPv4Subnet(parsing: "10.78.0.0/16"),
            gateway: IPv4Address(parsing: "10.78.0.254")),
        NetworkSpec(
            name: "\(prefix)route", mode: .route, subnet: IPv4Subnet(parsing: "10.79.1.0/24"),
            dhcp: DHCPSpec(start: IPv4Address(parsing: "10.79.1.2")!, end: IPv4Address(parsing: "10.79.1.9")!)),
        NetworkSpec(name: "\(prefix)bridged", mode: .bridge, bridge: "br0"),
        NetworkSpec(name: "\(prefix)bare", mode: .isolated)
    ]
}

func corpusPools(prefix: String = "", base: String = "/var/lib/fleet-test") -> [PoolSpec] {
    [
        PoolSpec(name: "\(prefix)dir", type: .dir, path: "\(base)/\(prefix)dir"),
        PoolSpec(name: "\(prefix)lvm", type: .logical, sourceDevices: ["/dev/sdz1", "/dev/sdz2"], volumeGroup: "\(prefix)vg"),
        PoolSpec(name: "\(prefix)nfs", type: .netfs, path: "\(base)/\(prefix)nfs", sourceHost: "nfs.example.org", sourceDir: "/export/vms")
    ]
}
