import FleetExecution
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// UEFI with secure boot and an emulated TPM on the real daemon, under TCG (OVMF from Debian's ovmf, swtpm):
/// the guest needs no OS, the firmware alone runs. Reads back what libvirt keeps on the host: the NVRAM file
/// (/var/lib/libvirt/qemu/nvram/NAME_VARS.fd) and the TPM state (/var/lib/libvirt/swtpm/UUID/).
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct FirmwareSystemTests {
    let uri = systemURI ?? "qemu:///system"

    func manifest(_ t: TestFleet, memory: String = "192MiB", description: String = "one", state: String = "running") -> String {
        """
        fleet: \(t.fleetName)
        hosts:
          local: {uri: "\(uri)"}
        vms:
          \(t.prefix)sb:
            virt_type: qemu
            machine: q35
            memory: \(memory)
            firmware: {type: uefi, secure_boot: true, enrolled_keys: true}
            tpm: {model: crb, version: "2.0"}
            description: \(description)
            state: \(state)
        """
    }

    /// What libvirt keeps for a running domain: the NVRAM path from its live XML, its TPM state directory.
    struct HostState {
        var nvram: String
        var tpmDir: String
    }

    func hostState(_ d: Domain) throws -> HostState {
        let xml = try d.xmlDesc()
        let nvram = try #require(
            xml.firstMatch(of: /<nvram[^>]*>([^<]+)<\/nvram>/).map { String($0.1) }, "no <nvram> in the live XML: \(xml)")
        return HostState(nvram: nvram, tpmDir: "/var/lib/libvirt/swtpm/\(try d.uuidString)")
    }

    func inode(_ path: String) throws -> UInt64 {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        return try #require((attrs[.systemFileNumber] as? NSNumber)?.uint64Value)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func apply(_ plan: Plan, keepNvram: Bool = false, allowDestroy: Bool = false) -> ApplyReport {
        var o = ApplyOptions()
        o.shutdownTimeout = 3
        o.allowDestroy = allowDestroy
        o.keepNvram = keepNvram
        return Executor(plan: plan, options: o) { _ in }.run()
    }

    /// What `fleet destroy` plans: the same fleet with nothing declared.
    func destroy(_ t: TestFleet, _ fleet: Fleet, keepNvram: Bool = false) {
        let empty = Fleet(name: fleet.name, hosts: fleet.hosts)
        for _ in 0..<3 {
            let p = t.plan(empty)
            if p.changes.isEmpty { return }
            _ = apply(p, keepNvram: keepNvram, allowDestroy: true)
        }
    }

    @Test func secureBootAndTPMGuestKeepsNVRAMAcrossUpdatesAndLosesItWithTheVM() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let name = "\(t.prefix)sb"

        var fleet = try t.load(manifest(t))
        var report = apply(t.plan(fleet))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(t.plan(fleet).changes.isEmpty, "apply then plan: \(t.plan(fleet).changes)")

        let d = try #require(try conn.domain(named: name))
        #expect(try d.isActive, "OVMF with secure boot and swtpm started")
        // The running definition: libvirt expanded the selection into a secure-boot loader and an NVRAM file.
        let liveXML = try d.xmlDesc()
        #expect(liveXML.contains("secure='yes' type='pflash'"), "\(liveXML)")
        let live = try DomainMapping.config(fromXML: liveXML)
        #expect(live.firmware == .uefi && live.secureBoot == true && live.enrolledKeys == true && live.smm, "\(live)")
        #expect(live.tpm == LiveTPM(model: "tpm-crb", backend: "emulator", version: "2.0"))
        let s = try hostState(d)
        #expect(exists(s.nvram), "\(s.nvram)")
        #expect(exists(s.tpmDir + "/tpm2"), "swtpm state in \(s.tpmDir)")
        let nvramInode = try inode(s.nvram)

        // An update through the patch-based define while it runs: the NVRAM file is the same file.
        fleet = try t.load(manifest(t, description: "two"))
        var p = t.plan(fleet)
        #expect(p.changes.map(\.action) == [.update], "\(p.changes)")
        report = apply(p)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(try inode(s.nvram) == nvramInode)
        #expect(try d.xmlDesc(flags: .inactive).contains("<description>two</description>"))

        // Off, and a restart-class update (memory above the maximum) of the stopped VM: the NVRAM file keeps
        // its inode and every byte; the TPM state stays.
        try d.destroy()
        let contents = try Data(contentsOf: URL(fileURLWithPath: s.nvram))
        fleet = try t.load(manifest(t, memory: "256MiB", description: "three", state: "stopped"))
        p = t.plan(fleet)
        let change = try #require(p.changes.first { $0.object.description == "vm/\(name)" })
        #expect(change.action == .update && change.steps.contains(.defineDomain), "\(change)")
        report = apply(p)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(try inode(s.nvram) == nvramInode)
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.nvram)) == contents)
        #expect(exists(s.tpmDir + "/tpm2"))
        let inactive = try d.xmlDesc(flags: .inactive)
        #expect(inactive.contains("name='secure-boot'") && inactive.contains("<smm state='on'/>"), "\(inactive)")
        #expect(t.plan(fleet).changes.isEmpty, "\(t.plan(fleet).changes)")

        // Destroy: NVRAM file and TPM state go with the VM.
        destroy(t, fleet)
        #expect(try conn.domain(named: name) == nil)
        #expect(!exists(s.nvram), "\(s.nvram) left behind")
        #expect(!exists(s.tpmDir), "\(s.tpmDir) left behind")
    }

    @Test func keepNvramKeepsTheVariablesOnly() throws {
        let t = try TestFleet(uri: uri)
        let conn = try Connection(uri: uri)
        var nvramPath: String?
        defer {
            t.cleanup()
            if let nvramPath { try? FileManager.default.removeItem(atPath: nvramPath) }
        }
        let fleet = try t.load(manifest(t))
        let report = apply(t.plan(fleet))
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        let d = try #require(try conn.domain(named: "\(t.prefix)sb"))
        let s = try hostState(d)
        nvramPath = s.nvram
        #expect(exists(s.nvram) && exists(s.tpmDir))

        destroy(t, fleet, keepNvram: true)
        #expect(try conn.domain(named: "\(t.prefix)sb") == nil)
        #expect(exists(s.nvram), "--keep-nvram removed \(s.nvram)")
        #expect(!exists(s.tpmDir), "TPM state is keyed by UUID, which a new VM never has: it goes")
    }
}
