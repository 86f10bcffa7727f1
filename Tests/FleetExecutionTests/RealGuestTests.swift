import FleetExecution
import FleetImages
import FleetManifest
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// The image `../shared/realguest/build.sh` builds: Debian 12, cloud-init 22.4 (NoCloud), qemu-guest-agent.
let realGuestImage = ProcessInfo.processInfo.environment["FLEET_REALGUEST_IMAGE"] ?? "/var/tmp/realguest/debian12.qcow2"

/// Boots a real operating system under TCG and checks from inside it, through the guest agent, that what
/// fleet delivers arrives: the cloud-init seed is read (user-data's runcmd ran), the VM has its own hostname
/// from image-level `hostname: true`, and root's ssh key and password came from cloud-init alone.
@Suite(
    .serialized,
    .enabled(
        if: systemURI != nil && FileManager.default.fileExists(atPath: realGuestImage),
        "set FLEET_TEST_LIBVIRT_URI and build \(realGuestImage) (shared/realguest/build.sh)"))
struct RealGuestTests {
    let uri = systemURI ?? "qemu:///system"

    @Test func cloudInitSeedHostnameKeysAndPasswordReachTheGuest() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetRealGuestTestKeyOnly000000000000000 ops@fleet"
        setenv("FT_REAL_ROOT_PW", "real-guest-pw", 1)
        try Data(
            """
            #cloud-config
            runcmd:
              - [sh, -c, "echo seeded-by-fleet > /var/tmp/fleet-marker"]

            """.utf8
        ).write(to: t.dir.appendingPathComponent("user-data.cfg"))
        let vm = "\(t.prefix)deb"
        let fleet = try t.load(
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(t.prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(t.prefix)pool"}}
            networks:
              \(t.prefix)net:
                mode: isolated
                subnet: 10.252.\(t.subnet).0/24
                dhcp: {range: [10.252.\(t.subnet).100, 10.252.\(t.subnet).200]}
            images:
              \(t.prefix)debian12:
                source: \(realGuestImage)
                format: qcow2
                pool: \(t.prefix)pool
                customize: {hostname: true}
            vms:
              \(vm):
                virt_type: qemu
                memory: 512MiB
                disks: [{image: \(t.prefix)debian12}]
                networks: [{network: \(t.prefix)net, ip: 10.252.\(t.subnet).20}]
                graphics: none
                guest_agent: true
                cloud_init:
                  user_data: user-data.cfg
                  ssh_authorized_keys: ["\(key)"]
                  root_password: {env: FT_REAL_ROOT_PW}
            """)
        // image-level hostname: true gives the VM a seed even without cloud_init:, and no libguestfs run.
        #expect(fleet.vms[0].guestAgent == true && fleet.vms[0].cloudInit?.sshAuthorizedKeys == [key])
        let inputs = ImageInputs.compute(fleet)
        #expect(inputs.imageDigests.isEmpty, "hostname alone is nothing to do on the image")
        let desired = inputs.apply(to: fleet)
        func plan() -> Plan {
            Planner.plan(
                desired: desired, live: StateReader(fleet: fleet.name).read(hosts: fleet.hosts),
                options: PlanOptions(customizationDigests: inputs.digests, seedInstanceIDs: inputs.seedIDs))
        }
        let report = t.apply(plan())
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results.filter { $0.outcome != .applied })")
        #expect(plan().changes.isEmpty, "\(plan().changes)")

        let conn = try Connection(uri: uri)
        let dom = try #require(try conn.domain(named: vm))
        let xml = try dom.xmlDesc()
        #expect(xml.contains("org.qemu.guest_agent.0"))
        // The seed volume is private to its owner (libvirt may chown it for QEMU, never widen it).
        let seed = try #require(try conn.storagePool(named: "\(t.prefix)pool")?.volume(named: "\(vm)-cidata.img"))
        let seedPath = try seed.path
        var st = stat()
        #expect(stat(seedPath, &st) == 0 && st.st_mode & 0o077 == 0, "seed mode \(String(st.st_mode & 0o7777, radix: 8))")

        // Boot: wait for the agent (30-60 s under TCG on an idle machine, minutes when other builds load it),
        // then for cloud-init's final stage.
        let agent = GuestAgent(domain: dom)
        try agent.waitForPing(timeout: 600)
        let done = try agent.exec("/usr/bin/cloud-init", ["status", "--wait"], timeout: 600)
        #expect(done.stdout.contains("status: done"), "cloud-init: exit \(done.exitCode) \(done.stdout) \(done.stderr)")

        let marker = try agent.exec("/bin/cat", ["/var/tmp/fleet-marker"])
        #expect(marker.exitCode == 0 && marker.stdout == "seeded-by-fleet\n", "marker: \(marker)")
        let hostname = try agent.exec("/bin/hostname", [])
        #expect(hostname.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == vm)
        let keys = try agent.exec("/bin/cat", ["/root/.ssh/authorized_keys"])
        #expect(keys.stdout.split(separator: "\n").contains { $0 == key }, "authorized_keys: \(keys.stdout)")
        let shadow = try agent.exec("/usr/bin/getent", ["shadow", "root"])
        let hash = shadow.stdout.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first.map(String.init) ?? ""
        #expect(hash.hasPrefix("$6$") && PasswordHash.verify("real-guest-pw", hash: hash), "root's shadow hash: \(hash.prefix(12))…")
        // The seed was read from the CD-ROM, by NoCloud ("config-disk (/dev/sr0)" in cloud-init 22.4).
        // (grep, not `cloud-init query`: Python's start-up alone takes a minute on a loaded TCG guest.)
        let data = "/run/cloud-init/instance-data.json"
        let sub = try agent.exec("/bin/grep", ["-o", "\"subplatform\": \"[^\"]*\"", data])
        #expect(sub.stdout.contains("(/dev/sr0)"), "subplatform: \(sub)")
        let platform = try agent.exec("/bin/grep", ["-o", "\"platform\": \"[^\"]*\"", data])
        #expect(platform.stdout.contains("\"nocloud\""), "platform: \(platform)")

        t.destroy(fleet)
        #expect(try conn.domain(named: vm) == nil)
    }
}

extension RealGuestTests {
    /// One guest, two boots, every check that needs a running OS after the seed itself:
    /// - static addresses: one on a NAT network (a DHCP host entry) and one on a bridge network (cloud-init
    ///   network-config, no DHCP there), both answering ping inside the test namespace;
    /// - readiness: `fleet apply --wait` returns once the VM's `wait: lease` is met, printing the lease address;
    ///   waiting for `agent` returns the agent's addresses (the bridge one included); `fleet show` prints them;
    /// - live vCPU hot-plug and balloon seen from inside through the agent;
    /// - a snapshot of the running guest with an agent (and libvirt's refusal of QUIESCE for such snapshots);
    /// - reimage to a new image version keeps MAC, addresses and hostname and boots the new disk; the old
    ///   version is removed;
    /// - a partial destroy (domain gone, seed deleted by hand) converges on re-apply; destroy leaves the pool
    ///   directory without fleet's volumes and no ledger.
    @Test func staticAddressesReadinessLiveChangesAndLifecycle() throws {
        let started = Date()
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let s = t.subnet
        let natIP = "10.252.\(s).20"
        let lanIP = "10.253.\(s).20"
        // The bridge network's host bridge, in the daemon's namespace, with the host's side at .1.
        let br = "ftb" + t.fleetName.dropFirst(2).prefix(8)
        try netns("ip link add \(br) type bridge && ip addr add 10.253.\(s).1/24 dev \(br) && ip link set \(br) up")
        defer { _ = try? netns("ip link del \(br)") }

        // Image versions: the shared image, and a copy with other bytes (same OS) for the reimage.
        let imageB = t.dir.appendingPathComponent("debian12-b.qcow2").path
        try run("/usr/bin/qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=131072", realGuestImage, imageB])
        let shaA = try ImageSource.sha256(ofFile: realGuestImage)
        let shaB = try ImageSource.sha256(ofFile: imageB)
        let vm = "\(t.prefix)deb"
        let pool = "\(t.prefix)pool"
        func manifest(
            source: String, sha: String, vcpus: Int = 1, memory: String = "512MiB", wait: String = "lease",
            state: String = "running", snapshots: [String] = []
        ) -> String {
            """
            fleet: \(t.fleetName)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(pool): {type: dir, path: "/var/lib/libvirt/images/\(pool)"}}
            networks:
              \(t.prefix)nat:
                mode: nat
                subnet: 10.252.\(s).0/24
                dhcp: {range: [10.252.\(s).100, 10.252.\(s).200]}
              \(t.prefix)lan:
                mode: bridge
                bridge: \(br)
                subnet: 10.253.\(s).0/24
                gateway: 10.253.\(s).1
                dns: [10.253.\(s).1]
            images:
              \(t.prefix)debian12:
                source: \(source)
                checksum: "sha256:\(sha)"
                format: qcow2
                pool: \(pool)
                customize: {hostname: true}
            vms:
              \(vm):
                virt_type: qemu
                vcpus: \(vcpus)
                max_vcpus: 2
                memory: \(memory)
                max_memory: 512MiB
                disks: [{image: \(t.prefix)debian12}]
                networks:
                  - {network: \(t.prefix)nat, ip: \(natIP)}
                  - {network: \(t.prefix)lan, ip: \(lanIP)}
                graphics: none
                guest_agent: true
                wait: \(wait)
                state: \(state)
                snapshots: [\(snapshots.joined(separator: ", "))]
            """
        }

        // 1. First boot through the CLI: apply returns once the DHCP lease is there, and prints it.
        let fleet1 = try t.load(manifest(source: realGuestImage, sha: shaA))
        #expect(fleet1.networks.first { $0.mode == .bridge }?.leases.isEmpty == true, "no DHCP host entry on a bridge")
        #expect(fleet1.vms[0].cloudInit?.nics?.count == 2)
        var mark = Date()
        let apply1 = try fleetCLI(["apply", t.dir.path, "--yes", "--wait=600"])
        #expect(apply1.status == 0, "\(apply1.stdout)\n\(apply1.stderr)")
        #expect(apply1.stdout.contains("\(natIP)/24 (DHCP lease)"), "\(apply1.stdout)")
        let bootSeconds = Date().timeIntervalSince(mark)
        let dom = try #require(try conn.domain(named: vm))
        let macs = try DomainMapping.config(fromXML: dom.xmlDesc()).nics.compactMap(\.mac)
        #expect(macs == fleet1.vms[0].networks.map(\.mac))

        // 2. Waiting for the agent: it reports the bridge address, which no lease knows.
        let agentWait = Readiness.wait(for: [.init(host: "local", uri: uri, vm: vm, wait: .agent)], timeout: 600)
        #expect(agentWait.first?.error == nil, "\(String(describing: agentWait.first?.error))")
        let addrs = agentWait.first?.addresses ?? []
        #expect(addrs.contains { $0.address == natIP && $0.source == .lease }, "\(addrs)")
        #expect(addrs.contains { $0.address == lanIP && $0.prefix == 24 && $0.source == .agent }, "\(addrs)")
        let agent = GuestAgent(domain: dom)
        try agent.waitForPing(timeout: 300)
        _ = try agent.exec("/usr/bin/cloud-init", ["status", "--wait"], timeout: 600)
        #expect(try pingFromNamespace(natIP), "\(natIP) answers in fleet-test")
        #expect(try pingFromNamespace(lanIP), "\(lanIP) answers on bridge \(br)")
        let eni = try agent.exec("/bin/cat", ["/etc/network/interfaces.d/50-cloud-init"])
        #expect(eni.stdout.contains("address \(lanIP)/24") && eni.stdout.contains("gateway 10.253.\(s).1"), "\(eni.stdout)")
        #expect(try agent.exec("/bin/hostname", []).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == vm)
        let show = try fleetCLI(["show", t.dir.path, "--wide"])
        #expect(show.stdout.contains("\(lanIP)/24 (guest agent)") && show.stdout.contains("\(natIP)/24 (DHCP lease)"), "\(show.stdout)")

        // 3. Live vCPU hot-plug and balloon, seen from inside.
        func memTotalKiB() throws -> Int {
            let m = try agent.exec("/bin/grep", ["MemTotal", "/proc/meminfo"]).stdout
            return Int(m.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        let memBefore = try memTotalKiB()
        let fleet2 = try t.load(manifest(source: realGuestImage, sha: shaA, vcpus: 2, memory: "384MiB"))
        let live = t.apply(t.plan(fleet2))
        #expect(live.failed == 0 && live.skipped == 0, "\(live.results.filter { $0.outcome != .applied })")
        var vcpus: [[String: Any]] = []
        for _ in 0..<30 {
            vcpus = try agent.command("guest-get-vcpus") as? [[String: Any]] ?? []
            if vcpus.count == 2 { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(vcpus.count == 2, "guest-get-vcpus: \(vcpus)")
        // A hot-plugged CPU arrives offline unless a udev rule onlines it; online it and count it.
        if let off = vcpus.first(where: { $0["online"] as? Bool == false }), let id = off["logical-id"] as? Int {
            _ = try agent.command("guest-set-vcpus", ["vcpus": [["logical-id": id, "online": true]]])
        }
        #expect(try agent.exec("/usr/bin/nproc", []).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        var memAfter = memBefore
        for _ in 0..<30 {
            memAfter = try memTotalKiB()
            if memAfter <= 384 * 1024 { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(memBefore > 400 * 1024 && memAfter <= 384 * 1024 && memAfter > 256 * 1024, "MemTotal \(memBefore) KiB → \(memAfter) KiB")
        // Once the balloon has settled, the running guest matches the manifest.
        var settled = t.plan(fleet2)
        for _ in 0..<30 where !settled.changes.isEmpty {
            Thread.sleep(forTimeInterval: 1)
            settled = t.plan(fleet2)
        }
        #expect(settled.changes.isEmpty, "\(settled.changes)")
        func uptime(_ a: GuestAgent) throws -> Double {
            Double(try a.exec("/bin/cat", ["/proc/uptime"]).stdout.split(separator: " ").first ?? "") ?? -1
        }
        let upBefore = try uptime(agent)

        // 4. A snapshot of the running guest with its agent. libvirt 9.0 quiesces only disk-only (external)
        // snapshots and refuses QUIESCE for the full-system ones fleet takes: that refusal is checked here.
        let quiesce = #expect(throws: LibvirtError.self) {
            _ = try dom.createSnapshot(xml: "<domainsnapshot><name>\(t.prefix)q</name></domainsnapshot>", flags: [.quiesce])
        }
        #expect("\(String(describing: quiesce))".contains("DISK_ONLY"), "\(String(describing: quiesce))")
        mark = Date()
        let fleet3 = try t.load(manifest(source: realGuestImage, sha: shaA, vcpus: 2, memory: "384MiB", snapshots: ["s1"]))
        let snap = t.apply(t.plan(fleet3))
        #expect(snap.failed == 0 && snap.skipped == 0, "\(snap.results.filter { $0.outcome != .applied })")
        let snapSeconds = Date().timeIntervalSince(mark)
        #expect(try dom.snapshot(named: "s1") != nil && dom.isActive)
        let upAfter = try uptime(agent)
        #expect(upAfter > upBefore, "the guest kept running: uptime \(upBefore) s → \(upAfter) s")
        let unsnap = t.apply(t.plan(fleet2), allowDestroy: true)
        #expect(unsnap.failed == 0 && unsnap.skipped == 0, "\(unsnap.results.filter { $0.outcome != .applied })")

        // 5. Reimage to the new version through the CLI, waiting for the agent this time.
        _ = try agent.exec("/bin/sh", ["-c", "echo old > /root/old-disk && sync"])
        try Data(manifest(source: imageB, sha: shaB, vcpus: 2, memory: "384MiB", wait: "agent").utf8)
            .write(to: t.dir.appendingPathComponent("fleet.yaml"))
        mark = Date()
        let apply2 = try fleetCLI(["apply", t.dir.path, "--yes", "--allow-destroy", "--allow-restart", "--wait=600"])
        let reimageSeconds = Date().timeIntervalSince(mark)
        #expect(apply2.status == 0, "\(apply2.stdout)\n\(apply2.stderr)")
        #expect(apply2.stdout.contains("\(lanIP)/24 (guest agent)"), "\(apply2.stdout)")
        let dom2 = try #require(try conn.domain(named: vm))
        #expect(try DomainMapping.config(fromXML: dom2.xmlDesc()).nics.compactMap(\.mac) == macs, "MACs kept")
        let agent2 = GuestAgent(domain: dom2)
        _ = try agent2.exec("/usr/bin/cloud-init", ["status", "--wait"], timeout: 600)
        #expect(try agent2.exec("/bin/hostname", []).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == vm)
        #expect(try agent2.exec("/bin/cat", ["/root/old-disk"]).exitCode != 0, "the new disk does not hold the old one's file")
        #expect(try pingFromNamespace(natIP) && pingFromNamespace(lanIP), "both addresses kept")
        let p = try #require(try conn.storagePool(named: pool))
        let overlay = try #require(try p.volume(named: "\(vm)-disk0.qcow2"))
        let newVersion = "\(t.prefix)debian12-\(shaB.prefix(12)).qcow2"
        let oldVersion = "\(t.prefix)debian12-\(shaA.prefix(12)).qcow2"
        #expect(try overlay.xmlDesc().contains(newVersion), "the overlay is backed by the new version")
        #expect(try p.volume(named: oldVersion) == nil, "the old version, backing nothing, is removed")

        // 5b. Waiting for ssh, from inside the daemon's namespace (where the guest's addresses are routed): port 22
        // of the reimaged guest (sshd with the host keys cloud-init made at its first boot). With sshd stopped, the
        // same wait reports what it is waiting for and times out.
        let sshTarget = Readiness.Target(host: "local", uri: uri, vm: vm, wait: .sshPort)
        let sshWait = try inTestNamespace { Readiness.wait(for: [sshTarget], timeout: 300) }
        #expect(sshWait.first?.error == nil, "\(String(describing: sshWait.first?.error))")
        #expect(sshWait.first?.addresses.contains { $0.address == natIP } == true, "\(sshWait.first?.addresses ?? [])")
        #expect(try agent2.exec("/bin/systemctl", ["stop", "ssh.service"]).exitCode == 0)
        let closed = try inTestNamespace { Readiness.wait(for: [sshTarget], timeout: 6, poll: 1) }
        let closedError = closed.first?.error.map { "\($0)" } ?? "no error"
        #expect(closedError.contains("waiting for port 22 on"), "\(closedError)")
        #expect(try agent2.exec("/bin/systemctl", ["start", "ssh.service"]).exitCode == 0)

        // 6. A partial destroy: the domain goes (as if destroy were killed right after), then the seed is deleted
        // by hand. Re-applying (stopped, no third boot) converges.
        let fleet4 = try t.load(manifest(source: imageB, sha: shaB, vcpus: 2, memory: "384MiB", wait: "agent", state: "stopped"))
        var partial = t.plan(Fleet(name: fleet4.name, hosts: fleet4.hosts))
        for h in partial.hosts.indices { partial.hosts[h].changes.removeAll { $0.object.kind != .vm } }
        #expect(!partial.changes.isEmpty)
        let half = t.apply(partial, allowDestroy: true)
        #expect(half.failed == 0, "\(half.results.filter { $0.outcome != .applied })")
        #expect(try conn.domain(named: vm) == nil)
        try p.volume(named: "\(vm)-cidata.img")?.delete()
        let again = t.apply(t.plan(fleet4))
        #expect(again.failed == 0 && again.skipped == 0, "\(again.results.filter { $0.outcome != .applied })")
        #expect(t.plan(fleet4).changes.isEmpty, "\(t.plan(fleet4).changes)")
        #expect(try p.volume(named: "\(vm)-cidata.img") != nil)

        // 7. destroy: no volume of fleet's left in the pool directory, no ledger.
        let poolDir = "/var/lib/libvirt/images/\(pool)"
        let destroy = try fleetCLI(["destroy", t.dir.path, "--yes"])
        #expect(destroy.status == 0, "\(destroy.stdout)\n\(destroy.stderr)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: poolDir)) ?? []
        #expect(left.isEmpty, "left in \(poolDir): \(left)")
        #expect(try conn.domain(named: LedgerName.of(t.fleetName)) == nil, "no ledger")
        print(
            "RealGuestTests timings: first boot to lease \(Int(bootSeconds)) s, snapshot \(Int(snapSeconds)) s, "
                + "reimage to agent \(Int(reimageSeconds)) s, whole test \(Int(Date().timeIntervalSince(started))) s")
    }

    /// Runs `body` on a thread that has joined the daemon's network namespace (threads it starts join it too), so
    /// fleet's own sockets reach the guests' addresses, as they would from a host on the guests' network.
    func inTestNamespace<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
        let fd = open("/run/netns/fleet-test", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open /run/netns/fleet-test: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let box = NamespaceResult<T>()
        let done = DispatchSemaphore(value: 0)
        Thread {
            // 0x4000_0000: CLONE_NEWNET.
            if joinNamespace(fd, 0x4000_0000) == 0 { box.value = body() } else { box.error = errno }
            done.signal()
        }.start()
        done.wait()
        guard let v = box.value else { throw TestFailure("setns(fleet-test): \(String(cString: strerror(box.error)))") }
        return v
    }

    /// Runs `script` inside the daemon's network namespace (the test's own oracle; fleet never shells out).
    @discardableResult
    func netns(_ script: String) throws -> String {
        let r = try runCapturing("/bin/sh", ["-c", "ip netns exec fleet-test sh -c '\(script)'"])
        guard r.status == 0 else { throw TestFailure("ip netns exec fleet-test \(script): \(r.stderr)") }
        return r.stdout
    }

    /// ping from inside fleet-test, retried for up to a minute (the guest may still be bringing links up).
    func pingFromNamespace(_ ip: String) throws -> Bool {
        for _ in 0..<20 {
            let r = try runCapturing("/usr/sbin/ip", ["netns", "exec", "fleet-test", "ping", "-c", "1", "-W", "2", ip])
            if r.status == 0 { return true }
            Thread.sleep(forTimeInterval: 1)
        }
        return false
    }

    /// The `fleet` binary next to the test bundle, as users run it.
    func fleetCLI(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        var dirs: [URL] = []
        for b in [Bundle.main] + Bundle.allBundles { dirs += [b.bundleURL.deletingLastPathComponent(), b.bundleURL] }
        let candidates = dirs.map { $0.appendingPathComponent("fleet") }
        guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
        else { throw TestFailure("no fleet binary near \(dirs.map(\.path))") }
        return try runCapturing(exe.path, args)
    }

    func runCapturing(_ path: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("ft-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: err) }
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// What the namespace thread of `inTestNamespace` hands back.
private final class NamespaceResult<T>: @unchecked Sendable {
    var value: T?
    var error: Int32 = 0
}

/// setns(2), which Glibc's Swift module does not export (it is behind _GNU_SOURCE).
@_silgen_name("setns")
private func joinNamespace(_ fd: Int32, _ nstype: Int32) -> Int32
