import FleetModel
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

/// Shares, their memory backing and the Ignition fw_cfg entry: rendered (valid per libvirt's schema), read back,
/// and patched into an existing definition without touching what fleet does not manage.
@Suite struct GuestFeaturesMappingTests {
    let fleet = Fleet(name: "f", hosts: [HostSpec(name: "h", uri: "test:///default")])
    let file = "/var/lib/libvirt/images/p/a-ignition.ign"

    func vm(shares: [ShareSpec]? = nil, ignition: Bool = false) -> VMSpec {
        var v = VMSpec(
            name: "a", host: "h", memory: .mib(64), virtType: .qemu, disks: [DiskSpec(name: "disk0", size: .mib(8), pool: "p")])
        v.shares = shares
        if ignition { v.ignition = IgnitionSpec(config: "/m/a.ign") }
        return v
    }

    let both = [ShareSpec(source: "/srv/data", target: "data"), ShareSpec(source: "/srv/iso", target: "iso", mode: .p9, readonly: true)]

    @Test func renderedValidAndReadBack() throws {
        let v = vm(shares: both, ignition: true)
        let xml = DomainMapping.render(v, hypervisor: .qemu, owner: mark(v, fleet), ignitionFile: file)
        let d = try DomainXML(xml: xml)
        #expect(d.memoryBacking == DomainXML.MemoryBacking(sourceType: "memfd", accessMode: "shared"))
        #expect(d.fwcfg == [DomainXML.FwCfgEntry(name: "opt/com.coreos/config", file: file)])
        #expect(
            d.devices.filesystems == [
                DomainXML.Filesystem(
                    type: "mount", accessMode: "passthrough", driverType: "virtiofs", sourceDir: "/srv/data", targetDir: "data"),
                DomainXML.Filesystem(
                    type: "mount", accessMode: "mapped", driverType: "path", sourceDir: "/srv/iso", targetDir: "iso", readonly: true)
            ], "\(xml)")
        let cfg = try DomainMapping.config(fromXML: xml)
        #expect(cfg.shares == both && cfg.sharedMemory && cfg.ignitionFile == file, "\(cfg.shares)")
        // libvirt's own schema accepts it.
        let path = NSTemporaryDirectory() + "fleet-guest-\(UUID().uuidString).xml"
        try Data(xml.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try run(["virt-xml-validate", path, "domain"])
        #expect(r.status == 0, "\(r.output)")
        // 9p alone needs no shared memory; no ignition, no sysinfo.
        let plain = DomainMapping.render(vm(shares: [both[1]]), hypervisor: .qemu, owner: mark(vm(), fleet))
        #expect(!plain.contains("memoryBacking") && !plain.contains("sysinfo"), "\(plain)")
    }

    /// As libvirt returns a running domain: virtiofsd's binary filled in, aliases, addresses, smbios sysinfo.
    @Test func liveXMLWithLibvirtAdditions() throws {
        let xml = """
            <domain type='qemu' id='3'><name>a</name><memory unit='KiB'>65536</memory>
            <memoryBacking><hugepages/><source type='memfd'/><access mode='shared'/></memoryBacking>
            <sysinfo type='smbios'><system><entry name='vendor'>x</entry></system></sysinfo>
            <sysinfo type='fwcfg'><entry name='opt/other'>inline</entry><entry name='opt/com.coreos/config' file='\(file)'/></sysinfo>
            <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os><devices>
            <filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><binary path='/usr/lib/qemu/virtiofsd'/>
            <source dir='/srv/data'/><target dir='data'/><alias name='fs0'/>
            <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></filesystem>
            <filesystem type='block' accessmode='passthrough'><source dev='/dev/sdb'/><target dir='/b'/></filesystem>
            </devices></domain>
            """
        let cfg = try DomainMapping.config(fromXML: xml)
        #expect(cfg.shares == [both[0]] && cfg.sharedMemory && cfg.ignitionFile == file, "\(cfg)")
    }

    @Test func patchAddsAndRemovesOnlyWhatFleetManages() throws {
        let current = """
            <domain type='qemu'><name>a</name><uuid>1b4e28ba-2fa1-11d2-883f-0016d3cca427</uuid>
            <memory unit='KiB'>65536</memory><currentMemory unit='KiB'>65536</currentMemory><vcpu placement='static'>1</vcpu>
            <sysinfo type='fwcfg'><entry name='opt/other' file='/etc/x'/></sysinfo>
            <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os><devices>
            <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='p' volume='a-disk0.qcow2'/><target dev='vda' bus='virtio'/></disk>
            <filesystem type='mount' accessmode='mapped'><driver type='path'/><source dir='/srv/old'/><target dir='old'/>
            <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></filesystem>
            </devices></domain>
            """
        let v = vm(shares: [both[0]], ignition: true)
        let patched = try DomainPatch.patch(current, vm: v, fleet: fleet, hypervisor: .qemu, owner: mark(v, fleet), ignitionFile: file)
        let cfg = try DomainMapping.config(fromXML: patched)
        #expect(cfg.shares == [both[0]] && cfg.sharedMemory && cfg.ignitionFile == file, "\(patched)")
        let d = try DomainXML(xml: patched)
        #expect(d.fwcfg.map(\.name) == ["opt/other", "opt/com.coreos/config"], "the other entry stays")
        // memoryBacking sits before <vcpu>, sysinfo before <os>, as libvirt orders them.
        let order = try XElement.parse(patched).children.map(\.name)
        #expect(order.firstIndex(of: "memoryBacking")! < order.firstIndex(of: "vcpu")!, "\(order)")
        #expect(order.firstIndex(of: "sysinfo")! < order.firstIndex(of: "os")!, "\(order)")
        // Patched again: nothing to do.
        #expect(try DomainPatch.update(patched, vm: v, fleet: fleet, hypervisor: .qemu, owner: mark(v, fleet), ignitionFile: file) == nil)
        // Without ignition: fleet's entry goes, the other stays. Without shares: filesystems are left alone.
        let bare = vm()
        let undone = try DomainPatch.patch(patched, vm: bare, fleet: fleet, hypervisor: .qemu, owner: mark(bare, fleet))
        #expect(try DomainXML(xml: undone).fwcfg.map(\.name) == ["opt/other"])
        #expect(try DomainMapping.config(fromXML: undone).shares == [both[0]])
    }
}
