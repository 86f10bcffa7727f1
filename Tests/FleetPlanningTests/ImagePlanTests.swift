import FleetModel
import Testing

@testable import FleetPlanning

/// New image content or new image-level customization inputs make a new image version; disks on the
/// old version are reimaged (destructive), and the old version goes once nothing is backed by it.
@Suite struct ImagePlanTests {
    func fleet(sha: String, digest: String?) -> Fleet {
        Fleet(
            name: "lab", hosts: [HostSpec(name: "h", uri: "test:///x")],
            pools: [PoolSpec(name: "p", type: .dir, path: "/p")],
            images: [
                ImageSpec(
                    name: "rocky", source: "/img.qcow2", sha256: sha, format: .qcow2, pool: "p",
                    customize: Customization(hostname: true), customizationDigest: digest)
            ],
            vms: [
                VMSpec(
                    name: "vm", host: "h", memory: .mib(64), virtType: .qemu, disks: [DiskSpec(name: "disk0", image: "rocky", pool: "p")],
                    state: .stopped)
            ])
    }

    func live(for f: Fleet) -> LiveState {
        let img = f.images[0]
        let mark = { (k: ObjectKind, n: String, a: [String: String]) in OwnerMark(fleet: "lab", kind: k, name: n, attributes: a) }
        var h = LiveHost(name: "h", uri: "test:///x", nodeDevices: [])
        h.pools = [
            LivePool(
                name: "p", uuid: "u", active: true, autostart: false, spec: PoolSpec(name: "p", type: .dir, path: "/p"),
                owner: mark(.pool, "p", [:]))
        ]
        h.volumes = [
            LiveVolume(
                pool: "p", name: img.volumeName, path: "/p/\(img.volumeName)", format: "qcow2", capacity: .gib(1), allocation: .gib(1),
                owner: mark(.image, "rocky", ["sha256": img.sha256!])),
            LiveVolume(
                pool: "p", name: "vm-disk0.qcow2", path: "/p/vm-disk0.qcow2", format: "qcow2", capacity: .gib(1), allocation: .mib(1),
                backingPath: "/p/\(img.volumeName)", backingFormat: "qcow2", owner: mark(.volume, "vm", ["vm": "vm", "image": "rocky"]))
        ]
        let cfg = DomainConfig(
            vcpus: 1, maxVcpus: 1, memory: .mib(64), maxMemory: .mib(64), virtType: "qemu",
            disks: [LiveDisk(target: "vda", bus: .virtio, format: .qcow2, pool: "p", volume: "vm-disk0.qcow2")],
            owner: mark(.vm, "vm", [:]))
        h.domains = [LiveDomain(name: "vm", uuid: "u", state: .shutoff, config: cfg)]
        return LiveState(hosts: [h])
    }

    @Test func unchangedImageIsInSync() {
        let f = fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        #expect(Planner.plan(desired: f, live: live(for: f)).changes.isEmpty)
    }

    @Test func newCustomizationInputsMakeANewVersion() {
        let old = fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        let new = fleet(sha: String(repeating: "a", count: 64), digest: "22222222")
        #expect(old.images[0].volumeName != new.images[0].volumeName)
        let p = Planner.plan(desired: new, live: live(for: old))
        #expect(p.change("image/rocky")?.action == .create)
        let disk = p.change("volume/p/vm-disk0.qcow2")
        #expect(disk?.action == .replace && disk?.destructive == true)
        // The old version backs nothing once the disk is reimaged: it goes in the same plan, destructive like the
        // reimage (the executor runs it after the replace, and skips it when the replace does not happen).
        let gone = p.change("image/p/\(old.images[0].volumeName)")
        #expect(gone?.action == .delete && gone?.destructive == true, "\(p.changes)")
        #expect(p.changes.filter { $0.action == .delete }.count == 1)
    }

    /// `fleet destroy` plans with an empty fleet: the image version goes in the same plan as the disks backed by
    /// it (deleted after them), so one pass leaves nothing; it is destructive like them, so without
    /// --allow-destroy it is skipped with them instead of pulling the backing file from under a kept disk.
    @Test func destroyRemovesTheImageWithItsDisksInOnePlan() {
        let f = fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        let empty = Fleet(name: "lab", hosts: f.hosts)
        let p = Planner.plan(desired: empty, live: live(for: f))
        let image = p.change("image/p/\(f.images[0].volumeName)")
        #expect(image?.action == .delete && image?.destructive == true)
        #expect(p.change("volume/p/vm-disk0.qcow2")?.action == .delete)
        #expect(p.change("pool/p")?.action == .delete)
        #expect(p.change("vm/vm")?.action == .delete)
        // Order: the VM, then its disk, then the image, then the pool.
        let order = ["vm/vm", "volume/p/vm-disk0.qcow2", "image/p/\(f.images[0].volumeName)", "pool/p"].compactMap { ref in
            p.changes.firstIndex { $0.object.description == ref }
        }
        #expect(order.count == 4 && order == order.sorted())
    }

    /// A disk that stays (here: one fleet does not own) keeps the old version alive.
    @Test func anUnownedDiskKeepsTheImage() {
        let f = fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        var l = live(for: f)
        l.hosts[0].volumes[1].owner = nil
        let p = Planner.plan(desired: Fleet(name: "lab", hosts: f.hosts), live: l)
        #expect(p.change("image/p/\(f.images[0].volumeName)") == nil)
    }
}
