import Foundation
import Testing

@testable import FleetCLI

/// `fleet show` on a test:/// fixture holding what a hand-built estate holds: 105 disks plus a floppy and an RBD disk,
/// SCSI and mdev hostdevs, a vDPA NIC, a hostdev-forward network and an iSCSI pool.
@Suite struct ShowWideTests {
    static func fixture() throws -> String {
        var disks = ""
        for i in 0..<105 {
            let dev = (i >= 26 ? String(UnicodeScalar(UInt8(96 + i / 26))) : "") + String(UnicodeScalar(UInt8(97 + i % 26)))
            disks +=
                "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/data-\(i).qcow2'/><target dev='vd\(dev)' bus='virtio'/></disk>\n"
        }
        let xml = """
            <node>
            <domain type='test'><name>wide</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>
            \(disks)
            <disk type='file' device='floppy'><source file='/img/fd.img'/><target dev='fda' bus='fdc'/></disk>
            <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='pool/image'><host name='mon1' port='6789'/></source><target dev='sda' bus='scsi'/></disk>
            <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='1'/></source></hostdev>
            <hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>
            <interface type='vdpa'><mac address='52:54:00:00:00:01'/><source dev='/dev/vhost-vdpa-0'/></interface>
            </devices></domain>
            <network><name>sriov</name><forward mode='hostdev' managed='yes'><pf dev='eth3'/></forward></network>
            <pool type='iscsi'><name>san</name><source><host name='iscsi.example.com'/><device path='iqn.2013-06.com.example:iscsi-pool'/></source><target><path>/dev/disk/by-path</path></target></pool>
            </node>
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-show-\(UUID().uuidString).xml").path
        try Data(xml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func wideCellsAreShortenedUnlessWide() throws {
        let path = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try ValidateCLITests.run(["show", "--connect", "test://\(path)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").allSatisfy { $0.count < 400 }, "a line is too wide")
        #expect(r.stdout.contains("107 disks"))
        #expect(r.stdout.contains("scsi scsi_host0 0:0:1, mdev 53764d0e-85a0-42b4-af5c-2046b460b1dc (vfio-pci)"))
        #expect(r.stdout.contains("@vdpa /dev/vhost-vdpa-0"))
        let net = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("sriov ") })
        #expect(net.contains(" hostdev ") && net.contains("pf eth3"))
        let pool = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("san ") })
        #expect(pool.contains(" iscsi ") && pool.contains("iscsi.example.com iqn.2013-06.com.example:iscsi-pool"), "\(pool)")

        let w = try ValidateCLITests.run(["show", "--connect", "test://\(path)", "--wide"])
        #expect(w.status == 0)
        #expect(!w.stdout.contains("107 disks"))
        #expect(
            w.stdout.contains("vda=/var/lib/libvirt/images/data-0.qcow2")
                && w.stdout.contains("vdda=/var/lib/libvirt/images/data-104.qcow2"))
        #expect(w.stdout.contains("fda(floppy)=/img/fd.img") && w.stdout.contains("sda=rbd://mon1:6789/pool/image"))
    }

    @Test func jsonCarriesEveryKind() throws {
        let path = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try ValidateCLITests.run(["show", "--connect", "test://\(path)", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let host = try #require((json["hosts"] as? [[String: Any]])?.first)
        let dom = try #require((host["domains"] as? [[String: Any]])?.first)
        let cfg = try #require(dom["config"] as? [String: Any])
        let disks = try #require(cfg["disks"] as? [[String: Any]])
        #expect(disks.count == 107)
        let fd = try #require(disks.first { $0["target"] as? String == "fda" })
        #expect(fd["device"] as? String == "floppy" && fd["bus"] as? String == "fdc" && fd["path"] as? String == "/img/fd.img")
        let rbd = try #require(disks.first { $0["target"] as? String == "sda" })
        #expect(rbd["type"] as? String == "network" && rbd["protocol"] as? String == "rbd" && rbd["name"] as? String == "pool/image")
        #expect(rbd["hosts"] as? [String] == ["mon1:6789"])
        let hostdevs = try #require(cfg["allHostdevs"] as? [[String: Any]])
        #expect(hostdevs.map { $0["type"] as? String } == ["scsi", "mdev"])
        let nic = try #require((cfg["nics"] as? [[String: Any]])?.first)
        #expect(nic["type"] as? String == "vdpa")
        let pool = try #require((host["pools"] as? [[String: Any]])?.first)
        #expect((pool["spec"] as? [String: Any])?["type"] as? String == "iscsi")
        let network = try #require((host["networks"] as? [[String: Any]])?.first)
        #expect((network["spec"] as? [String: Any])?["mode"] as? String == "hostdev")
        #expect(network["forwardDevices"] as? [String] == ["pf eth3"])
    }
}
