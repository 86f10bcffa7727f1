import FleetModel
import Testing

@testable import FleetPlanning

/// The preflight checks as a pure function of the VMs and a host's facts (docs/planning.md, "Preflight"), and how the
/// planner turns a refusal into the VM's one change with nothing of it made.
@Suite struct PreflightTests {
    static let info = HostInfo(
        hostname: "kvm1", cpuModel: "x86_64", cpus: 4, mhz: 2400, sockets: 1, cores: 4, threads: 1, memory: .gib(16),
        libvirtVersion: "9.0.0", hypervisor: "QEMU", hypervisorVersion: "7.2.0")
    static let qemu = ProcessLabel(uid: 64055, gid: 64055)
    static let gpuAddress = PCIAddress(parsing: "0000:3b:00.0")!
    static let audioAddress = PCIAddress(parsing: "0000:3b:00.1")!

    static func pool(
        available: ByteSize = .gib(100), permissions: PathPermissions? = PathPermissions(mode: 0o711, owner: 0, group: 0)
    )
        -> LivePool
    {
        LivePool(
            name: "vmdisk", uuid: "u", active: true, autostart: true, spec: PoolSpec(name: "vmdisk", type: .dir, path: "/data/vmfs"),
            capacity: .gib(200), available: available, permissions: permissions)
    }

    static func host(
        free: ByteSize? = .gib(8), pool: LivePool = pool(), iommu: Bool? = true, pci: [LivePCIDevice]? = nil,
        domains: [LiveDomain] = [], nodeDevices: [DeviceKind]? = nil
    ) -> LiveHost {
        var h = LiveHost(name: "kvm1", uri: "qemu:///system", info: info, domains: domains, pools: [pool], nodeDevices: nodeDevices)
        h.facts = HostFacts(freeMemory: free, iommu: iommu, qemuUser: qemu, pciDevices: pci)
        return h
    }

    static func vm(
        _ name: String, memory: ByteSize = .gib(1), vcpus: Int = 1, disks: [DiskSpec]? = nil, hostdevs: [DeviceSpec] = []
    )
        -> VMSpec
    {
        VMSpec(
            name: name, host: "kvm1", vcpus: vcpus, memory: memory,
            disks: disks ?? [DiskSpec(name: "disk0", size: .gib(10), pool: "vmdisk")], hostdevs: hostdevs)
    }

    static func check(_ vms: [VMSpec], _ live: LiveHost, images: [String: ImageSpec] = [:]) -> PreflightResult {
        Preflight.check(host: "kvm1", vms: vms, images: images, live: live)
    }

    @Test func aHostWithRoomPassesEverything() {
        let r = Self.check([Self.vm("a"), Self.vm("b")], Self.host())
        #expect(r.refusals.isEmpty, "\(r.refusals)")
        #expect(r.warnings.isEmpty, "\(r.warnings)")
    }

    @Test func moreMemoryThanTheHostHasIsRefusedWithTheFix() {
        let r = Self.check([Self.vm("big", memory: .gib(64))], Self.host(free: nil))
        let why = r.refusals["big"] ?? ""
        #expect(why.contains("asks for 64GiB of memory and host kvm1 has 16GiB in all"), "\(why)")
        #expect(why.contains("fix: lower its memory:"), "\(why)")
    }

    @Test func moreVcpusThanHostCPUsIsRefused() {
        let r = Self.check([Self.vm("wide", vcpus: 8)], Self.host())
        #expect(r.refusals["wide"]?.contains("asks for 8 vCPUs and host kvm1 has 4 CPUs") == true, "\(r.refusals)")
    }

    @Test func startsBeyondFreeMemoryAreRefusedInNameOrder() {
        // 8 GiB free: a (3) and b (3) fit, c (3) does not, d (1) still does.
        let vms = ["d", "c", "b", "a"].map { Self.vm($0, memory: $0 == "d" ? .gib(1) : .gib(3)) }
        let r = Self.check(vms, Self.host(free: .gib(8)))
        #expect(Set(r.refusals.keys) == ["c"], "\(r.refusals)")
        #expect(r.refusals["c"]?.contains("has 8GiB of memory free") == true, "\(r.refusals)")
        #expect(r.refusals["c"]?.contains("take 6GiB") == true, "\(r.refusals)")
    }

    @Test func aRunningVMCountsOnlyItsGrowth() {
        let v = Self.vm("a", memory: .gib(6))
        let cfg = DomainConfig(vcpus: 1, maxVcpus: 1, memory: .gib(4), maxMemory: .gib(8))
        let dom = LiveDomain(name: "a", uuid: "u-a", id: 1, state: .running, config: cfg, live: cfg)
        #expect(Self.check([v], Self.host(free: .gib(3), domains: [dom])).refusals.isEmpty)
        #expect(Self.check([v], Self.host(free: .gib(1), domains: [dom])).refusals["a"] != nil)
        var stopped = v
        stopped.state = .stopped
        #expect(Self.check([stopped], Self.host(free: .gib(1))).refusals.isEmpty)
    }

    /// A guest already running with more than the host has (overcommitted by hand) is left alone while nothing
    /// about it grows: a no-op plan stays empty. Growing it further is refused.
    @Test func aRunningGuestBiggerThanTheHostIsNotRefusedUnlessItGrows() {
        let cfg = DomainConfig(vcpus: 8, maxVcpus: 8, memory: .gib(32), maxMemory: .gib(32))
        let dom = LiveDomain(name: "a", uuid: "u-a", id: 1, state: .running, config: cfg, live: cfg)
        let same = Self.vm("a", memory: .gib(32), vcpus: 8)
        #expect(Self.check([same], Self.host(domains: [dom])).refusals.isEmpty)
        let more = Self.vm("a", memory: .gib(32), vcpus: 9)
        #expect(Self.check([more], Self.host(domains: [dom])).refusals["a"]?.contains("asks for 9 vCPUs") == true)
    }

    @Test func aPoolQEMUCannotEnterIsRefused() {
        let closed = Self.pool(permissions: PathPermissions(mode: 0o700, owner: 65534, group: 65534))
        let r = Self.check([Self.vm("a")], Self.host(pool: closed))
        let why = r.refusals["a"] ?? ""
        #expect(why.contains("pool vmdisk's directory /data/vmfs is 0700 65534:65534"), "\(why)")
        #expect(why.contains("QEMU runs as 64055:64055") && why.contains("fix: chmod o+x /data/vmfs"), "\(why)")
        // Owned by QEMU's user: reachable with the owner's bits alone.
        let own = Self.pool(permissions: PathPermissions(mode: 0o700, owner: 64055, group: 0))
        #expect(Self.check([Self.vm("a")], Self.host(pool: own)).refusals.isEmpty)
        // Reachable only through a group libvirt does not report: a warning, not a refusal.
        let group = Self.pool(permissions: PathPermissions(mode: 0o750, owner: 0, group: 107))
        let g = Self.check([Self.vm("a")], Self.host(pool: group))
        #expect(g.refusals.isEmpty && g.warnings.count == 1, "\(g)")
    }

    @Test func reachabilityFollowsOwnerThenGroupThenOther() {
        let u = Self.qemu
        #expect(Preflight.reachable(PathPermissions(mode: 0o701, owner: 0, group: 0), by: u) == true)
        #expect(Preflight.reachable(PathPermissions(mode: 0o071, owner: 64055, group: 0), by: u) == false)
        #expect(Preflight.reachable(PathPermissions(mode: 0o710, owner: 0, group: 64055), by: u) == true)
        #expect(Preflight.reachable(PathPermissions(mode: 0o700, owner: 0, group: 0), by: u) == false)
        #expect(Preflight.reachable(PathPermissions(mode: 0o700, owner: 0, group: 0), by: ProcessLabel(uid: 0, gid: 0)) == true)
    }

    @Test func fullCopiesThatDoNotFitAreRefusedThinOnesWarn() {
        let image = ImageSpec(name: "deb", source: "deb.qcow2", pool: "vmdisk")
        let full = DiskSpec(name: "disk0", image: "deb", size: .gib(20), pool: "vmdisk", clone: .full)
        let thin = DiskSpec(name: "disk0", image: "deb", size: .gib(20), pool: "vmdisk", clone: .overlay)
        let small = Self.pool(available: .gib(30))
        let r = Self.check(
            [Self.vm("a", disks: [full]), Self.vm("b", disks: [full])], Self.host(pool: small), images: ["deb": image])
        #expect(r.refusals["a"] == nil && r.refusals["b"]?.contains("has 30GiB available") == true, "\(r.refusals)")
        #expect(r.refusals["b"]?.contains("fix: free space in vmdisk, use clone: overlay") == true, "\(r.refusals)")
        let t = Self.check(
            [Self.vm("a", disks: [thin]), Self.vm("b", disks: [thin])], Self.host(pool: small), images: ["deb": image])
        #expect(t.refusals.isEmpty, "\(t.refusals)")
        #expect(t.warnings.first?.contains("may grow to 40GiB") == true, "\(t.warnings)")
    }

    @Test func pciNeedsTheIOMMUAViableGroupAndAFreeDevice() {
        let gpu = DeviceSpec(name: "gpu0", host: "kvm1", kind: .pci(Self.gpuAddress))
        let audio = DeviceSpec(name: "gpu0-audio", host: "kvm1", kind: .pci(Self.audioAddress))
        let present: [DeviceKind] = [.pci(Self.gpuAddress), .pci(Self.audioAddress)]
        let vm = Self.vm("a", hostdevs: [gpu])

        let off = Self.check([vm], Self.host(iommu: false, nodeDevices: present))
        #expect(off.refusals["a"]?.contains("the IOMMU is off on host kvm1") == true, "\(off.refusals)")
        #expect(off.refusals["a"]?.contains("intel_iommu=on") == true)

        let noGroup = [LivePCIDevice(address: Self.gpuAddress, driver: "nouveau")]
        #expect(Self.check([vm], Self.host(pci: noGroup, nodeDevices: present)).refusals["a"]?.contains("in no IOMMU group") == true)

        let members = [Self.gpuAddress, Self.audioAddress]
        let shared = [
            LivePCIDevice(address: Self.gpuAddress, driver: "nouveau", iommuGroup: 12, iommuGroupMembers: members),
            LivePCIDevice(address: Self.audioAddress, driver: "snd_hda_intel", iommuGroup: 12, iommuGroupMembers: members)
        ]
        let r = Self.check([vm], Self.host(pci: shared, nodeDevices: present))
        #expect(r.refusals["a"]?.contains("IOMMU group 12 is not viable") == true, "\(r.refusals)")
        #expect(r.refusals["a"]?.contains("0000:3b:00.1 (bound to snd_hda_intel)") == true, "\(r.refusals)")
        // Passing the whole group, or a group whose other member is on vfio-pci, is viable.
        #expect(Self.check([Self.vm("a", hostdevs: [gpu, audio])], Self.host(pci: shared, nodeDevices: present)).refusals.isEmpty)
        var vfio = shared
        vfio[1].driver = "vfio-pci"
        #expect(Self.check([vm], Self.host(pci: vfio, nodeDevices: present)).refusals.isEmpty)

        // Held by another running domain.
        let other = LiveDomain(
            name: "b", uuid: "u-b", id: 2, state: .running,
            config: DomainConfig(vcpus: 1, maxVcpus: 1, memory: .gib(1), maxMemory: .gib(1), hostdevs: [.pci(Self.gpuAddress)]))
        let held = Self.check([vm], Self.host(pci: vfio, domains: [other], nodeDevices: present))
        #expect(held.refusals["a"]?.contains("is held by running domain b") == true, "\(held.refusals)")
    }

    @Test func aMissingUSBDeviceIsRefused() {
        let token = DeviceSpec(name: "token", host: "kvm1", kind: .usb(vendor: 0x287f, product: 0x00f8))
        let r = Self.check([Self.vm("a", hostdevs: [token])], Self.host(nodeDevices: []))
        #expect(r.refusals["a"] == "device token (usb 287f:00f8) is not present on host kvm1", "\(r.refusals)")
    }

    @Test func unknownFactsSkipTheirChecks() {
        var h = Self.host(free: nil, iommu: nil)
        h.info = nil
        h.facts.qemuUser = nil
        let gpu = DeviceSpec(name: "gpu0", host: "kvm1", kind: .pci(Self.gpuAddress))
        #expect(Self.check([Self.vm("a", memory: .gib(64), vcpus: 64, hostdevs: [gpu])], h).refusals.isEmpty)
    }

    /// The planner: a refused VM is one `refused` change, and nothing of it (disk, seed, image) is created.
    @Test func thePlanRefusesBeforeAnythingIsMade() {
        let image = ImageSpec(name: "deb", source: "deb.qcow2", pool: "vmdisk")
        var big = Self.vm("big", memory: .gib(64), disks: [DiskSpec(name: "disk0", image: "deb", size: .gib(10), pool: "vmdisk")])
        big.cloudInit = CloudInitSpec(userData: "#cloud-config\n")
        let fleet = Fleet(
            name: "lab", hosts: [HostSpec(name: "kvm1", uri: "qemu:///system")],
            pools: [PoolSpec(name: "vmdisk", type: .dir, path: "/data/vmfs")], images: [image], vms: [big, Self.vm("ok")])
        var live = Self.host()
        live.pools[0].owner = OwnerMark(fleet: "lab", kind: .pool, name: "vmdisk")
        live.pools[0].spec.autostart = nil
        let plan = Planner.plan(desired: fleet, live: LiveState(hosts: [live]))
        let about = plan.changes.filter { $0.object == ObjectRef(.vm, "big") || $0.parent == ObjectRef(.vm, "big") }
        #expect(about.map(\.action) == [.refused], "\(about)")
        #expect(!plan.changes.contains { $0.object.kind == .image }, "\(plan.changes.map(\.object))")
        #expect(plan.changes.contains { $0.object == ObjectRef(.vm, "ok") && $0.action == .create })
    }

    @Test func warningsReachThePlanAndItsText() {
        let image = ImageSpec(name: "deb", source: "deb.qcow2", pool: "vmdisk")
        let thin = DiskSpec(name: "disk0", image: "deb", size: .gib(50), pool: "vmdisk")
        let fleet = Fleet(
            name: "lab", hosts: [HostSpec(name: "kvm1", uri: "qemu:///system")], images: [image],
            vms: [Self.vm("a", disks: [thin])])
        let plan = Planner.plan(desired: fleet, live: LiveState(hosts: [Self.host(pool: Self.pool(available: .gib(20)))]))
        #expect(plan.hosts[0].warnings?.count == 1, "\(plan.hosts)")
        #expect(PlanRenderer().render(plan).contains("  warning: pool vmdisk: the new thin volumes may grow to 50GiB"))
        let markdown = MarkdownPlanRenderer().render(plan)
        #expect(markdown.contains("#### Preflight warnings"), "\(markdown)")
        #expect(markdown.contains("- host <code>kvm1</code>: pool vmdisk: the new thin volumes may grow to 50GiB"), "\(markdown)")
    }
}
