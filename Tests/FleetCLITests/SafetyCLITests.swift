import FleetPlanning
import Foundation
import Testing

/// The command line never does more than asked: malformed targets, hand-edited plan files and concurrent runs
/// through two spellings of one URI. Runs the real binary.
@Suite struct TargetCLITests {
    /// A malformed target, or one that names nothing, is a usage error (exit 2) that changes nothing.
    @Test(arguments: [["m-vm"], ["vms/x"], ["vm/"], ["vm/no-such-vm"], ["vm/qs-vm-1", "pool/nothing"]])
    func aBadTargetIsAUsageErrorForEveryCommand(_ targets: [String]) throws {
        for command in ["plan", "apply", "destroy", "drift"] {
            var args = [command, "examples/quickstart", "--connect", "test:///default"]
            for t in targets { args += ["--target", t] }
            if command == "apply" || command == "destroy" { args.append("--yes") }
            let r = try ValidateCLITests.run(args)
            #expect(r.status == 2, "\(command) \(targets): \(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("--target"), "\(command) \(targets): \(r.stderr)")
            #expect(!r.stdout.contains("applied"), "\(command) \(targets) changed something: \(r.stdout)")
        }
    }
}

@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] != nil, "needs a real libvirtd"))
struct SafetyCLITests {
    let uri = ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"] ?? ""

    struct Scratch {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var prefix: String { "ft-\(hex)-" }
        var fleet: String { "ft\(hex)" }
        let dir: URL
        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("ft-\(hex)-cli")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
    }

    func virsh(_ args: [String]) -> (status: Int32, out: String) { FleetCLITests.virsh(uri, args) }

    /// A plan file with steps added by hand (deleting an unmanaged VM and network) or a hostile value is refused:
    /// apply recomputes the plan and runs only what the manifests and the hosts give.
    @Test func aTamperedPlanFileIsRefused() throws {
        let s = try Scratch()
        defer {
            _ = try? ValidateCLITests.run(["destroy", s.dir.path, "--yes"])
            virshCleanup(uri: uri, prefix: s.prefix, fleet: s.fleet)
            try? FileManager.default.removeItem(at: s.dir)
        }
        try Data(
            """
            fleet: \(s.fleet)
            hosts: {local: {uri: "\(uri)"}}
            networks: {\(s.prefix)net: {mode: isolated, subnet: 10.253.\(Int.random(in: 1...250)).0/24}}
            """.utf8
        ).write(to: s.dir.appendingPathComponent("fleet.yaml"))
        // The victims: objects nobody manages.
        let victimXML = s.dir.appendingPathComponent("victim.xml.txt")
        try Data(
            "<domain type='qemu'><name>\(s.prefix)victim</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
                .utf8
        ).write(to: victimXML)
        #expect(virsh(["define", victimXML.path]).status == 0)
        let netXML = s.dir.appendingPathComponent("victim-net.xml.txt")
        try Data("<network><name>\(s.prefix)victimnet</name></network>".utf8).write(to: netXML)
        #expect(virsh(["net-define", netXML.path]).status == 0)

        let planFile = s.dir.appendingPathComponent("p.plan").path
        let plan = try ValidateCLITests.run(["plan", s.dir.path, "--out", planFile])
        #expect(plan.status == 0, "\(plan.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: planFile)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600, "plan files are private")

        // Add deletions of the victims to the saved plan's first host.
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: planFile))) as? [String: Any])
        var inner = try #require(json["plan"] as? [String: Any])
        var hosts = try #require(inner["hosts"] as? [[String: Any]])
        var changes = try #require(hosts[0]["changes"] as? [[String: Any]])
        changes.append([
            "object": ["kind": "vm", "name": "\(s.prefix)victim"], "action": "delete", "attributes": [], "reason": "x",
            "steps": [["undefineDomain": [String: Any]()]], "destructive": false
        ])
        changes.append([
            "object": ["kind": "network", "name": "\(s.prefix)victimnet"], "action": "delete", "attributes": [], "reason": "x",
            "steps": [["undefineNetwork": [String: Any]()]], "destructive": false
        ])
        hosts[0]["changes"] = changes
        inner["hosts"] = hosts
        json["plan"] = inner
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: planFile))
        let tampered = try ValidateCLITests.run(["apply", planFile, "--yes"])
        #expect(tampered.status == 1, "\(tampered.stdout)\(tampered.stderr)")
        #expect(tampered.stderr.contains("differs from the saved plan"), "\(tampered.stderr)")
        #expect(virsh(["dominfo", "\(s.prefix)victim"]).status == 0, "the unmanaged VM survives")
        #expect(virsh(["net-info", "\(s.prefix)victimnet"]).status == 0, "the unmanaged network survives")
        #expect(virsh(["net-info", "\(s.prefix)net"]).status != 0, "nothing of the refused plan was applied")

        // A hostile step value: a clear error, never a trap.
        changes[0]["steps"] = [["setVcpus": ["_0": -1, "live": true]]]
        hosts[0]["changes"] = changes
        inner["hosts"] = hosts
        json["plan"] = inner
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: planFile))
        let hostile = try ValidateCLITests.run(["apply", planFile, "--yes"])
        #expect(hostile.status == 1, "\(hostile.stdout)\(hostile.stderr)")
        // Garbage and an old-format plan: clear errors.
        try Data("{\"format\": \(SavedPlan.currentFormat), \"plan\": 7}".utf8).write(to: URL(fileURLWithPath: planFile))
        let garbage = try ValidateCLITests.run(["apply", planFile, "--yes"])
        #expect(garbage.status == 1 && garbage.stderr.contains("not a valid saved plan"), "\(garbage.stderr)")
        try Data("{\"format\": \(SavedPlan.currentFormat - 1), \"plan\": {}}".utf8).write(to: URL(fileURLWithPath: planFile))
        let old = try ValidateCLITests.run(["apply", planFile, "--yes"])
        #expect(
            old.status == 1
                && old.stderr.contains("is not a plan saved by this version of `fleet plan --out` (format \(SavedPlan.currentFormat - 1))"),
            "\(old.stderr)")

        // An untouched plan file applies; a manifest edited after the plan makes it refused.
        #expect(try ValidateCLITests.run(["plan", s.dir.path, "--out", planFile]).status == 0)
        try Data("# edited\n".utf8).write(to: s.dir.appendingPathComponent("extra.yaml"))
        let edited = try ValidateCLITests.run(["apply", planFile, "--yes"])
        #expect(edited.status == 1 && edited.stderr.contains("manifests changed"), "\(edited.stdout)\(edited.stderr)")
        try FileManager.default.removeItem(at: s.dir.appendingPathComponent("extra.yaml"))
        let ok = try ValidateCLITests.run(["apply", planFile, "--yes"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(virsh(["net-info", "\(s.prefix)net"]).status == 0)

        #expect(virsh(["undefine", "\(s.prefix)victim"]).status == 0)
        #expect(virsh(["net-undefine", "\(s.prefix)victimnet"]).status == 0)
    }

    /// Two applies of one fleet at once, through two spellings of the daemon's URI (two processes that share no
    /// lock file): they serialise, both finish, and the ledger lists every object.
    @Test func concurrentAppliesThroughTwoURISpellingsSerialise() throws {
        let s = try Scratch()
        defer {
            _ = try? ValidateCLITests.run(["destroy", s.dir.path, "--yes"])
            virshCleanup(uri: uri, prefix: s.prefix, fleet: s.fleet)
            for i in 0..<8 { try? FileManager.default.removeItem(atPath: "/var/lib/libvirt/images/\(s.prefix)p\(i)") }
            try? FileManager.default.removeItem(at: s.dir)
        }
        let pools = (0..<8).map { "  \(s.prefix)p\($0): {type: dir, path: /var/lib/libvirt/images/\(s.prefix)p\($0)}" }.joined(
            separator: "\n")
        try Data(
            """
            fleet: \(s.fleet)
            hosts: {local: {uri: "\(uri)"}}
            pools:
            \(pools)
            networks: {\(s.prefix)net: {mode: isolated, subnet: 10.253.\(Int.random(in: 1...250)).0/24}}
            """.utf8
        ).write(to: s.dir.appendingPathComponent("fleet.yaml"))
        let socket = ["/run/libvirt/libvirt-sock", "/var/run/libvirt/libvirt-sock"].first { FileManager.default.fileExists(atPath: $0) }
        let spellings = [uri, "qemu+unix:///system?socket=\(try #require(socket))"]
        var procs: [(Process, Pipe)] = []
        for u in spellings {
            let p = Process()
            p.executableURL = try ValidateCLITests.fleetBinary()
            p.arguments = ["apply", s.dir.path, "--yes", "--connect", u, "--lock-timeout", "120", "--parallelism", "4"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            procs.append((p, out))
        }
        for (p, out) in procs {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(text)")
        }
        let ledger = virsh(["dumpxml", "--inactive", "fleet-ledger-\(s.fleet)"]).out
        for i in 0..<8 { #expect(ledgerLists(ledger, "\(s.prefix)p\(i)"), "pool p\(i) missing from the ledger") }
        #expect(ledgerLists(ledger, "\(s.prefix)net"))
        let plan = try ValidateCLITests.run(["plan", s.dir.path, "--detailed-exitcode"])
        #expect(plan.status == 0, "\(plan.stdout)")
        let destroy = try ValidateCLITests.run(["destroy", s.dir.path, "--yes"])
        #expect(destroy.status == 0, "\(destroy.stdout)\(destroy.stderr)")
        #expect(virsh(["dominfo", "fleet-ledger-\(s.fleet)"]).status != 0, "destroy removes the ledger with the last entry")
    }
}

/// Whether a ledger domain's XML (as virsh prints it, either quote style) has an entry for `object`.
func ledgerLists(_ ledger: String, _ object: String) -> Bool {
    ledger.contains("object=\"\(object)\"") || ledger.contains("object='\(object)'")
}

extension SafetyCLITests {
    /// teamA/web and teamB/web both say `fleet: web`-alike: destroying teamB's tree leaves teamA's network, and says whose it is.
    @Test func twoTreesWithOneFleetNameKeepTheirObjects() throws {
        let s = try Scratch()
        let a = s.dir.appendingPathComponent("teamA/web")
        let b = s.dir.appendingPathComponent("teamB/web")
        defer {
            _ = try? ValidateCLITests.run(["destroy", a.path, "--yes"])
            virshCleanup(uri: uri, prefix: s.prefix, fleet: s.fleet)
            try? FileManager.default.removeItem(at: s.dir)
        }
        for d in [a, b] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        try Data(
            """
            fleet: \(s.fleet)
            hosts: {local: {uri: "\(uri)"}}
            networks: {\(s.prefix)net: {mode: isolated, subnet: 10.248.\(Int.random(in: 1...250)).0/24}}
            """.utf8
        ).write(to: a.appendingPathComponent("fleet.yaml"))
        try Data("fleet: \(s.fleet)\nhosts: {local: {uri: \"\(uri)\"}}\n".utf8).write(to: b.appendingPathComponent("fleet.yaml"))
        #expect(try ValidateCLITests.run(["apply", a.path, "--yes"]).status == 0)
        let destroy = try ValidateCLITests.run(["destroy", b.path, "--yes"])
        #expect(destroy.status == 1, "\(destroy.stdout)\(destroy.stderr)")
        #expect(destroy.stdout.contains("another manifest tree") && destroy.stdout.contains("teamA/web"), "\(destroy.stdout)")
        #expect(virsh(["net-info", "\(s.prefix)net"]).status == 0, "teamA's network survives teamB's destroy")
        #expect(try ValidateCLITests.run(["destroy", a.path, "--yes"]).status == 0)
        #expect(virsh(["net-info", "\(s.prefix)net"]).status != 0)
    }
}
