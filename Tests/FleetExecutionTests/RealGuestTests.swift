import FleetTestSupport
import FleetExecution
import FleetImages
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation
import Libvirt
import Testing

/// The image `../shared/realguest/build.sh` builds: Debian 12, cloud-init 22.4 (NoCloud), qemu-guest-agent.
let realGuestImage = ProcessInfo.processInfo.environment["FLEET_REALGUEST_IMAGE"] ?? "/var/tmp/realguest/debian12.qcow2"

/// Boots a real operating system under TCG and checks from inside it, through the guest agent, that what
/// fleet delivers arrives: the cloud-init seed is read (user-data's runcmd ran), the VM has its own hostname
/// from image-level `hostname: true`, and root's ssh key and password came from cloud-init alone.
@Suite(.serialized, .enabled(if: systemURI != nil && FileManager.default.fileExists(atPath: realGuestImage),
                             "set FLEET_TEST_LIBVIRT_URI and build \(realGuestImage) (shared/realguest/build.sh)"))
struct RealGuestTests {
    let uri = systemURI ?? "qemu:///system"

    @Test func cloudInitSeedHostnameKeysAndPasswordReachTheGuest() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetRealGuestTestKeyOnly000000000000000 ops@fleet"
        setenv("FT_REAL_ROOT_PW", "real-guest-pw", 1)
        try Data("""
            #cloud-config
            runcmd:
              - [sh, -c, "echo seeded-by-fleet > /var/tmp/fleet-marker"]

            """.utf8).write(to: t.dir.appendingPathComponent("user-data.cfg"))
        let vm = "\(t.prefix)deb"
        let fleet = try t.load("""
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
            Planner.plan(desired: desired, live: StateReader(fleet: fleet.name).read(hosts: fleet.hosts),
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

/// qemu-guest-agent through libvirt (virDomainQemuAgentCommand).
struct GuestAgent {
    let domain: Domain

    struct Result: CustomStringConvertible {
        var exitCode: Int
        var stdout: String
        var stderr: String
        var description: String { "exit \(exitCode), stdout \(stdout.debugDescription), stderr \(stderr.debugDescription)" }
    }

    func command(_ execute: String, _ arguments: [String: Any]? = nil, timeout: Int32 = 10) throws -> Any? {
        var cmd: [String: Any] = ["execute": execute]
        if let arguments { cmd["arguments"] = arguments }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: cmd), as: UTF8.self)
        let reply = try domain.qemuAgentCommand(json, timeout: .seconds(timeout))
        let obj = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
        return obj?["return"]
    }

    /// Polls guest-ping until the agent answers; the guest is booting meanwhile.
    func waitForPing(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            do { _ = try command("guest-ping", timeout: 5); return } catch { last = "\(error)" }
            guard try domain.isActive else { throw TestFailure("the guest stopped while booting") }
            Thread.sleep(forTimeInterval: 3)
        }
        throw TestFailure("no guest agent after \(Int(timeout)) s: \(last)")
    }

    /// guest-exec with captured output, then guest-exec-status until it exits.
    func exec(_ path: String, _ args: [String], timeout: TimeInterval = 120) throws -> Result {
        guard let r = try command("guest-exec", ["path": path, "arg": args, "capture-output": true]) as? [String: Any],
              let pid = r["pid"] as? Int else { throw TestFailure("guest-exec \(path): no pid") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let s = try command("guest-exec-status", ["pid": pid]) as? [String: Any], s["exited"] as? Bool == true {
                func text(_ k: String) -> String {
                    (s[k] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
                }
                return Result(exitCode: s["exitcode"] as? Int ?? -1, stdout: text("out-data"), stderr: text("err-data"))
            }
            Thread.sleep(forTimeInterval: 1)
        }
        throw TestFailure("\(path) \(args) did not finish within \(Int(timeout)) s")
    }
}
