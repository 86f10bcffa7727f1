import FleetModel
import Foundation
import Guestfs
import Testing

@testable import FleetImages

/// Real libguestfs appliance launches (TCG: slow). Serialized, and few launches in total:
/// end to end: build, customize, verify (3); no inspectable OS: build, two customizations that fail on purpose (3); seed: build, verify (2).
@Suite(.serialized) struct GuestfsImageTests {
    @Test func customizeLinuxImageEndToEnd() throws {
        guestfsEnvironment()
        let t = try TempDir()
        defer { t.cleanup() }
        let disk = t.path + "/base.qcow2"
        try buildLinuxImage(at: disk, format: "qcow2")
        // The image fleet made reads back as a qcow2 ImageFile.
        let image = try ImageSource.prepare(ImageSpec(name: "base", source: disk, pool: "d"), cacheDirectory: t.path + "/cache")
        #expect(image.format == .qcow2 && image.virtualSize == 64 << 20)

        let pw = try t.file("secrets/root.pw", "Tr0ub4dor&3\n")
        let ifcfg = "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=192.168.150.11\nNETMASK=255.255.255.0\nGATEWAY=192.168.150.1\nONBOOT=yes\n"
        let ifcfgPath = try t.file("files/ifcfg-eth0", ifcfg)
        let ini = try t.file("files/app.ini", "[app]\nport=8080\n")
        let motd = try t.file("files/welcome", "hello\n")
        let c = Customization(
            rootPassword: .file(pw),
            sshAuthorizedKeys: ["ssh-ed25519 AAAAexisting old@host", "ssh-ed25519 AAAAnew1 ops@lab", "ssh-ed25519 AAAAnew1 ops@lab"],
            files: [
                FileCopy(source: ifcfgPath, dest: "/etc/sysconfig/network-scripts/ifcfg-eth0", mode: 0o644, owner: "root:root"),
                FileCopy(source: ini, dest: "/opt/app/conf/app.ini", mode: 0o640, owner: "ops:wheel"),
                FileCopy(source: motd, dest: "/etc/motd.d/", owner: "1000")
            ],
            hostname: true, timezone: "Asia/Shanghai", sysprep: SysprepOperation.allCases)
        let secrets = SecretResolver(environment: [:])
        let ops = try Customizer.apply(c, hostname: "web-1", toDisk: disk, format: .qcow2, secrets: secrets)
        #expect(ops.contains("ssh authorized keys: 1 added, 2 already present (/root/.ssh/authorized_keys)"), "\(ops)")
        #expect(ops.contains("hostname web-1") && ops.contains("timezone Asia/Shanghai"))
        #expect(ops.contains { $0.hasPrefix("sysprep logfiles:") })
        // The guest declares SELinux enforcing but has no policy files: a relabel at first boot is requested.
        #expect(ops.contains("SELinux: /.autorelabel created (labels are fixed at first boot)"), "\(ops)")
        #expect(!ops.joined().contains("Tr0ub4dor"))

        // Reopen read-only and check every effect.
        let g = try Guestfs()
        try g.addDrive(disk, format: "qcow2", readonly: true)
        try g.launch()
        // Inspection sees the tiny image as Linux (so the fallback path is not what ran).
        let roots = try g.inspectOS()
        #expect(roots == ["/dev/sda1"])
        #expect(try g.inspectType(root: "/dev/sda1") == "linux")
        #expect(try g.inspectDistro(root: "/dev/sda1") == "rocky")
        try g.mountReadOnly("/dev/sda1", at: "/")
        func text(_ p: String) throws -> String { String(decoding: try g.readFile(p), as: UTF8.self) }

        let shadow = try text("/etc/shadow").split(separator: "\n")
        #expect(shadow.count == 2)
        let rootFields = shadow[0].split(separator: ":", omittingEmptySubsequences: false)
        #expect(rootFields[0] == "root" && rootFields[1].hasPrefix("$6$"))
        #expect(PasswordHash.verify("Tr0ub4dor&3", hash: String(rootFields[1])))
        #expect(!PasswordHash.verify("Tr0ub4dor&3\n", hash: String(rootFields[1])))
        #expect(rootFields[2] != "0" && rootFields[2] != "19000")
        #expect(shadow[1] == "ops:!!:19000:0:99999:7:::")
        #expect(try g.lstat("/etc/shadow").permissions == 0o000)

        #expect(try text("/root/.ssh/authorized_keys") == "ssh-ed25519 AAAAexisting old@host\nssh-ed25519 AAAAnew1 ops@lab\n")
        let sshDir = try g.lstat("/root/.ssh")
        let keys = try g.lstat("/root/.ssh/authorized_keys")
        #expect(sshDir.permissions == 0o700 && keys.permissions == 0o600)
        #expect(sshDir.uid == 0 && keys.uid == 0 && keys.gid == 0)

        // The seed notes' case: ifcfg-eth0 into network-scripts, 0644 root:root.
        #expect(try text("/etc/sysconfig/network-scripts/ifcfg-eth0") == ifcfg)
        let st = try g.lstat("/etc/sysconfig/network-scripts/ifcfg-eth0")
        #expect(st.permissions == 0o644 && st.uid == 0 && st.gid == 0 && st.mode & 0o170000 == 0o100000)
        #expect(try text("/opt/app/conf/app.ini") == "[app]\nport=8080\n")
        let iniStat = try g.lstat("/opt/app/conf/app.ini")
        #expect(iniStat.permissions == 0o640 && iniStat.uid == 1000 && iniStat.gid == 10)
        #expect(try g.isDir("/opt/app/conf"))
        let motdStat = try g.lstat("/etc/motd.d/welcome")
        #expect(try text("/etc/motd.d/welcome") == "hello\n")
        #expect(motdStat.uid == 1000 && motdStat.gid == 1000)

        #expect(try text("/etc/hostname") == "web-1\n")
        #expect(try text("/etc/sysconfig/network") == "NETWORKING=yes\nHOSTNAME=web-1\n")
        #expect(try g.isSymlink("/etc/localtime"))
        #expect(try g.readlink("/etc/localtime") == "/usr/share/zoneinfo/Asia/Shanghai")
        #expect(try text("/etc/timezone") == "Asia/Shanghai\n")

        // Sysprep: identity removed or emptied, the rest kept.
        #expect(try g.isFile("/etc/machine-id") && g.lstat("/etc/machine-id").size == 0)
        #expect(try !g.exists("/var/lib/dbus/machine-id"))
        #expect(try g.globExpand("/etc/ssh/ssh_host_*").isEmpty)
        #expect(try g.isFile("/etc/ssh/sshd_config"))
        #expect(try g.lstat("/var/log/messages").size == 0 && g.lstat("/var/log/messages").permissions == 0o600)
        #expect(try g.lstat("/var/log/dnf.log").size == 0)
        #expect(try g.lstat("/var/log/wtmp").size == 0)
        #expect(try g.lstat("/var/log/audit/audit.log").size == 0)
        #expect(try !g.exists("/var/log/messages-20240101"))
        #expect(try g.isDir("/var/log/journal") && g.ls("/var/log/journal").isEmpty)
        #expect(try text("/var/log/keep.txt") == "not a log pattern\n")
        #expect(try !g.exists("/root/.bash_history") && !g.exists("/home/ops/.bash_history"))
        #expect(try text("/home/ops/notes") == "keep me\n")
        #expect(try !g.exists("/etc/udev/rules.d/70-persistent-net.rules"))
        #expect(try g.isFile("/etc/udev/rules.d/99-keep.rules"))
        #expect(try g.isFile("/.autorelabel"))

        // Owner names resolve against the guest's own passwd/group files.
        #expect(try g.resolveOwner("ops") == (1000, 1000))
        #expect(try g.resolveOwner("0:wheel") == (0, 10))
        #expect(try g.resolveOwner("root:1000") == (0, 1000))
        #expect(throws: GuestfsError(operation: "chown", message: "user \"nobody\" is not in the guest's /etc/passwd")) {
            try g.resolveOwner("nobody:root")
        }
        #expect(throws: GuestfsError(operation: "chown", message: "group \"staff\" is not in the guest's /etc/group")) {
            try g.resolveOwner("root:staff")
        }
        #expect(throws: GuestfsError(operation: "chown", message: "owner \"root:\" is not user, user:group, or uid:gid")) {
            try g.resolveOwner("root:")
        }

        // The binding's errors carry libguestfs's message.
        #expect {
            _ = try g.readFile("/no/such/file")
        } throws: { e in
            guard let e = e as? GuestfsError else { return false }
            return e.operation == "read_file /no/such/file" && e.message.contains("No such file")
        }
        try g.umountAll()
        try g.shutdown()
    }

    /// Without an OS libguestfs inspection recognises, the first filesystem with /etc is taken as the root;
    /// a disk with no such filesystem is a clear error, not a crash or a half-written disk.
    @Test func fallbackRootAndNoOperatingSystem() throws {
        guestfsEnvironment()
        let t = try TempDir()
        defer { t.cleanup() }
        let bare = t.path + "/bare-etc.img"
        let empty = t.path + "/empty-fs.img"
        do {
            let g = try Guestfs()
            try g.diskCreate(bare, format: "raw", size: 32 << 20)
            try g.diskCreate(empty, format: "raw", size: 32 << 20)
            try g.addDrive(bare, format: "raw")
            try g.addDrive(empty, format: "raw")
            try g.launch()
            try g.mkfs("ext4", device: "/dev/sda")
            try g.mkfs("ext4", device: "/dev/sdb")
            try g.mount("/dev/sda", at: "/")
            try g.mkdirP("/etc")
            try g.write("/etc/hostname", "old\n")
            try g.umountAll()
            try g.shutdown()
        }
        let secrets = SecretResolver(environment: [:])
        // The fallback finds the root (else this would be noOperatingSystem), and the guest-side checks run
        // before any change: the zone is missing from this bare guest.
        #expect(throws: CustomizeError.timezoneNotInGuest("Asia/Shanghai")) {
            try Customizer.apply(
                Customization(hostname: true, timezone: "Asia/Shanghai", sysprep: [.machineID]),
                hostname: "db-1", toDisk: bare, format: .raw, secrets: secrets)
        }
        #expect(throws: CustomizeError.noOperatingSystem(disk: empty)) {
            try Customizer.apply(Customization(hostname: true), hostname: "db-1", toDisk: empty, format: .raw, secrets: secrets)
        }
    }

    @Test func cloudInitSeed() throws {
        guestfsEnvironment()
        let t = try TempDir()
        defer { t.cleanup() }
        // Over 1 MiB: the binding writes it in chunks (libguestfs messages are size-limited).
        let userData = "#cloud-config\nusers:\n  - name: ops\n" + String(repeating: "# padding padding padding padding\n", count: 45_000)
        let ud = try t.file("user-data", userData)
        let nc = try t.file("network-config", "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n")
        let spec = CloudInitSpec(userData: ud, networkConfig: nc)
        let out = t.path + "/web-1-cidata.iso"
        let sum = try CloudInitSeed.build(spec, vmName: "web-1", outputPath: out)
        #expect(sum == (try ImageSource.sha256(ofFile: out)))
        let size = try ImageSource.detectFormat(path: out)
        #expect(size.0 == .raw && size.1 % 2048 == 0)
        let iid = try CloudInitSeed.instanceID(spec, vmName: "web-1")

        // The appliance's Linux kernel mounts it with isofs, as the guest will: Rock Ridge names.
        let g = try Guestfs()
        try g.addDrive(out, format: "raw", readonly: true)
        try g.launch()
        #expect(try g.vfsType("/dev/sda") == "iso9660")
        #expect(try g.vfsLabel("/dev/sda") == "cidata")
        try g.mountReadOnly("/dev/sda", at: "/")
        func text(_ p: String) throws -> String { String(decoding: try g.readFile(p), as: UTF8.self) }
        #expect(try text("/user-data") == userData)
        #expect(try text("/meta-data") == "instance-id: \(iid)\nlocal-hostname: web-1\n")
        #expect(try text("/network-config") == "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n")
        try g.umountAll()
        try g.shutdown()
    }
}
