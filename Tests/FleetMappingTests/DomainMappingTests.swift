import FleetModel
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

/// What reading back a rendered VM must give, field by field.
func expectedConfig(_ vm: VMSpec, fleet: Fleet, hypervisor: Hypervisor, password: Bool = false) -> DomainConfig {
    var disks = zip(vm.disks, DomainMapping.diskTargets(vm)).map { d, t in
        LiveDisk(device: .disk, type: "volume", target: t, bus: d.bus, format: d.format, pool: d.pool, volume: d.volumeName(vm: vm.name))
    }
    let cdBus = DomainMapping.cdromBus(vm)
    let taken = disks.filter { $0.target.hasPrefix(cdBus.targetPrefix) }.count
    var next = taken
    if let iso = vm.cdrom {
        disks.append(
            LiveDisk(
                device: .cdrom, target: cdBus.targetPrefix + DomainMapping.suffix(next), bus: cdBus, format: .raw,
                path: iso, readonly: true))
        next += 1
    }
    if vm.cloudInit != nil, let pool = vm.disks.first?.pool {
        disks.append(
            LiveDisk(
                device: .cdrom, type: "volume", target: cdBus.targetPrefix + DomainMapping.suffix(next), bus: cdBus, format: .raw,
                pool: pool, volume: "\(vm.name)-cidata.img", readonly: true))
    }
    // libvirt's order (checked against libvirtd by LiveRoundTripTests): by bus, then name.
    let order = DomainMapping.libvirtOrder(disks.map { DomainXML.Disk(type: "file", targetDev: $0.target, targetBus: $0.bus?.rawValue) })
        .map(\.targetDev)
    disks.sort { order.firstIndex(of: $0.target)! < order.firstIndex(of: $1.target)! }
    var config = DomainConfig(
        vcpus: vm.vcpus, maxVcpus: vm.effectiveMaxVcpus, memory: vm.memory, maxMemory: vm.effectiveMaxMemory,
        firmware: vm.firmware ?? .bios, virtType: hypervisor == .test ? "test" : vm.virtType.rawValue, machine: vm.machine,
        disks: disks, nics: vm.networks.map { LiveNIC(source: .network($0.network), model: $0.model.rawValue, mac: $0.mac) },
        graphics: vm.graphics.map {
            [
                LiveGraphics(
                    type: $0.type.rawValue, listen: $0.listen, port: $0.port, activePort: $0.port,
                    hasPassword: password)
            ]
        } ?? [],
        hostdevs: vm.hostdevs.map(\.kind),
        // Every hostdev fleet renders is managed='yes'.
        allHostdevs: DomainConfig(vcpus: 1, maxVcpus: 1, memory: .mib(1), maxMemory: .mib(1), hostdevs: vm.hostdevs.map(\.kind))
            .hostDevices.map {
                var h = $0
                h.managed = true
                return h
            },
        description: vm.description,
        owner: OwnerMark(fleet: fleet.name, kind: .vm, name: vm.group, attributes: owner.attributes),
        guestAgent: vm.guestAgent == true)
    config.secureBoot = vm.firmware == .uefi ? vm.secureBoot : nil
    config.enrolledKeys = vm.firmware == .uefi ? vm.enrolledKeys : nil
    config.smm = vm.firmware == .uefi && vm.secureBoot == true
    config.tpm = vm.tpm.map { LiveTPM(model: $0.model.libvirt, backend: "emulator", version: $0.version.rawValue) }
    // Still listed among the devices a recreation would drop: the planner leaves a declared TPM out.
    config.unmanagedDevices = vm.tpm.map { ["tpm \($0.model.libvirt)"] } ?? []
    return config
}

func mark(_ vm: VMSpec, _ fleet: Fleet) -> OwnerMark {
    OwnerMark(fleet: fleet.name, kind: .vm, name: vm.group, attributes: owner.attributes)
}

/// Compares a config libvirt gave back with the expectation, allowing only documented normalisations.
func expectLive(_ got: DomainConfig, _ want: DomainConfig, _ vm: VMSpec, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.vcpus == want.vcpus, sourceLocation: sourceLocation)
    #expect(got.maxVcpus == want.maxVcpus, sourceLocation: sourceLocation)
    #expect(got.memory == want.memory, sourceLocation: sourceLocation)
    #expect(got.maxMemory == want.maxMemory, sourceLocation: sourceLocation)
    #expect(got.firmware == want.firmware, sourceLocation: sourceLocation)
    #expect(got.virtType == want.virtType, sourceLocation: sourceLocation)
    #expect(
        MachineType.matches(desired: vm.machine, live: got.machine), "machine \(String(describing: got.machine))",
        sourceLocation: sourceLocation)
    #expect(got.disks == want.disks, sourceLocation: sourceLocation)
    // A running domain's NICs carry the tap device libvirt created (`<target dev='vnet0'/>`); fleet never declares one.
    #expect(
        got.nics.map {
            var n = $0
            n.target = nil
            return n
        } == want.nics, sourceLocation: sourceLocation)
    #expect(
        got.graphics.map { LiveGraphics(type: $0.type, listen: $0.listen, port: $0.port, activePort: $0.port, hasPassword: $0.hasPassword) }
            == want.graphics, sourceLocation: sourceLocation)
    #expect(got.hostdevs == want.hostdevs, sourceLocation: sourceLocation)
    #expect(got.hostDevices == want.hostDevices, sourceLocation: sourceLocation)
    #expect(got.description == want.description, sourceLocation: sourceLocation)
    #expect(got.owner == want.owner, sourceLocation: sourceLocation)
    #expect(got.guestAgent == want.guestAgent, sourceLocation: sourceLocation)
    #expect(got.secureBoot == want.secureBoot, sourceLocation: sourceLocation)
    #expect(got.enrolledKeys == want.enrolledKeys, sourceLocation: sourceLocation)
    #expect(got.smm == want.smm, sourceLocation: sourceLocation)
    #expect(got.tpm == want.tpm, sourceLocation: sourceLocation)
}

@Suite struct DomainRenderTests {
    @Test func corpusValidatesAgainstLibvirtSchema() throws {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fleet = corpusFleet()
        var failures: [String] = []
        for vm in fleet.vms {
            for hv in [Hypervisor.qemu, .test] {
                for pw in [nil, "s3cret'&"] {
                    let xml = DomainMapping.render(
                        vm, hypervisor: hv, uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809",
                        graphicsPassword: pw, owner: mark(vm, fleet))
                    if let f = try validate(xml, type: "domain", dir: dir, name: "\(vm.name)-\(hv).xml") { failures.append(f) }
                }
            }
        }
        let ledger = LedgerMapping.render(fleet: "lab", entries: ledgerEntries(), hypervisor: .qemu)
        if let f = try validate(ledger, type: "domain", dir: dir, name: "ledger.xml") { failures.append(f) }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func inProcessRoundTrip() throws {
        let fleet = corpusFleet()
        for vm in fleet.vms {
            for hv in [Hypervisor.qemu, .test] {
                let xml = DomainMapping.render(vm, hypervisor: hv, graphicsPassword: "pw", owner: mark(vm, fleet))
                let got = try DomainMapping.config(fromXML: xml)
                #expect(got == expectedConfig(vm, fleet: fleet, hypervisor: hv, password: vm.graphics != nil), "\(vm.name) \(hv)")
            }
        }
    }

    @Test func renderIsDeterministic() {
        let fleet = corpusFleet()
        for vm in fleet.vms {
            let a = DomainMapping.render(vm, hypervisor: .qemu, owner: mark(vm, fleet))
            let b = DomainMapping.render(vm, hypervisor: .qemu, owner: mark(vm, fleet))
            #expect(a == b)
        }
    }

    @Test func renderShape() throws {
        let fleet = corpusFleet()
        let full = fleet.vms[1]
        let xml = DomainMapping.render(full, hypervisor: .qemu, owner: mark(full, fleet))
        let d = try DomainXML(xml: xml)
        #expect(d.type == "qemu")
        #expect(d.os.firmware == "efi")
        #expect(d.os.machine == "q35")
        #expect(d.vcpu == DomainXML.VCPU(placement: "static", current: 2, count: 4))
        #expect(d.memory == 2 << 30 && d.currentMemory == 1 << 30)
        #expect(d.cpu == nil)
        #expect(d.features == ["acpi", "apic"] && d.smm == true)
        #expect(
            d.os.firmwareFeatures == [.init(name: "enrolled-keys", enabled: true), .init(name: "secure-boot", enabled: true)])
        #expect(d.devices.tpms == [DomainXML.TPM(model: "tpm-crb", backendType: "emulator", backendVersion: "2.0")])
        let compact = xml.replacingOccurrences(of: "\n *", with: "", options: .regularExpression)
        #expect(
            compact.contains(
                "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='yes' name='enrolled-keys'/><feature enabled='yes' name='secure-boot'/></firmware>"
            ), "\(xml)")
        #expect(compact.contains("<features><acpi/><apic/><smm state='on'/></features>"), "\(xml)")
        #expect(compact.contains("<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"), "\(xml)")
        #expect(d.devices.disks.map(\.targetDev) == ["vda", "sda", "sdb", "sdd", "sde", "sdc"])
        #expect(d.devices.disks[3].device == "cdrom" && d.devices.disks[3].targetBus == "sata")
        #expect(d.devices.controllers == [DomainXML.Controller(type: "scsi", index: 0, model: "virtio-scsi")])
        #expect(d.devices.graphics.first?.autoport == false && d.devices.graphics.first?.port == 5931)
        #expect(d.devices.hostdevs.allSatisfy { $0.managed == true && $0.mode == "subsystem" })
        #expect(xml.contains("<address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>"))
        #expect(xml.contains("<vendor id='0x1050'/>"))
        #expect(!xml.contains("passwd"))
        let legacy = fleet.vms[2]
        let l = try DomainXML(xml: DomainMapping.render(legacy, hypervisor: .qemu, graphicsPassword: "x", owner: mark(legacy, fleet)))
        #expect(l.os.firmware == nil && l.vcpu.current == nil && l.currentMemory == l.memory)
        #expect(l.os.firmwareFeatures.isEmpty && l.smm == nil && l.devices.tpms.isEmpty)
        #expect(l.devices.graphics.first?.autoport == true && l.devices.graphics.first?.port == nil)
        #expect(l.devices.graphics.first?.passwd == "x")
        #expect(l.devices.disks.map(\.targetDev) == ["hda", "hdb", "hdc", "vda"])
        #expect(DomainMapping.diskTargets(fleet.vms[3]).suffix(3) == ["vdz", "vdaa", "vdab"])
        #expect(DomainMapping.nameIndex("vdab") == 27 && DomainMapping.nameIndex("hdd") == 3 && DomainMapping.nameIndex("xvda") == 0)
    }

    @Test func fragments() throws {
        let fleet = corpusFleet()
        let vm = fleet.vms[1]
        let disk = try XElement.parse(DomainMapping.diskXML(vm.disks[0], vm: vm, target: "vdq"))
        #expect(disk.name == "disk" && disk.child("target")?["dev"] == "vdq" && disk.child("source")?["volume"] == "full-root.qcow2")
        let nic = try XElement.parse(DomainMapping.interfaceXML(vm.networks[1]))
        #expect(nic.child("model")?["type"] == "e1000e" && nic.child("mac")?["address"] == vm.networks[1].mac.description)
        let hd = try XElement.parse(DomainMapping.hostdevXML(.usb(vendor: 0x46d, product: 0xc52b)))
        #expect(hd["managed"] == "yes" && hd.at("source", "product")?["id"] == "0xc52b")
    }

    @Test func machineAliases() {
        #expect(MachineType.matches(desired: nil, live: "pc-i440fx-7.2"))
        #expect(MachineType.matches(desired: "pc", live: "pc-i440fx-7.2"))
        #expect(MachineType.matches(desired: "q35", live: "pc-q35-7.2"))
        #expect(!MachineType.matches(desired: "q35", live: "pc-i440fx-7.2"))
        #expect(MachineType.matches(desired: "pc-q35-7.1", live: "pc-q35-7.1"))
        #expect(!MachineType.matches(desired: "pc-q35-7.1", live: "pc-q35-7.2"))
    }

    @Test func configToleratesLibvirtLiveXML() throws {
        // A running domain's XML: autoport port assigned, <cpu> added, units in MiB, netmask-free extras.
        let xml = """
            <domain type='kvm' id='7' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
              <name>web</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
              <metadata><f:owner xmlns:f="https://fleet.dev/xmlns/owner/1" fleet="lab" kind="vm" name="web"><f:attr name="a" value="1"/></f:owner></metadata>
              <memory unit='MiB'>2048</memory><currentMemory unit='KiB'>1048576</currentMemory>
              <vcpu placement='static' current='2'>4</vcpu>
              <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram></os>
              <cpu mode='custom' match='exact' check='full'><model fallback='forbid'>qemu64</model></cpu>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='p' volume='web-root.qcow2' index='1'/><backingStore/><target dev='vda' bus='virtio'/><alias name='virtio-disk0'/><address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>
                <controller type='usb' index='0' model='qemu-xhci' ports='15'/>
                <interface type='network'><mac address='52:54:00:AB:CD:EF'/><source network='n' portid='x' bridge='virbr1'/><target dev='vnet3'/><model type='virtio'/></interface>
                <interface type='bridge'><source bridge='br0'/></interface>
                <interface type='user'/>
                <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
                <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x3b' slot='0x00' function='0x1'/></source></hostdev>
                <hostdev mode='subsystem' type='scsi'><source/></hostdev>
                <memballoon model='virtio'/>
              </devices>
              <seclabel type='dynamic' model='apparmor' relabel='yes'/>
              <qemu:commandline/>
            </domain>
            """
        let c = try DomainMapping.config(fromXML: xml)
        #expect(c.memory == .gib(1) && c.maxMemory == .gib(2))
        #expect(c.vcpus == 2 && c.maxVcpus == 4)
        #expect(c.firmware == .uefi && c.machine == "pc-q35-7.2" && c.virtType == "kvm")
        #expect(c.disks == [LiveDisk(type: "volume", target: "vda", bus: .virtio, format: .qcow2, pool: "p", volume: "web-root.qcow2")])
        #expect(c.nics.map(\.source) == [.network("n"), .bridge("br0"), .user])
        #expect(c.nics[0].mac == MACAddress(parsing: "52:54:00:ab:cd:ef"))
        #expect(c.graphics == [LiveGraphics(type: "vnc", listen: "127.0.0.1", port: nil, activePort: 5900)])
        #expect(c.hostdevs == [.pci(PCIAddress(parsing: "0000:3b:00.1")!)])
        #expect(c.owner == OwnerMark(fleet: "lab", kind: .vm, name: "web", attributes: ["a": "1"]))
    }

    @Test func configRejectsMalformed() {
        for bad in [
            "", "<domain", "<network/>", "<domain type='kvm'><name>x</name></domain>",
            "<domain type='kvm'><name>x</name><memory unit='XB'>1</memory></domain>",
            "<domain type='kvm'><name>x</name><memory>99999999999999999999</memory></domain>",
            "<domain type='kvm'><name>x</name><memory>18014398509481984</memory></domain>",
            "<domain type='kvm'><name>x</name><memory>1</memory><vcpu>many</vcpu></domain>"
        ] {
            #expect(throws: XMLError.self, "\(bad)") { try DomainMapping.config(fromXML: bad) }
        }
    }
}

@Suite struct OwnerTests {
    @Test func roundTripAndForms() throws {
        let s = OwnerXML.render(owner)
        #expect(s.hasPrefix("<fleet:owner xmlns:fleet='https://fleet.dev/xmlns/owner/1' fleet='lab' kind='vm' name='web'>"))
        #expect(s.range(of: "name='base'")!.lowerBound < s.range(of: "name='digest'")!.lowerBound)
        #expect(OwnerXML.parse(s) == owner)
        // As libvirt may print it: another prefix, double quotes, inside a domain.
        let other =
            "<domain type='kvm'><metadata><x:owner xmlns:x=\"https://fleet.dev/xmlns/owner/1\" fleet=\"f\" kind=\"network\" name=\"n\"/></metadata></domain>"
        #expect(OwnerXML.parse(other) == OwnerMark(fleet: "f", kind: .network, name: "n"))
        // The bare form virDomainSetMetadata takes and virDomainGetMetadata returns.
        let bare = OwnerXML.metadataElement(owner)
        #expect(
            bare
                == "<owner fleet='lab' kind='vm' name='web'>\n  <attr name='base' value='debian-12'/>\n  <attr name='digest' value='abc&amp;&lt;&apos;&quot;'/>\n</owner>"
        )
        #expect(OwnerXML.parse(bare) == owner)
        // A bare <owner> nested in someone's document is not fleet's.
        #expect(OwnerXML.parse("<domain type='kvm'><metadata><owner fleet='a' kind='vm' name='b'/></metadata></domain>") == nil)
        // Wrong namespace, missing fields, garbage: no mark.
        #expect(OwnerXML.parse("<fleet:owner xmlns:fleet='https://example.org/' fleet='a' kind='vm' name='b'/>") == nil)
        #expect(OwnerXML.parse("<fleet:owner xmlns:fleet='https://fleet.dev/xmlns/owner/1' fleet='a' kind='bogus' name='b'/>") == nil)
        #expect(OwnerXML.parse("<<<") == nil)
        #expect(OwnerXML.parse("<domain type='kvm'><name>x</name></domain>") == nil)
    }
}

func ledgerEntries() -> [LedgerEntry] {
    [
        LedgerEntry(
            object: "images/debian.qcow2",
            mark: OwnerMark(fleet: "lab", kind: .image, name: "debian", attributes: ["sha256": String(repeating: "ab", count: 32)])),
        LedgerEntry(object: "images", mark: OwnerMark(fleet: "lab", kind: .pool, name: "images")),
        LedgerEntry(object: "lan", mark: OwnerMark(fleet: "lab", kind: .network, name: "lan")),
        LedgerEntry(object: "images/web-root.qcow2", mark: OwnerMark(fleet: "lab", kind: .volume, name: "web", attributes: ["digest": "x"]))
    ]
}

@Suite struct LedgerTests {
    @Test func inProcessRoundTrip() throws {
        let e = ledgerEntries()
        let xml = LedgerMapping.render(fleet: "lab", entries: e, hypervisor: .qemu)
        let back = try LedgerMapping.entries(fromXML: xml)
        #expect(Set(back) == Set(e) && back.count == e.count)
        #expect(back.map(\.object) == e.map(\.object).sorted())
        #expect(try LedgerMapping.entries(fromXML: LedgerMapping.renderMetadata(fleet: "lab", entries: e)) == back)
        #expect(LedgerMapping.domainName(fleet: "lab") == "fleet-ledger-lab")
        let d = try DomainXML(xml: xml)
        #expect(d.memory == 16 << 20 && d.vcpu.count == 1 && d.devices.disks.isEmpty && d.devices.interfaces.isEmpty)
        #expect(d.description?.contains("Never start") == true)
        #expect(try LedgerMapping.entries(fromXML: "<domain type='kvm'><name>x</name></domain>").isEmpty)
        #expect(throws: XMLError.self) { try LedgerMapping.entries(fromXML: "<domain") }
    }
}
