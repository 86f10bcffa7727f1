import Foundation
import Testing

@testable import LibvirtXML

@Suite struct DomainParseTests {
    @Test func libvirtdDomain() throws {
        let d = try DomainXML(xml: Samples.libvirtdDomain)
        #expect(d.type == "qemu" && d.name == "ft-1c9789ea-full" && d.uuid == "98bf26bd-34b0-46cd-93a4-d621924d92f4")
        #expect(d.description == "d")
        #expect(d.metadata.count == 1 && d.metadata[0].name == "fleet:owner" && d.metadata[0]["kind"] == "vm")
        #expect(d.memory == 2 << 30 && d.currentMemory == 1_024_000 * 1024)
        #expect(d.vcpu == DomainXML.VCPU(placement: "static", current: 2, count: 4))
        #expect(d.os == DomainXML.OS(type: "hvm", arch: "x86_64", machine: "pc-q35-7.2", firmware: "efi", boot: ["hd"]))
        #expect(d.features == ["acpi", "apic"])
        #expect(d.cpu == DomainXML.CPU(mode: "custom", match: "exact", check: "none", model: "qemu64"))
        #expect(d.clockOffset == "utc" && d.onPoweroff == "destroy" && d.onReboot == "restart" && d.onCrash == "destroy")
        let dev = d.devices
        #expect(dev.emulator == "/usr/bin/qemu-system-x86_64")
        #expect(dev.disks.map(\.targetDev) == ["vda", "sda", "sdb"])
        #expect(
            dev.disks[0]
                == DomainXML.Disk(
                    type: "volume", device: "disk", driverName: "qemu", driverType: "qcow2",
                    sourcePool: "ft-1c9789ea-pool", sourceVolume: "ft-1c9789ea-full-root.qcow2",
                    targetDev: "vda", targetBus: "virtio"))
        #expect(dev.disks[2].device == "cdrom" && dev.disks[2].readonly)
        #expect(dev.controllers.count == 11 && dev.controllers[0] == DomainXML.Controller(type: "scsi", index: 0, model: "virtio-scsi"))
        #expect(
            dev.interfaces == [DomainXML.Interface(type: "network", mac: "52:54:00:02:17:07", sourceNetwork: "default", model: "virtio")])
        #expect(dev.serials == [DomainXML.CharDevice(type: "pty", targetType: "isa-serial", targetPort: 0)])
        #expect(dev.consoles == [DomainXML.CharDevice(type: "pty", targetType: "serial", targetPort: 0)])
        #expect(dev.inputs.map(\.type) == ["tablet", "mouse", "keyboard"])
        #expect(
            dev.graphics == [
                DomainXML.Graphics(
                    type: "vnc", port: -1, autoport: true, listen: "127.0.0.1",
                    listens: [DomainXML.Listen(type: "address", address: "127.0.0.1")])
            ])
        #expect(dev.videos == [DomainXML.Video(model: "cirrus", vram: 16384, heads: 1)])
        #expect(
            dev.hostdevs == [DomainXML.Hostdev(mode: "subsystem", managed: true, source: .pci(domain: 0, bus: 0, slot: 0, function: 0))])
        #expect(dev.memballoon == "virtio")
    }

    @Test func testDriverDomain() throws {
        let d = try DomainXML(xml: Samples.testDriverDomain)
        #expect(d.type == "test" && d.id == 1 && d.name == "test")
        #expect(d.memory == 8 << 30 && d.currentMemory == 2 << 30 && d.vcpu.count == 2 && d.vcpu.current == nil)
        #expect(d.os.arch == "i686" && d.os.machine == nil)
        #expect(d.devices.disks == [DomainXML.Disk(type: "file", sourceFile: "/guest/diskimage1", targetDev: "vda", targetBus: "virtio")])
        #expect(d.devices.interfaces[0].targetDev == "testnet0")
    }

    @Test func richSyntax() throws {
        let d = try DomainXML(xml: Samples.rich)
        #expect(d.id == 3 && d.title == "R & D")
        #expect(d.description == "a <raw> & \"quoted\" text \u{263A} A")
        #expect(d.maxMemory == 64 << 30 && d.maxMemorySlots == 16)
        #expect(d.memory == 4 << 30 && d.currentMemory == 2 << 30)
        #expect(d.vcpu == DomainXML.VCPU(placement: "auto", current: 1, count: 8))
        #expect(d.os.loader == DomainXML.Loader(path: "/usr/share/OVMF/OVMF_CODE_4M.fd", readonly: true, type: "pflash", secure: false))
        #expect(d.os.nvram == "/var/lib/libvirt/qemu/nvram/rich_VARS.fd" && d.os.boot == ["cdrom", "hd"])
        #expect(d.features == ["acpi", "apic", "vmport"] && d.cpu?.mode == "host-model")
        #expect(d.devices.disks[0].sourceDev == "/dev/vg0/rich" && d.devices.disks[0].type == "block" && d.devices.disks[0].bootOrder == 1)
        #expect(d.devices.interfaces[0].sourceBridge == "br0")
        #expect(
            d.devices.graphics[0]
                == DomainXML.Graphics(
                    type: "spice", port: 5901, autoport: false, listen: "0.0.0.0",
                    listens: [DomainXML.Listen(type: "address", address: "0.0.0.0")], passwd: "p'w"))
        #expect(d.devices.hostdevs == [DomainXML.Hostdev(mode: "subsystem", managed: false, source: .usb(vendor: 0x1050, product: 0x0407))])
        #expect(d.devices.videos == [DomainXML.Video(model: "qxl", vram: 65536, heads: 1)])
    }
}

@Suite struct OtherParseTests {
    @Test func networks() throws {
        let n = try NetworkXML(xml: Samples.testDriverNetwork)
        #expect(n.name == "default" && n.forwardMode == "nat" && n.bridge == NetworkXML.Bridge(name: "virbr0", stp: true, delay: 0))
        #expect(
            n.ips == [
                NetworkXML.IP(
                    address: "192.168.122.1", netmask: "255.255.255.0",
                    ranges: [NetworkXML.Range(start: "192.168.122.2", end: "192.168.122.254")])
            ])
        let l = try NetworkXML(xml: Samples.libvirtdNetwork)
        #expect(l.mac == "52:54:00:e0:f8:58" && l.ips[0].prefix == 24 && l.ips[0].ranges.isEmpty)
        let iso = try NetworkXML(
            xml:
                "<network><name>i</name><domain name='x.test'/><mtu size='9000'/><ip family='ipv6' address='fd00::1' prefix='64'/><ip address='10.0.0.1' prefix='8'><dhcp><host mac='52:54:00:00:00:01' name='a' ip='10.0.0.5'/></dhcp></ip></network>"
        )
        #expect(iso.forwardMode == nil && iso.domainName == "x.test" && iso.mtu == 9000 && iso.ips.count == 2)
        #expect(iso.ips[1].hosts == [NetworkXML.DHCPHost(mac: "52:54:00:00:00:01", name: "a", ip: "10.0.0.5")])
        #expect(try NetworkXML(xml: "<network><name>f</name><forward/></network>").forwardMode == "nat")
    }

    @Test func pools() throws {
        let p = try StoragePoolXML(xml: Samples.libvirtdPool)
        #expect(p.type == "dir" && p.capacity == 270_553_174_016 && p.allocation == 19_764_776_960 && p.available == 250_788_397_056)
        #expect(
            p.targetPath == "/tmp/ft-1c9789ea-pool" && p.permissions == StoragePoolXML.Permissions(mode: "0755", owner: "0", group: "0"))
        #expect(p.source.isEmpty)
        let n = try StoragePoolXML(xml: Samples.netfsPool)
        #expect(
            n.source
                == StoragePoolXML.Source(hostName: "nfs.example.org", dirPath: "/export/vms", format: "nfs", hosts: ["nfs.example.org"]))
        let l = try StoragePoolXML(xml: Samples.logicalPool)
        #expect(l.source.devices == ["/dev/sdb1", "/dev/sdc1"] && l.source.name == "vg0" && l.capacity == 100 << 30)
        #expect(try StoragePoolXML(xml: Samples.testDriverPool).targetPath == "/default-pool")
    }

    @Test func volumes() throws {
        let v = try StorageVolumeXML(xml: Samples.libvirtdVolume)
        #expect(v.type == "file" && v.name == "v2.qcow2" && v.key == "/tmp/ft-1c9789ea-pool/v2.qcow2")
        #expect(v.capacity == 2 << 30 && v.allocation == 200_704 && v.format == "qcow2")
        #expect(v.backingPath == "/tmp/ft-1c9789ea-pool/v1.qcow2" && v.backingFormat == "qcow2")
        let r = try StorageVolumeXML(xml: Samples.testDriverVolume)
        #expect(r.format == "raw" && r.backingPath == nil && r.capacity == 1 << 30)
        #expect(try StorageVolumeXML(xml: "<volume><name>x</name><capacity unit='M'>3</capacity></volume>").capacity == 3 << 20)
    }

    @Test func snapshots() throws {
        let s = try DomainSnapshotXML(xml: Samples.testDriverSnapshot)
        #expect(s.name == "s2" && s.state == "running" && s.parent == "s1" && s.description == nil)
        #expect(s.creationTime == 1_795_747_026)
        let d = try DomainSnapshotXML(xml: "<domainsnapshot><name>a</name><description>before upgrade</description></domainsnapshot>")
        #expect(d.description == "before upgrade" && d.parent == nil)
    }

    @Test func nodeDevices() throws {
        let p = try NodeDeviceXML(xml: Samples.libvirtdNodeDevicePCI)
        #expect(p.name == "pci_0000_00_00_0" && p.parent == "computer" && p.driver == nil)
        #expect(
            p.capability
                == .pci(
                    domain: 0, bus: 0, slot: 0, function: 0, product: .init(id: 0x0d57),
                    vendor: .init(id: 0x8086, name: "Intel Corporation")))
        let u = try NodeDeviceXML(xml: Samples.usbNodeDevice)
        #expect(u.driver == "usb")
        #expect(
            u.capability
                == .usbDevice(
                    bus: 1, device: 5, product: .init(id: 0x0407, name: "Yubikey 4/5 OTP+U2F+CCID"),
                    vendor: .init(id: 0x1050, name: "Yubico.com")))
        #expect(try NodeDeviceXML(xml: "<device><name>net_lo</name><capability type='net'/></device>").capability == .other("net"))
    }
}
