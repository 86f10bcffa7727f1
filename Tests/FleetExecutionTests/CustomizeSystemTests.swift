import FleetExecution
import FleetImages
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Guestfs
import Libvirt
import Testing

/// apply customizes a VM's disk with libguestfs before its first boot (the seed notes' virt-customize
/// --root-password and virt-copy-in of ifcfg-eth0), and a change of input shows as a change of that disk.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct CustomizeSystemTests {
    let uri = systemURI ?? "qemu:///system"

    @Test func applyCustomizesTheDiskAndTracksItsInputs() throws {
        setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0)
        setenv("FT_ROOT_PW", "s3cret-pw", 1)
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let image = t.dir.appendingPathComponent("base.qcow2").path
        try buildTinyLinux(at: image)
        let ifcfg = t.dir.appendingPathComponent("ifcfg-eth0")
        try Data("DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n".utf8).write(to: ifcfg)
        let yaml = """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(t.prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(t.prefix)pool"}}
            images: {\(t.prefix)base: {source: base.qcow2, format: qcow2, pool: \(t.prefix)pool}}
            vms:
              \(t.prefix)vm:
                virt_type: qemu
                memory: 64MiB
                disks: [{image: \(t.prefix)base}]
                customize:
                  root_password: {env: FT_ROOT_PW}
                  hostname: true
                  files: [{source: ifcfg-eth0, dest: /etc/sysconfig/network-scripts/ifcfg-eth0, mode: "0644", owner: "root:root"}]
                state: stopped
            """
        let fleet = try t.load(yaml)
        let report = t.apply(planned(fleet))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(planned(fleet).changes.isEmpty, "\(planned(fleet).changes)")

        // Read the VM's disk back with libguestfs.
        let conn = try Connection(uri: uri)
        let disk = try #require(try conn.storagePool(named: "\(t.prefix)pool")?.volume(named: "\(t.prefix)vm-disk0.qcow2"))
        let g = try Guestfs()
        try g.addDrive(disk.path, format: "qcow2", readonly: true)
        try g.launch()
        try g.mountReadOnly("/dev/sda1", at: "/")
        #expect(try g.cat("/etc/hostname").trimmingCharacters(in: .whitespacesAndNewlines) == "\(t.prefix)vm")
        #expect(try g.cat("/etc/sysconfig/network-scripts/ifcfg-eth0") == "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n")
        #expect(try g.lstat("/etc/sysconfig/network-scripts/ifcfg-eth0").mode & 0o7777 == 0o644)
        let shadow = try g.cat("/etc/shadow")
        let rootHash = String(shadow.split(separator: "\n").first { $0.hasPrefix("root:") }?.split(separator: ":")[1] ?? "")
        #expect(rootHash.hasPrefix("$6$"))
        #expect(PasswordHash.verify("s3cret-pw", hash: rootHash))
        #expect(!shadow.contains("s3cret-pw"))
        try g.shutdown()
        // The base image is untouched: customization went into the VM's overlay.
        let base = try Guestfs()
        let basePath = try #require(try conn.storagePool(named: "\(t.prefix)pool")?.volume(named: fleet.images[0].volumeName)).path
        try base.addDrive(basePath, format: "qcow2", readonly: true)
        try base.launch()
        try base.mountReadOnly("/dev/sda1", at: "/")
        #expect(try base.cat("/etc/hostname") == "template\n")
        try base.shutdown()

        // A new input (the file's content) shows in the plan as a change of that disk.
        try Data("DEVICE=eth0\nBOOTPROTO=static\n".utf8).write(to: ifcfg)
        let p = planned(fleet)
        let change = try #require(p.changes.first { $0.object.description == "volume/\(t.prefix)pool/\(t.prefix)vm-disk0.qcow2" })
        #expect(change.action == .replace && change.destructive)
        #expect(change.attributes.map(\.name) == ["customize"])
        t.destroy(fleet)
    }

    /// Image-level customization is applied to a local copy before upload (so remote hosts get it too);
    /// the source file is left as it was.
    @Test func imageCustomizationIsUploaded() throws {
        setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0)
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let image = t.dir.appendingPathComponent("base.qcow2").path
        try buildTinyLinux(at: image)
        let before = try sha256(image)
        try Data("Authorized use only.\n".utf8).write(to: t.dir.appendingPathComponent("motd"))
        let fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(t.prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(t.prefix)pool"}}
            images:
              \(t.prefix)base:
                source: base.qcow2
                format: qcow2
                pool: \(t.prefix)pool
                hosts: [local]
                customize: {files: [{source: motd, dest: /etc/motd, mode: "0644"}]}
            """)
        let report = t.apply(planned(fleet))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(planned(fleet).changes.isEmpty, "\(planned(fleet).changes)")
        #expect(try sha256(image) == before, "the source image is not modified")
        let desired = ImageInputs.compute(fleet).apply(to: fleet)
        let conn = try Connection(uri: uri)
        let vol = try #require(try conn.storagePool(named: "\(t.prefix)pool")?.volume(named: desired.images[0].volumeName))
        let g = try Guestfs()
        try g.addDrive(vol.path, format: "qcow2", readonly: true)
        try g.launch()
        try g.mountReadOnly("/dev/sda1", at: "/")
        #expect(try g.cat("/etc/motd") == "Authorized use only.\n")
        try g.shutdown()
        t.destroy(fleet)
    }

    func planned(_ fleet: Fleet) -> Plan {
        Session(fleet: fleet).plan().0
    }

    /// A minimal Linux-like disk (libguestfs inspection sees /etc, /bin and /etc/hosts).
    func buildTinyLinux(at path: String) throws {
        let g = try Guestfs()
        try g.diskCreate(path, format: "qcow2", size: 64 << 20)
        try g.addDrive(path, format: "qcow2")
        try g.launch()
        try g.partDisk("/dev/sda", type: "mbr")
        try g.mkfs("ext4", device: "/dev/sda1")
        try g.mount("/dev/sda1", at: "/")
        for d in ["/bin", "/etc/sysconfig/network-scripts", "/root"] { try g.mkdirP(d) }
        for (p, c) in [
            ("/etc/os-release", "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n"), ("/etc/hosts", "127.0.0.1 localhost\n"),
            ("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"), ("/etc/group", "root:x:0:\n"),
            ("/etc/shadow", "root:*:19000:0:99999:7:::\n"), ("/etc/hostname", "template\n")
        ] {
            try g.write(p, c)
        }
        try g.shutdown()
    }
}
