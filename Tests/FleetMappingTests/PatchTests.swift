import FleetModel
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

/// The lines only in `a` and only in `b` (multisets), after both are parsed and written the same way.
func lineDiff(_ a: String, _ b: String) throws -> (removed: [String], added: [String]) {
    let la = try XElement.parse(a).render().split(separator: "\n").map(String.init)
    let lb = try XElement.parse(b).render().split(separator: "\n").map(String.init)
    var counts: [String: Int] = [:]
    for l in la { counts[l, default: 0] += 1 }
    var added: [String] = []
    for l in lb { if let n = counts[l], n > 0 { counts[l] = n - 1 } else { added.append(l) } }
    var removedCounts = counts
    var removed: [String] = []
    for l in la where (removedCounts[l] ?? 0) > 0 {
        removed.append(l)
        removedCounts[l]! -= 1
    }
    return (removed.map { $0.trimmingCharacters(in: .whitespaces) }, added.map { $0.trimmingCharacters(in: .whitespaces) })
}

/// A domain as virt-install and hand edits leave it (libvirt 9.0 `dumpxml --inactive --security-info`),
/// full of what fleet does not model.
let handMadeDomain = """
    <domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
      <name>legacy</name>
      <uuid>6b0a7d16-6c3c-4d5b-9d8e-1f2a3b4c5d6e</uuid>
      <description>made by hand</description>
      <metadata>
        <app:info xmlns:app="https://example.com/app/1"><app:owner team="infra">ops</app:owner></app:info>
      </metadata>
      <memory unit='KiB'>65536</memory>
      <currentMemory unit='KiB'>65536</currentMemory>
      <vcpu placement='static'>1</vcpu>
      <cputune>
        <shares>2048</shares>
      </cputune>
      <numatune>
        <memory mode='strict' nodeset='0'/>
      </numatune>
      <os>
        <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
        <boot dev='fd'/>
        <boot dev='hd'/>
      </os>
      <features>
        <acpi/>
        <apic/>
      </features>
      <clock offset='utc'/>
      <on_poweroff>destroy</on_poweroff>
      <on_reboot>restart</on_reboot>
      <on_crash>destroy</on_crash>
      <devices>
        <emulator>/usr/bin/qemu-system-x86_64</emulator>
        <disk type='file' device='floppy'>
          <driver name='qemu' type='raw'/>
          <source file='/var/lib/libvirt/images/boot.img'/>
          <target dev='fda' bus='fdc'/>
          <address type='drive' controller='0' bus='0' target='0' unit='0'/>
        </disk>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2' cache='none'/>
          <source file='/var/lib/libvirt/images/legacy.qcow2'/>
          <target dev='sda' bus='scsi'/>
          <address type='drive' controller='0' bus='0' target='0' unit='0'/>
        </disk>
        <controller type='scsi' index='0' model='virtio-scsi'>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
        </controller>
        <controller type='usb' index='0' model='piix3-uhci'>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
        </controller>
        <controller type='pci' index='0' model='pci-root'/>
        <controller type='fdc' index='0'/>
        <controller type='virtio-serial' index='0'>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
        </controller>
        <interface type='network'>
          <mac address='52:54:00:aa:bb:01'/>
          <source network='default' portgroup='web'/>
          <model type='virtio'/>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
        </interface>
        <channel type='unix'>
          <target type='virtio' name='org.qemu.guest_agent.0'/>
          <address type='virtio-serial' controller='0' bus='0' port='1'/>
        </channel>
        <input type='mouse' bus='ps2'/>
        <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='s3cret'>
          <listen type='address' address='127.0.0.1'/>
        </graphics>
        <watchdog model='i6300esb' action='reset'>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
        </watchdog>
        <memballoon model='virtio'>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
        </memballoon>
        <rng model='virtio'>
          <backend model='random'>/dev/urandom</backend>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x08' function='0x0'/>
        </rng>
      </devices>
      <seclabel type='dynamic' model='dac' relabel='yes'/>
      <qemu:commandline>
        <qemu:arg value='-no-user-config'/>
      </qemu:commandline>
    </domain>
    """

@Suite struct DomainPatchTests {
    let fleet = Fleet(name: "lab", hosts: [HostSpec(name: "local", uri: "qemu:///system")])
    let mac = MACAddress(parsing: "52:54:00:aa:bb:01")!

    /// The manifest an export of `handMadeDomain` gives: what fleet models of it, nothing else.
    func adopted(memory: ByteSize = .mib(64), vcpus: Int = 1) -> VMSpec {
        VMSpec(
            name: "legacy", host: "local", vcpus: vcpus, memory: memory, virtType: .qemu,
            networks: [NICSpec(network: "default", mac: mac)], graphics: GraphicsSpec(type: .vnc, listen: "127.0.0.1"))
    }
    var owner: OwnerMark { OwnerMark(fleet: "lab", kind: .vm, name: "legacy") }

    @Test func memoryAndVCPUChangeOnlyTheirElementsAndTheMark() throws {
        let out = try DomainPatch.patch(
            handMadeDomain, vm: adopted(memory: .mib(96), vcpus: 2), fleet: fleet, hypervisor: .qemu, owner: owner)
        let d = try lineDiff(handMadeDomain, out)
        #expect(
            d.removed.sorted() == [
                "<currentMemory unit='KiB'>65536</currentMemory>", "<memory unit='KiB'>65536</memory>", "<vcpu placement='static'>1</vcpu>"
            ])
        #expect(
            d.added.sorted() == [
                "<currentMemory unit='KiB'>98304</currentMemory>",
                "<fleet:owner xmlns:fleet='https://fleet.dev/xmlns/owner/1' fleet='lab' kind='vm' name='legacy'/>",
                "<memory unit='KiB'>98304</memory>", "<vcpu placement='static'>2</vcpu>"
            ])
        // The namespace of <qemu:commandline> stays declared on the root, the password stays.
        let root = try XElement.parse(out)
        #expect(root["xmlns:qemu"] == "http://libvirt.org/schemas/domain/qemu/1.0")
        #expect(root.at("devices", "graphics")?["passwd"] == "s3cret")
    }

    @Test func nothingToChangeIsNil() throws {
        let once = try DomainPatch.patch(handMadeDomain, vm: adopted(), fleet: fleet, hypervisor: .qemu, owner: owner)
        #expect(try DomainPatch.update(once, vm: adopted(), fleet: fleet, hypervisor: .qemu, owner: owner) == nil)
        // Without the mark, only the mark is written.
        let d = try lineDiff(handMadeDomain, once)
        #expect(d.removed.isEmpty)
        #expect(d.added.count == 1 && d.added[0].hasPrefix("<fleet:owner "))
    }

    @Test func undeclaredDisksStayUnlessFleetOwnsTheirVolume() throws {
        var vm = adopted()
        vm.disks = [DiskSpec(name: "disk0", size: .gib(1), pool: "vmdisk")]
        let xml = handMadeDomain.replacingOccurrences(
            of: "    <controller type='scsi'",
            with: """
                    <disk type='volume' device='disk'>
                      <driver name='qemu' type='qcow2'/>
                      <source pool='vmdisk' volume='legacy-old.qcow2'/>
                      <target dev='vdb' bus='virtio'/>
                      <address type='pci' domain='0x0000' bus='0x00' slot='0x09' function='0x0'/>
                    </disk>
                    <controller type='scsi'
                """)
        // Not owned: kept. The declared disk is added under a free name (vda is free, vdb is taken).
        let kept = try XElement.parse(DomainPatch.patch(xml, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        let disks = kept.child("devices")!.all("disk")
        #expect(disks.count == 4)
        #expect(disks.contains { $0.child("source")?["volume"] == "legacy-old.qcow2" && $0.child("address")?["slot"] == "0x09" })
        #expect(disks.first { $0.child("source")?["volume"] == "legacy-disk0.qcow2" }?.child("target")?["dev"] == "vda")
        // Owned by this fleet and no longer declared: removed; the hand-made file disk and floppy stay.
        let removed = try XElement.parse(
            DomainPatch.patch(
                xml, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner,
                removableVolumes: ["vmdisk/legacy-old.qcow2"]))
        let left = removed.child("devices")!.all("disk")
        #expect(left.count == 3)
        #expect(!left.contains { $0.child("source")?["volume"] == "legacy-old.qcow2" })
        #expect(left.contains { $0["device"] == "floppy" })
    }

    @Test func aNewDiskTakesTheNextFreeName() throws {
        var vm = adopted()
        vm.disks = [DiskSpec(name: "data", size: .gib(1), pool: "vmdisk", bus: .scsi)]
        let out = try XElement.parse(DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        let added = out.child("devices")!.all("disk").first { $0.child("source")?["volume"] == "legacy-data.qcow2" }
        #expect(added?.child("target")?["dev"] == "sdb", "sda is the hand-made disk")
        // A SCSI controller exists (virtio-scsi, slot 5): none is added.
        #expect(out.child("devices")!.all("controller").filter { $0["type"] == "scsi" }.count == 1)
    }

    @Test func nicsByMACKeepTheirAddress() throws {
        var vm = adopted()
        let second = MACAddress(parsing: "52:54:00:aa:bb:02")!
        vm.networks = [NICSpec(network: "other", model: .e1000, mac: mac), NICSpec(network: "default", mac: second)]
        let out = try XElement.parse(DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        let nics = out.child("devices")!.all("interface")
        #expect(nics.count == 2)
        let first = nics.first { $0.child("mac")?["address"] == "52:54:00:aa:bb:01" }
        #expect(first?.child("source")?["network"] == "other")
        #expect(first?.child("model")?["type"] == "e1000")
        #expect(first?.child("address")?["slot"] == "0x03")
        #expect(nics.contains { $0.child("mac")?["address"] == "52:54:00:aa:bb:02" && $0.child("address") == nil })
        // The manifest drops the NICs: the one fleet made (its MAC is derived) goes, the hand-made one stays.
        let derived = MACAddress.stable(for: "lab/legacy/1")
        vm.networks = [NICSpec(network: "default", mac: mac), NICSpec(network: "default", mac: derived)]
        let both = try DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner)
        vm.networks = []
        let none = try XElement.parse(DomainPatch.patch(both, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(none.child("devices")!.all("interface").compactMap { $0.child("mac")?["address"] } == ["52:54:00:aa:bb:01"])
        #expect(none.child("devices")!.child("watchdog") != nil)
    }

    @Test func aBusChangeDropsOnlyThatDisksAddress() throws {
        var vm = adopted()
        vm.disks = [DiskSpec(name: "disk0", size: .gib(1), pool: "p", bus: .virtio)]
        let xml = handMadeDomain.replacingOccurrences(
            of: "<source file='/var/lib/libvirt/images/legacy.qcow2'/>",
            with: "<source pool='p' volume='legacy-disk0.qcow2'/>"
        )
        .replacingOccurrences(of: "<disk type='file' device='disk'>", with: "<disk type='volume' device='disk'>")
        let out = try XElement.parse(DomainPatch.patch(xml, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        let disk = out.child("devices")!.all("disk").first { $0.child("source")?["volume"] == "legacy-disk0.qcow2" }
        #expect(disk?.child("target")?["dev"] == "vda")
        #expect(disk?.child("target")?["bus"] == "virtio")
        #expect(disk?.child("address") == nil)
        #expect(disk?.child("driver")?["cache"] == "none", "unknown attributes stay")
        #expect(out.child("devices")!.all("disk").first { $0["device"] == "floppy" }?.child("address") != nil)
    }

    @Test func metadataOfOtherApplicationsStays() throws {
        let out = try XElement.parse(DomainPatch.patch(handMadeDomain, vm: adopted(), fleet: fleet, hypervisor: .qemu, owner: owner))
        let md = out.child("metadata")!
        #expect(md.children.count == 2)
        #expect(md.children[0].name == "app:info" && md.children[0]["xmlns:app"] == "https://example.com/app/1")
        #expect(md.children[0].child("app:owner")?.text == "ops")
        // Another group name replaces fleet's mark only.
        let again = try XElement.parse(
            DomainPatch.patch(
                out.render(), vm: adopted(), fleet: fleet, hypervisor: .qemu,
                owner: OwnerMark(fleet: "lab", kind: .vm, name: "other")))
        #expect(again.child("metadata")!.children.count == 2)
        #expect(OwnerXML.find(in: again)?.name == "other")
    }

    @Test func mixedContentOfOtherApplicationsStaysInPlace() throws {
        let xml = handMadeDomain.replacingOccurrences(
            of: "  </metadata>",
            with: """
                    <note:n xmlns:note="urn:example:note">keep <note:b>this &amp; that</note:b> in order<note:i/>.</note:n>
                  </metadata>
                """)
        let out = try DomainPatch.patch(xml, vm: adopted(memory: .mib(96)), fleet: fleet, hypervisor: .qemu, owner: owner)
        #expect(
            out.contains("<note:n xmlns:note='urn:example:note'>keep <note:b>this &amp; that</note:b> in order<note:i/>.</note:n>\n"),
            "\(out)")
    }

    @Test func graphicsPasswordIsKeptOrSet() throws {
        var vm = adopted()
        vm.graphics = GraphicsSpec(type: .vnc, listen: "0.0.0.0", port: 5901, password: .env("X"))
        let out = try XElement.parse(
            DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, graphicsPassword: "new", owner: owner))
        let g = out.child("devices")!.child("graphics")!
        #expect(g["passwd"] == "new" && g["port"] == "5901" && g["autoport"] == "no" && g["listen"] == "0.0.0.0")
        #expect(g.all("listen").map { $0["address"] } == ["0.0.0.0"])
        // SPICE declared on a VNC domain: the VNC device is replaced; a tablet is added for the pointer.
        vm.graphics = GraphicsSpec(type: .spice)
        let spice = try XElement.parse(DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(spice.child("devices")!.all("graphics").map { $0["type"] } == ["spice"])
        #expect(spice.child("devices")!.all("input").contains { $0["type"] == "tablet" })
        #expect(spice.child("devices")!.all("input").contains { $0["type"] == "mouse" })
    }

    @Test func machineAndFirmwareOnlyWhenDeclaredAndDifferent() throws {
        var vm = adopted()
        vm.machine = "pc"
        #expect(
            try DomainPatch.update(
                DomainPatch.patch(handMadeDomain, vm: adopted(), fleet: fleet, hypervisor: .qemu, owner: owner),
                vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner) == nil, "pc matches pc-i440fx-7.2")
        vm.machine = "q35"
        vm.firmware = .uefi
        let out = try XElement.parse(DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(out.at("os", "type")?["machine"] == "q35")
        #expect(out.child("os")?["firmware"] == "efi")
        #expect(out.child("os")?.all("boot").count == 2)
    }

    /// A UEFI domain as libvirt holds it once it chose a firmware (libvirt ≥ 9.2 at define, 9.0 in the live XML).
    static let uefiDomain = """
        <domain type='kvm'>
          <name>legacy</name>
          <memory unit='KiB'>65536</memory>
          <vcpu placement='static'>1</vcpu>
          <os firmware='efi'>
            <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
            <firmware>
              <feature enabled='yes' name='enrolled-keys'/>
              <feature enabled='yes' name='secure-boot'/>
            </firmware>
            <loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>
            <nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>/var/lib/libvirt/qemu/nvram/legacy_VARS.fd</nvram>
            <boot dev='hd'/>
          </os>
          <features>
            <acpi/>
            <apic/>
            <smm state='on'/>
          </features>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <input type='mouse' bus='ps2'/>
            <tpm model='tpm-crb'>
              <backend type='emulator' version='2.0' persistent_state='yes'/>
            </tpm>
          </devices>
        </domain>
        """

    func secureVM(memory: ByteSize = .mib(64)) -> VMSpec {
        var vm = VMSpec(name: "legacy", host: "local", memory: memory, firmware: .uefi, virtType: .kvm, machine: "q35")
        vm.secureBoot = true
        vm.enrolledKeys = true
        vm.tpm = TPMSpec(model: .crb, version: .tpm20)
        return vm
    }

    @Test func updatesKeepTheLoaderNVRAMAndTPMState() throws {
        let original = try XElement.parse(Self.uefiDomain)
        let out = try XElement.parse(
            DomainPatch.patch(Self.uefiDomain, vm: secureVM(memory: .mib(128)), fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(out.child("os") == original.child("os"), "\(out.render())")
        #expect(out.child("features") == original.child("features"))
        #expect(out.at("devices", "tpm") == original.at("devices", "tpm"))
        #expect(out.child("memory")?.text == "131072")
        #expect(try DomainPatch.update(out.render(), vm: secureVM(memory: .mib(128)), fleet: fleet, hypervisor: .qemu, owner: owner) == nil)
        let cfg = try DomainMapping.config(fromXML: Self.uefiDomain)
        #expect(cfg.firmware == .uefi && cfg.secureBoot == true && cfg.enrolledKeys == true && cfg.smm)
        #expect(cfg.tpm == LiveTPM(model: "tpm-crb", backend: "emulator", version: "2.0"))
    }

    @Test func firmwareFeatureChangeDropsTheChosenLoaderNotTheNVRAM() throws {
        var vm = secureVM()
        vm.secureBoot = false
        vm.enrolledKeys = false
        let out = try XElement.parse(DomainPatch.patch(Self.uefiDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        let os = try #require(out.child("os"))
        #expect(os["firmware"] == "efi" && os.child("loader") == nil, "\(os.render())")
        #expect(os.child("nvram")?.text == "/var/lib/libvirt/qemu/nvram/legacy_VARS.fd" && os.child("nvram")?["template"] == nil)
        #expect(
            os.child("firmware")?.all("feature").map { "\($0["name"] ?? "") \($0["enabled"] ?? "")" } == [
                "enrolled-keys no", "secure-boot no"
            ])
        // The firmware element stays right after <type>, where libvirt's schema has it.
        #expect(os.children.map(\.name) == ["type", "firmware", "nvram", "boot"])
        // Turning secure boot off leaves SMM as it is (other firmware may want it).
        #expect(out.at("features", "smm")?["state"] == "on")
        #expect(try DomainMapping.config(fromXML: out.render()).secureBoot == false)
    }

    @Test func secureBootAndTPMAddedToADomainWithout() throws {
        var vm = adopted()
        vm.machine = "q35"
        vm.firmware = .uefi
        vm.secureBoot = true
        vm.tpm = TPMSpec(model: .tis, version: .tpm12)
        let out = try XElement.parse(DomainPatch.patch(handMadeDomain, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(out.child("os")?["firmware"] == "efi")
        #expect(out.at("os", "firmware")?.all("feature").map { $0["name"] } == ["secure-boot"])
        #expect(out.child("features")?.children.map(\.name) == ["acpi", "apic", "smm"])
        #expect(out.at("features", "smm")?["state"] == "on")
        let tpm = try #require(out.at("devices", "tpm"))
        #expect(tpm["model"] == "tpm-tis" && tpm.child("backend")?["type"] == "emulator" && tpm.child("backend")?["version"] == "1.2")
        // Another model of an emulator is changed in place: its other backend settings stay.
        vm.tpm = TPMSpec(model: .crb, version: .tpm20)
        let uefi = Self.uefiDomain.replacingOccurrences(of: "tpm-crb", with: "tpm-tis")
        let changed = try XElement.parse(DomainPatch.patch(uefi, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(changed.at("devices", "tpm")?["model"] == "tpm-crb")
        #expect(changed.at("devices", "tpm")?.child("backend")?["persistent_state"] == "yes")
        // No tpm: in the manifest: the domain's TPM is left alone.
        vm.tpm = nil
        let kept = try XElement.parse(DomainPatch.patch(uefi, vm: vm, fleet: fleet, hypervisor: .qemu, owner: owner))
        #expect(kept.at("devices", "tpm")?["model"] == "tpm-tis")
    }

    @Test func hostdevsBySourceAddress() throws {
        let gpu = DeviceSpec(name: "gpu", host: "local", kind: .pci(PCIAddress(parsing: "0000:00:00.0")!))
        let f = Fleet(name: "lab", hosts: fleet.hosts, devices: [gpu])
        var vm = adopted()
        vm.hostdevs = [gpu]
        let xml = handMadeDomain.replacingOccurrences(
            of: "    <watchdog",
            with: """
                    <hostdev mode='subsystem' type='scsi' managed='no'>
                      <source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source>
                    </hostdev>
                    <hostdev mode='subsystem' type='pci' managed='yes'>
                      <source><address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/></source>
                    </hostdev>
                    <watchdog
                """)
        let out = try XElement.parse(DomainPatch.patch(xml, vm: vm, fleet: f, hypervisor: .qemu, owner: owner))
        let hd = out.child("devices")!.all("hostdev")
        #expect(hd.map { $0["type"] } == ["scsi", "pci", "pci"], "a SCSI hostdev fleet does not model stays")
        // No longer listed: the device the fleet declares goes; the PCI device it does not declare stays.
        vm.hostdevs = []
        let back = try XElement.parse(DomainPatch.patch(out.render(), vm: vm, fleet: f, hypervisor: .qemu, owner: owner))
        #expect(back.child("devices")!.all("hostdev").map { $0["type"] } == ["scsi", "pci"])
        #expect(back.child("devices")!.all("hostdev").last?.child("source")?.child("address")?["bus"] == "0x3b")
    }

    /// fleet's own domains: the patch of a fresh render with the same spec changes nothing.
    @Test(arguments: [false, true]) func renderAndPatchAgree(_ rich: Bool) throws {
        let usb = DeviceSpec(name: "token", host: "local", kind: .usb(vendor: 0x287f, product: 0x00f8))
        let f = Fleet(name: "lab", hosts: fleet.hosts, devices: [usb])
        var vm = VMSpec(
            name: "web", host: "local", vcpus: 2, maxVcpus: 4, memory: .mib(512), maxMemory: .gib(1), virtType: .qemu,
            disks: [DiskSpec(name: "disk0", size: .gib(1), pool: "p"), DiskSpec(name: "data", size: .gib(1), pool: "p", bus: .scsi)],
            networks: [NICSpec(network: "n", mac: mac)], graphics: GraphicsSpec(type: .vnc, listen: "127.0.0.1", port: 5900))
        if rich {
            vm.cdrom = "/iso/install.iso"
            vm.cloudInit = CloudInitSpec(userData: "#cloud-config\n")
            vm.hostdevs = [usb]
            vm.description = "web & <friends>"
            vm.machine = "q35"
            vm.firmware = .uefi
            vm.secureBoot = true
            vm.enrolledKeys = true
            vm.tpm = TPMSpec(model: .tis, version: .tpm20)
        }
        let mark = OwnerMark(fleet: "lab", kind: .vm, name: "web", attributes: ["k": "v"])
        let xml = DomainMapping.render(vm, hypervisor: .qemu, graphicsPassword: "pw", owner: mark)
        #expect(try DomainPatch.update(xml, vm: vm, fleet: f, hypervisor: .qemu, graphicsPassword: "pw", owner: mark) == nil)
        #expect(
            try DomainPatch.patch(xml, vm: vm, fleet: f, hypervisor: .qemu, graphicsPassword: "pw", owner: mark)
                == XElement.parse(xml).render())
    }

    @Test func notADomainIsAnError() {
        #expect(throws: PatchError.self) {
            try DomainPatch.patch("<network/>", vm: adopted(), fleet: fleet, hypervisor: .qemu, owner: owner)
        }
        #expect(throws: XMLError.self) { try DomainPatch.patch("<domain", vm: adopted(), fleet: fleet, hypervisor: .qemu, owner: owner) }
    }
}

let richNetwork = """
    <network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
      <name>lab</name>
      <uuid>5e1d4b40-3a43-4e0b-9d26-6a9f0e1c2b3a</uuid>
      <forward mode='nat'>
        <nat>
          <port start='1024' end='65535'/>
        </nat>
      </forward>
      <bridge name='virbr77' stp='on' delay='0'/>
      <mac address='52:54:00:12:34:56'/>
      <domain name='lab.example' localOnly='yes'/>
      <dns>
        <host ip='192.168.77.2'>
          <hostname>printer</hostname>
        </host>
      </dns>
      <portgroup name='web' default='yes'>
        <bandwidth>
          <inbound average='1000'/>
        </bandwidth>
      </portgroup>
      <ip address='192.168.77.1' netmask='255.255.255.0'>
        <dhcp>
          <range start='192.168.77.100' end='192.168.77.200'/>
          <host mac='52:54:00:00:00:01' name='old' ip='192.168.77.10'/>
        </dhcp>
      </ip>
      <ip family='ipv6' address='fd00:77::1' prefix='64'/>
      <route address='10.77.0.0' prefix='16' gateway='192.168.77.254'/>
      <dnsmasq:options>
        <dnsmasq:option value='log-queries'/>
      </dnsmasq:options>
    </network>
    """

@Suite struct NetworkPatchTests {
    func spec() throws -> NetworkSpec { try NetworkMapping.spec(fromXML: richNetwork) }

    @Test func theSameSpecChangesNothing() throws {
        #expect(try NetworkPatch.update(richNetwork, spec: spec()) == nil)
    }

    @Test func aRangeChangeTouchesOnlyTheRange() throws {
        var s = try spec()
        s.dhcp = DHCPSpec(start: IPv4Address(parsing: "192.168.77.50")!, end: IPv4Address(parsing: "192.168.77.60")!)
        s.domain = "lab2.example"
        let d = try lineDiff(richNetwork, NetworkPatch.patch(richNetwork, spec: s))
        #expect(
            d.removed.sorted() == ["<domain name='lab.example' localOnly='yes'/>", "<range start='192.168.77.100' end='192.168.77.200'/>"])
        #expect(d.added.sorted() == ["<domain name='lab2.example' localOnly='yes'/>", "<range start='192.168.77.50' end='192.168.77.60'/>"])
    }

    @Test func aSubnetChangeKeepsIPv6RoutesAndDNS() throws {
        var s = try spec()
        s.subnet = IPv4Subnet(parsing: "192.168.78.0/24")
        s.gateway = nil
        s.dhcp = DHCPSpec(start: IPv4Address(parsing: "192.168.78.100")!, end: IPv4Address(parsing: "192.168.78.200")!)
        let out = try XElement.parse(NetworkPatch.patch(richNetwork, spec: s))
        let ips = out.all("ip")
        #expect(ips.count == 2)
        #expect(ips[0]["address"] == "192.168.78.1" && ips[0]["prefix"] == "24" && ips[0]["netmask"] == nil)
        #expect(ips[0].child("dhcp")?.all("host").count == 1, "leases change through virNetworkUpdate only")
        #expect(ips[1]["family"] == "ipv6")
        #expect(out.child("route") != nil && out.child("portgroup") != nil && out.child("dns") != nil)
        #expect(out.child("dnsmasq:options") != nil && out["xmlns:dnsmasq"] != nil)
        #expect(out.at("forward", "nat", "port")?["start"] == "1024", "the same mode keeps its <nat> settings")
    }

    @Test func leasesAreNotThePatchesBusiness() throws {
        var s = try spec()
        s.leases = []
        #expect(try NetworkPatch.update(richNetwork, spec: s) == nil)
    }

    @Test func renderAndPatchAgree() throws {
        let s = NetworkSpec(
            name: "n", mode: .nat, bridge: "virbr9", subnet: IPv4Subnet(parsing: "10.9.0.0/24"),
            dhcp: DHCPSpec(start: IPv4Address(parsing: "10.9.0.100")!, end: IPv4Address(parsing: "10.9.0.200")!),
            leases: [DHCPLease(mac: MACAddress(parsing: "52:54:00:00:00:09")!, name: "a", ip: IPv4Address(parsing: "10.9.0.9")!)],
            domain: "n.test", mtu: 9000)
        #expect(try NetworkPatch.update(NetworkMapping.render(s), spec: s) == nil)
        let b = NetworkSpec(name: "b", mode: .bridge, bridge: "br0")
        #expect(try NetworkPatch.update(NetworkMapping.render(b), spec: b) == nil)
    }
}
