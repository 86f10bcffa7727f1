import FleetManifest
import FleetModel
import Foundation
import Testing

@testable import FleetMapping

/// ManifestExport as a pure function: hand-built live state in, YAML out, loaded back by the manifest loader.
@Suite struct ManifestExportTests {
    func loadBack(_ text: String) throws -> Fleet {
        let dir = try scratchDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try write(text, to: dir, "fleet.yaml")
        let r = ManifestLoader().load(paths: [dir.path])
        let errors = r.diagnostics.filter { $0.severity == .error }
        guard let fleet = r.fleet, errors.isEmpty else { throw ExportTestFailure("\(r.diagnostics.map(\.description))\n\(text)") }
        return fleet
    }

    func pool(_ name: String, path: String) -> LivePool {
        LivePool(name: name, uuid: "u-\(name)", active: true, autostart: true, spec: PoolSpec(name: name, type: .dir, path: path))
    }

    func domain(_ name: String, disks: [LiveDisk] = [], nics: [LiveNIC] = [], hostdevs: [DeviceKind] = []) -> LiveDomain {
        LiveDomain(
            name: name, uuid: "u-\(name)", state: .shutoff,
            config: DomainConfig(
                vcpus: 1, maxVcpus: 1, memory: .mib(64), maxMemory: .mib(64), virtType: "qemu",
                machine: "pc-i440fx-7.2", disks: disks, nics: nics, hostdevs: hostdevs))
    }

    @Test func valuesThatLookLikeOtherYAMLTypesAreQuotedAndReadBackExactly() throws {
        let path = "/srv/my \"pools\"/#1: yes"
        let host = LiveHost(
            name: "local", uri: "qemu:///system", pools: [pool("yes", path: path)],
            volumes: [LiveVolume(pool: "yes", name: "null", path: "\(path)/null", format: "raw", capacity: .mib(1), allocation: .mib(1))],
            nodeDevices: [])
        var host2 = host
        host2.domains = [domain("on", disks: [LiveDisk(type: "volume", target: "vda", bus: .virtio, pool: "yes", volume: "null")])]
        let text = ManifestExport.export(
            fleet: "true", hosts: [.init(spec: HostSpec(name: "local", uri: "qemu:///system"), live: host2)],
            schema: "s.json"
        ).text
        let fleet = try loadBack(text)
        #expect(fleet.name == "true")
        #expect(fleet.pools.map(\.name) == ["yes"] && fleet.pools.first?.path == path, "\(text)")
        let vm = try #require(fleet.vms.first)
        #expect(vm.name == "on" && vm.disks.map { $0.volumeName(vm: vm.name) } == ["null"] && vm.disks.first?.format == .raw, "\(text)")
        #expect(vm.machine == "pc-i440fx-7.2" && vm.virtType == .qemu && vm.state == .stopped)
    }

    @Test func severalHostsShareObjectsThatReadTheSame() throws {
        func host(_ name: String, poolPath: String) -> ManifestExport.Host {
            var h = LiveHost(
                name: name, uri: "qemu+ssh://\(name)/system", pools: [pool("p", path: poolPath)],
                nodeDevices: [.usb(vendor: 0x1050, product: 0x0407)])
            h.domains = [domain("vm-\(name)", hostdevs: [.usb(vendor: 0x1050, product: 0x0407)]), domain("same")]
            return .init(spec: HostSpec(name: name, uri: h.uri), live: h)
        }
        let out = ManifestExport.export(
            fleet: "f", hosts: [host("a", poolPath: "/p"), host("b", poolPath: "/p"), host("c", poolPath: "/other")],
            schema: "s.json")
        let fleet = try loadBack(out.text)
        #expect(fleet.pools.first?.hosts == ["a", "b"], "\(out.text)")
        #expect(out.text.contains("pool p on c: differs from pool p on a"))
        // One VM per name: the second host's `same` is left out, and said so.
        #expect(fleet.vms.map(\.name).sorted() == ["same", "vm-a", "vm-b", "vm-c"])
        #expect(fleet.vms.first { $0.name == "same" }?.host == "a")
        #expect(out.text.contains("vm same on b: the name is taken by a VM on another host"))
        // Each host's USB device is its own device entry.
        #expect(fleet.devices.map { "\($0.name) \($0.host)" } == ["usb-1050-0407-a a", "usb-1050-0407-b b", "usb-1050-0407-c c"])
        #expect(fleet.vms.first { $0.name == "vm-b" }?.hostdevs.map(\.name) == ["usb-1050-0407-b"])
    }

    @Test func aSelectionNamesWhatItDidNotFind() {
        let h = ManifestExport.Host(
            spec: HostSpec(name: "local", uri: "test:///default"), live: LiveHost(name: "local", uri: "test:///default"))
        let out = ManifestExport.export(fleet: "f", hosts: [h], selection: .init([(.vm, "nope"), (.network, "gone")]), schema: "s")
        #expect(out.notFound == ["vm/nope", "network/gone"])
    }

    @Test func firmwareFeaturesAndTheTPMAreExported() throws {
        var d = domain("win")
        d.config.machine = "pc-q35-7.2"
        d.config.firmware = .uefi
        d.config.secureBoot = true
        d.config.enrolledKeys = false
        d.config.tpm = LiveTPM(model: "tpm-tis", backend: "emulator", version: "1.2")
        var plain = domain("old")
        plain.config.firmware = .uefi
        plain.config.secureBoot = true  // i440fx: a manifest cannot declare it, so it is not exported
        plain.config.tpm = LiveTPM(model: "tpm-crb", backend: "passthrough")
        var host = LiveHost(name: "local", uri: "qemu:///system", nodeDevices: [])
        host.domains = [d, plain]
        let xml = """
            <domain type='kvm'><name>win</name><os firmware='efi'><type>hvm</type><firmware><feature enabled='yes' name='secure-boot'/></firmware></os>
              <devices><tpm model='tpm-tis'><backend type='emulator' version='1.2'/></tpm><tpm model='tpm-crb'><backend type='emulator'/></tpm></devices></domain>
            """
        let text = ManifestExport.export(
            fleet: "lab", hosts: [.init(spec: HostSpec(name: "local", uri: "qemu:///system"), live: host, domainXML: ["win": xml])],
            schema: "s.json"
        ).text
        let fleet = try loadBack(text)
        let win = try #require(fleet.vms.first { $0.name == "win" })
        #expect(win.firmware == .uefi && win.secureBoot == true && win.enrolledKeys == false, "\(text)")
        #expect(win.tpm == TPMSpec(model: .tis, version: .tpm12), "\(text)")
        // The first TPM is declared; a second one, and nothing of <os><firmware>, is noted as kept.
        #expect(text.contains("kept as is, not managed by fleet: tpm tpm-crb") && !text.contains("os/firmware"), "\(text)")
        let old = try #require(fleet.vms.first { $0.name == "old" })
        #expect(old.firmware == .uefi && old.secureBoot == nil && old.tpm == nil, "\(text)")
    }

    @Test func unmanagedElementsAreNamed() {
        let xml = """
            <domain type='kvm'><name>x</name><os><type>hvm</type><boot dev='hd'/></os><cputune/>
              <devices><emulator>/usr/bin/qemu</emulator>
                <disk type='file' device='floppy'><source file='/f.img'/><target dev='fda' bus='fdc'/></disk>
                <disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vda'/></disk>
                <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='1'/></source></hostdev>
                <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='2'/></source></hostdev>
                <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
              </devices></domain>
            """
        var managed = ManifestExport.Managed()
        managed.disks = ["vda"]
        let (devices, other) = ManifestExport.unmanagedElements(xml, managed: managed)
        #expect(devices == ["floppy fda (/f.img)", "hostdev scsi (×2)", "channel org.qemu.guest_agent.0"])
        #expect(other == ["os/boot", "cputune"])
    }
}

struct ExportTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
