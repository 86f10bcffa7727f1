import FleetModel
import Testing

@testable import FleetPlanning

/// Issue 16 in plans: what disk growth does to the guest's filesystem, shares and their memory backing,
/// a missing share source, and the Ignition config's volume and digest.
@Suite struct GuestFeaturesPlanTests {
    let fleet = Fixture.fleet()

    func plan(_ live: LiveState, _ options: PlanOptions = PlanOptions(), fleet: Fleet) -> Plan {
        Planner.plan(desired: fleet, live: live, options: options)
    }

    @Test func growthSaysWhatReachesTheFilesystem() throws {
        // Running with the agent: the filesystem grows through it, a second step.
        var f = fleet.with { f in
            f.vms[1].disks[0].size = .gib(20)
            f.vms[1].guestAgent = true
        }
        var live = Fixture.live(fleet)
        for i in live.hosts[0].domains.indices {
            live.hosts[0].domains[i].config.guestAgent = true
            live.hosts[0].domains[i].live?.guestAgent = true
        }
        var c = try #require(plan(live, fleet: f).change("volume/vmdisk/web-1-disk0.qcow2"))
        #expect(c.action == .update && c.steps == [.resizeVolume(.gib(20)), .growGuestFilesystem])
        #expect(c.reason.contains("through the guest agent (growpart, resize2fs or xfs_growfs)"), "\(c.reason)")
        // Running without it: the block device only; cloud-init's growpart at the next boot.
        f = fleet.with { f in f.vms[1].disks[0].size = .gib(20) }
        c = try #require(plan(Fixture.live(fleet), fleet: f).change("volume/vmdisk/web-1-disk0.qcow2"))
        #expect(c.steps == [.resizeVolume(.gib(20))])
        #expect(c.reason.contains("the filesystem grows at the next boot (cloud-init growpart)"), "\(c.reason)")
        // Declared, but not yet in the running guest (the channel comes with a restart): the same.
        let pending = live.editing("web-1") { d in d.live?.guestAgent = false }
        let withAgent = fleet.with { f in
            f.vms[1].disks[0].size = .gib(20)
            f.vms[1].guestAgent = true
        }
        #expect(plan(pending, fleet: withAgent).change("volume/vmdisk/web-1-disk0.qcow2")?.steps == [.resizeVolume(.gib(20))])
        // Stopped (db), agent or not: at its next boot.
        f = fleet.with { f in
            f.vms[0].disks[0].size = .gib(8)
            f.vms[0].guestAgent = true
        }
        c = try #require(plan(live, fleet: f).change("volume/vmdisk/db-disk0.qcow2"))
        #expect(c.steps == [.resizeVolume(.gib(8))] && c.reason.contains("at its next boot"), "\(c)")
        // Shrinking stays refused.
        f = fleet.with { f in f.vms[1].disks[0].size = .gib(5) }
        #expect(plan(live, fleet: f).change("volume/vmdisk/web-1-disk0.qcow2")?.action == .refused)
    }

    @Test func sharesAreRestartClassAndVirtiofsAddsSharedMemory() throws {
        let data = ShareSpec(source: "/srv/data", target: "data")
        let f = fleet.with { f in f.vms[1].shares = [data] }
        let c = try #require(plan(Fixture.live(fleet), fleet: f).change("vm/web-1"))
        #expect(c.action == .updateRestart && c.steps == [.defineDomain, .restartDomain])
        #expect(
            c.attributes == [
                AttributeChange("share data", before: nil, after: "/srv/data (virtiofs)"),
                AttributeChange(
                    "memory_backing", before: "private", after: "memfd, shared (virtiofs needs guest memory shared with virtiofsd)")
            ], "\(c.attributes)")
        // In sync once the domain has both.
        let live = Fixture.live(fleet).editing("web-1") { d in
            d.config.shares = [data]
            d.config.sharedMemory = true
        }
        #expect(plan(live, fleet: f).change("vm/web-1") == nil)
        // Another mode is another device; a share no longer listed goes; shares: unset leaves them alone.
        let nine = f.with { f in f.vms[1].shares = [ShareSpec(source: "/srv/data", target: "data", mode: .p9, readonly: true)] }
        #expect(
            plan(live, fleet: nine).change("vm/web-1")?.attributes == [
                AttributeChange("share data", before: "/srv/data (virtiofs)", after: "/srv/data (9p, read-only)")
            ])
        let none = f.with { f in f.vms[1].shares = [] }
        #expect(
            plan(live, fleet: none).change("vm/web-1")?.attributes == [
                AttributeChange("share data", before: "/srv/data (virtiofs)", after: nil)
            ])
        #expect(plan(live, fleet: fleet).change("vm/web-1") == nil)
    }

    @Test func aMissingShareSourceIsRefused() throws {
        let f = fleet.with { f in f.vms[1].shares = [ShareSpec(source: "/srv/nope", target: "data")] }
        var o = PlanOptions()
        o.missingShareSources = ["web-1": ["/srv/nope"]]
        let c = try #require(plan(Fixture.live(fleet), o, fleet: f).change("vm/web-1"))
        #expect(
            c.action == .refused && c.reason == "share source /srv/nope does not exist on host kvm1; fix: create it, or correct shares:",
            "\(c.reason)")
        // A new VM refused for it gets nothing made: no disk, no Ignition volume.
        var new = f.vms[1]
        new.name = "web-9"
        new.ignition = IgnitionSpec(config: "/x/web.ign")
        let mac9 = MACAddress.stable(for: "lab/web-9/0")
        new.networks = [NICSpec(network: "nat0", mac: mac9, ip: IPv4Address(parsing: "192.168.150.19"))]
        let lease9 = DHCPLease(mac: mac9, name: "web-9", ip: IPv4Address(parsing: "192.168.150.19")!)
        let g = f.with { f in
            f.vms.append(new)
            f.networks[0].leases.append(lease9)
        }
        o.missingShareSources = ["web-9": ["/srv/nope"]]
        let p = plan(Fixture.live(fleet), o, fleet: g)
        #expect(p.change("vm/web-9")?.action == .refused)
        let made = p.changes.filter { $0.parent?.name == "web-9" || $0.object.name.contains("web-9") }.filter { $0.action != .refused }
        #expect(made.isEmpty, "\(made.map { "\($0.action) \($0.object)" })")
        // Its static lease is not added to the network either; it comes once the VM is no longer refused.
        #expect(p.change("network/nat0") == nil, "\(String(describing: p.change("network/nat0")))")
        o.missingShareSources = [:]
        let steps = plan(Fixture.live(fleet), o, fleet: g).change("network/nat0")?.steps ?? []
        #expect(steps == [.addLease(lease9)], "\(steps)")
        // A network created with it does not carry it.
        o.missingShareSources = ["web-9": ["/srv/nope"]]
        let fresh = plan(Fixture.live(fleet).without(network: "nat0"), o, fleet: g).change("network/nat0")
        #expect(
            fresh?.action == .create && fresh?.attributes.contains { $0.name == "lease web-9" } == false, "\(String(describing: fresh))")
        if case .network(let spec)? = fresh?.subject {
            #expect(spec.leases.map(\.name) == ["web-1"])
        } else {
            Issue.record("no network subject")
        }
    }

    @Test func ignitionVolumeAndDigest() throws {
        let f = fleet.with { f in f.vms[1].ignition = IgnitionSpec(config: "/m/web.ign") }
        var o = PlanOptions()
        o.ignitionDigests = ["web-1": "d1"]
        // Added to an existing VM: the volume is created, the fw_cfg entry waits for the next boot, no reimage.
        var p = plan(Fixture.live(fleet), o, fleet: f)
        let vol = try #require(p.change("volume/vmdisk/web-1-ignition.ign"))
        #expect(vol.action == .create && vol.steps == [.createIgnition] && vol.parent == ObjectRef(.vm, "web-1"))
        #expect(p.change("vm/web-1")?.attributes == [AttributeChange("ignition", before: nil, after: "fw_cfg opt/com.coreos/config")])
        #expect(p.change("volume/vmdisk/web-1-disk0.qcow2") == nil)
        // In place and current: nothing. A new file: the volume again, and the system disk made with the old one.
        var live = Fixture.live(fleet).editing("web-1") { d in d.config.ignitionFile = "/data/vmfs/web-1-ignition.ign" }
        live.hosts[0].volumes.append(
            LiveVolume(
                pool: "vmdisk", name: "web-1-ignition.ign", path: "/data/vmfs/web-1-ignition.ign", format: "raw", capacity: .mib(1),
                allocation: .mib(1), owner: Fixture.mark(.volume, "web", ["vm": "web-1", "role": "ignition", "digest": "d1"])))
        #expect(plan(live, o, fleet: f).changes.isEmpty, "\(plan(live, o, fleet: f).changes)")
        o.ignitionDigests = ["web-1": "d2"]
        p = plan(live, o, fleet: f)
        let again = try #require(p.change("volume/vmdisk/web-1-ignition.ign"))
        #expect(again.action == .replace && again.steps == [.deleteVolume, .createIgnition] && !again.destructive)
        // Dropping ignition: deletes the volume (not destructive) and the entry at the next boot.
        p = plan(live, o, fleet: fleet)
        let gone = try #require(p.change("volume/vmdisk/web-1-ignition.ign"))
        #expect(gone.action == .delete && !gone.destructive && gone.reason == "Ignition config no longer declared")
        #expect(p.change("vm/web-1")?.attributes == [AttributeChange("ignition", before: "fw_cfg opt/com.coreos/config", after: nil)])
    }

    @Test func aNewIgnitionConfigReimagesTheSystemDisk() throws {
        let images = ImagePlanTests()
        var f = images.fleet(sha: String(repeating: "a", count: 64), digest: "11111111")
        f.vms[0].ignition = IgnitionSpec(config: "/m/vm.ign")
        var live = images.live(for: f)
        live.hosts[0].volumes[1].owner?.attributes["ignition"] = "d1"
        live.hosts[0].volumes.append(
            LiveVolume(
                pool: "p", name: "vm-ignition.ign", path: "/p/vm-ignition.ign", format: "raw", capacity: .mib(1), allocation: .mib(1),
                owner: OwnerMark(fleet: "lab", kind: .volume, name: "vm", attributes: ["vm": "vm", "role": "ignition", "digest": "d1"])))
        live.hosts[0].domains[0].config.ignitionFile = "/p/vm-ignition.ign"
        var o = PlanOptions()
        o.ignitionDigests = ["vm": "d1"]
        #expect(plan(live, o, fleet: f).changes.isEmpty, "\(plan(live, o, fleet: f).changes)")
        o.ignitionDigests = ["vm": "d2"]
        let p = plan(live, o, fleet: f)
        let disk = try #require(p.change("volume/p/vm-disk0.qcow2"))
        #expect(disk.action == .replace && disk.destructive && disk.steps == [.deleteVolume, .createVolume])
        #expect(disk.attributes == [AttributeChange("ignition", before: "d1", after: "d2")])
        #expect(disk.reason.contains("Ignition runs at first boot only"), "\(disk.reason)")
        #expect(p.change("volume/p/vm-ignition.ign")?.action == .replace)
    }
}

extension LiveState {
    func editing(_ vm: String, _ edit: (inout LiveDomain) -> Void) -> LiveState {
        var s = self
        for h in s.hosts.indices {
            for d in s.hosts[h].domains.indices where s.hosts[h].domains[d].name == vm { edit(&s.hosts[h].domains[d]) }
        }
        return s
    }

    func without(network: String) -> LiveState {
        var s = self
        for h in s.hosts.indices { s.hosts[h].networks.removeAll { $0.name == network } }
        return s
    }
}
