import FleetModel
import Testing

@testable import FleetPlanning

/// A move (`host:` changed) is one change on the new host that carries the disks: no disk creations there, no
/// disk deletions (and no destructive image deletion) on the old host; the plan says how each disk travels.
@Suite struct MovePlanTests {
    let fleet = Fixture.fleet().with { f in f.pools[0].hosts = nil }

    /// web-1 without what keeps it on kvm1 (USB token is fine, snapshots are not), and kvm2 with the pool.
    func moved(running: Bool, sharedPath: Bool = false) -> (Fleet, LiveState) {
        let f = fleet.with { f in
            f.vms[1].host = "kvm2"
            f.vms[1].hostdevs = []
            f.vms[1].snapshots = []
        }
        var live = Fixture.live(fleet)
        live.hosts[0].domains = live.hosts[0].domains.map { d in
            d.name != "web-1"
                ? d
                : d.with { d in
                    d.config.hostdevs = []
                    d.snapshots = []
                    if !running {
                        d.state = .shutoff
                        d.id = nil
                        d.live = nil
                    } else {
                        d.live?.hostdevs = []
                    }
                }
        }
        live.hosts[1].pools = live.hosts[0].pools
        if sharedPath {
            live.hosts[1].volumes = live.hosts[0].volumes.filter { $0.name == "web-1-disk0.qcow2" }.map { $0.with { $0.owner = nil } }
        }
        return (f, live)
    }

    @Test func liveMoveCopiesDisksAsPartOfTheMove() throws {
        let (f, movedLive) = moved(running: true)
        var live = movedLive
        // The old host's seed stays until the move is done (a failed move leaves the VM what it boots from).
        live.hosts[0].volumes.append(
            LiveVolume(
                pool: "vmdisk", name: "web-1-cidata.img", path: "/data/vmfs/web-1-cidata.img",
                format: "raw",
                capacity: .mib(1), allocation: .mib(1),
                owner: Fixture.mark(.volume, "web", ["vm": "web-1", "role": "seed"])))
        let p = Planner.plan(desired: f, live: live)
        let c = try #require(p.hosts[1].changes.first { $0.object.description == "vm/web-1" })
        #expect(c.action == .migrate && c.steps == [.migrate(toHost: "kvm2", live: true)] && !c.destructive)
        #expect(c.reason.contains("live migration") && c.reason.contains("non-shared"), "\(c.reason)")
        #expect(
            c.attributes.contains { $0.name == "disk 0" && ($0.after ?? "").contains("non-shared disk copy by QEMU") },
            "\(c.attributes)")
        // Neither a fresh disk on kvm2 nor a deletion on kvm1: both are the move's.
        #expect(!p.changes.contains { $0.object.description == "volume/vmdisk/web-1-disk0.qcow2" }, "\(p.changes.map(\.object))")
        #expect(
            !p.hosts[0].changes.contains { $0.object.description == "volume/vmdisk/web-1-cidata.img" },
            "\(p.hosts[0].changes.map(\.object))")
        #expect(!p.changes.contains { $0.destructive }, "\(p.changes.filter(\.destructive).map(\.object))")
    }

    @Test func offlineMoveSaysHowMuchIsCopied() throws {
        let (f, live) = moved(running: false)
        let c = try #require(Planner.plan(desired: f, live: live).hosts[1].changes.first { $0.object.description == "vm/web-1" })
        #expect(c.steps == [.migrate(toHost: "kvm2", live: false)])
        #expect(c.reason.contains("disk contents copied (0.1 GiB)"), "\(c.reason)")
        #expect(c.attributes.contains { $0.after == "kvm2:vmdisk/web-1-disk0.qcow2 (disk contents copied, 0.1 GiB)" }, "\(c.attributes)")
    }

    @Test func sharedPoolIsNotCopied() throws {
        let (f, live) = moved(running: true, sharedPath: true)
        let p = Planner.plan(desired: f, live: live)
        let c = try #require(p.hosts[1].changes.first { $0.object.description == "vm/web-1" })
        #expect(c.reason.contains("shared pool, not copied"), "\(c.reason)")
        // The volume kvm2 sees is the one kvm1 owns: not refused as somebody else's, not deleted anywhere.
        #expect(!p.changes.contains { $0.object.description == "volume/vmdisk/web-1-disk0.qcow2" }, "\(p.changes.map(\.object))")
    }

    /// kvm2's ledger still lists web-1's disk (a move cut short after it recorded it) while web-1 stays on kvm1,
    /// and the pool is shared: the file is web-1's disk, so kvm2 never plans to delete it.
    @Test func staleEntryForASharedDiskDeletesNothing() throws {
        var live = Fixture.live(fleet)
        live.hosts[1].pools = live.hosts[0].pools
        live.hosts[1].volumes = live.hosts[0].volumes.filter { $0.name == "web-1-disk0.qcow2" }
        #expect(live.hosts[1].volumes.first?.owner != nil)
        let p = Planner.plan(desired: fleet, live: live)
        #expect(
            !p.changes.contains { $0.object.kind == .volume && $0.action == .delete }, "\(p.changes.map { "\($0.action) \($0.object)" })")
        // Without the VM declared on kvm1, the same entry is a plain deletion of a disk nobody declares.
        let gone = fleet.with { f in f.vms.removeAll { $0.name == "web-1" } }
        let q = Planner.plan(desired: gone, live: live)
        #expect(q.hosts[1].changes.contains { $0.object.description == "volume/vmdisk/web-1-disk0.qcow2" && $0.action == .delete })
    }

    @Test func imageDeletionAfterAMoveDestroysNothing() throws {
        let (f0, live0) = moved(running: true)
        let img = ImageSpec(name: "deb", source: "/x/deb.qcow2", sha256: String(repeating: "a", count: 64), format: .qcow2, pool: "vmdisk")
        let f = f0.with { f in
            f.images = [img]
            f.vms[1].disks[0].image = "deb"
        }
        var live = live0
        let imgVol = LiveVolume(
            pool: "vmdisk", name: img.volumeName, path: "/data/vmfs/\(img.volumeName)", format: "qcow2",
            capacity: .gib(2), allocation: .gib(1), owner: Fixture.mark(.image, "deb", ["sha256": img.sha256!]))
        live.hosts[0].volumes.append(imgVol)
        live.hosts[0].volumes = live.hosts[0].volumes.map { v in
            v.name == "web-1-disk0.qcow2" ? v.with { $0.backingPath = imgVol.path } : v
        }
        let p = Planner.plan(desired: f, live: live)
        // kvm2 gets the image before the move; kvm1's goes without --allow-destroy: the disk on it moves, not lost.
        #expect(p.hosts[1].changes.contains { $0.object.description == "image/deb" && $0.action == .create })
        let del = try #require(p.hosts[0].changes.first { $0.object.kind == .image && $0.action == .delete })
        #expect(!del.destructive)
        let c = try #require(p.hosts[1].changes.first { $0.object.description == "vm/web-1" })
        #expect(c.attributes.contains { ($0.after ?? "").contains("onto the image here") }, "\(c.attributes)")
    }

    /// db has a PCI GPU: refused whether it runs or not (libvirt 9.0 would move a stopped one without complaint),
    /// and nothing is made for it on the new host.
    @Test func pciVMMoveIsRefusedLiveAndOffline() throws {
        for running in [false, true] {
            let f = fleet.with { f in
                f.vms[0].host = "kvm2"
                f.devices[0].host = "kvm2"
            }
            var live = Fixture.live(fleet)
            live.hosts[1].nodeDevices = [Fixture.gpu.kind]
            live.hosts[1].pools = live.hosts[0].pools
            if running {
                live.hosts[0].domains = live.hosts[0].domains.map { d in
                    d.name != "db"
                        ? d
                        : d.with {
                            $0.state = .running
                            $0.live = $0.config
                        }
                }
            }
            let p = Planner.plan(desired: f, live: live)
            let c = try #require(p.hosts[1].changes.first { $0.object.description == "vm/db" })
            #expect(c.action == .refused && c.steps.isEmpty, "\(running): \(c)")
            #expect(c.reason.contains("cannot migrate a domain with <hostdev mode='subsystem' type='pci'>"), "\(c.reason)")
            #expect(
                !p.changes.contains { $0.parent?.name == "db" || ($0.object.name.contains("db") && $0.action != .refused) },
                "\(running): \(p.changes.map { "\($0.action) \($0.object)" })")
        }
    }
}
