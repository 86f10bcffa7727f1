import FleetExecution
import FleetManifest
import FleetMapping
import FleetModel
import FleetPlanning
import FleetTestSupport
import Foundation
import Libvirt
import Testing

/// Updates are patches (issue 9): objects defined by hand, full of what fleet does not model, are adopted and
/// updated; `virsh dumpxml --inactive` (an independent oracle) then differs only in the elements fleet changed.
@Suite(.serialized, .enabled(if: systemURI != nil, "set FLEET_TEST_LIBVIRT_URI to run against a real libvirtd"))
struct PatchSystemTests {
    let uri = systemURI ?? "qemu:///system"

    func domainXML(_ t: TestFleet, mac: String) -> String {
        """
        <domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          <name>\(t.prefix)legacy</name>
          <metadata>
            <app:info xmlns:app="https://example.com/app/1"><app:owner team="infra">ops</app:owner></app:info>
            <note:n xmlns:note="urn:example:note">keep <note:b>this &amp; that</note:b> in order</note:n>
          </metadata>
          <memory unit='KiB'>65536</memory>
          <currentMemory unit='KiB'>65536</currentMemory>
          <vcpu placement='static'>1</vcpu>
          <cputune><shares>2048</shares></cputune>
          <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
          <features><acpi/><apic/></features>
          <devices>
            <disk type='file' device='floppy'>
              <driver name='qemu' type='raw'/>
              <source file='/var/lib/libvirt/images/\(t.prefix)floppy.img'/>
              <target dev='fda' bus='fdc'/>
            </disk>
            <controller type='scsi' index='0' model='virtio-scsi'/>
            <interface type='network'>
              <mac address='\(mac)'/>
              <source network='\(t.prefix)net'/>
              <model type='virtio'/>
            </interface>
            <channel type='unix'>
              <target type='virtio' name='org.qemu.guest_agent.0'/>
            </channel>
            <watchdog model='i6300esb' action='reset'/>
            <memballoon model='virtio'>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
            </memballoon>
            <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
          </devices>
          <qemu:commandline>
            <qemu:arg value='-no-user-config'/>
          </qemu:commandline>
        </domain>
        """
    }

    func networkXML(_ t: TestFleet) -> String {
        let s = t.subnet
        return """
            <network>
              <name>\(t.prefix)net</name>
              <forward mode='nat'/>
              <domain name='old.test'/>
              <dns>
                <host ip='10.252.\(s).2'><hostname>printer</hostname></host>
              </dns>
              <portgroup name='web' default='yes'/>
              <ip address='10.252.\(s).1' prefix='24'>
                <dhcp><range start='10.252.\(s).100' end='10.252.\(s).200'/></dhcp>
              </ip>
              <ip family='ipv6' address='fd00:252:\(String(s, radix: 16))::1' prefix='64'/>
              <route address='10.253.\(s).0' prefix='24' gateway='10.252.\(s).254'/>
            </network>
            """
    }

    func poolXML(_ t: TestFleet) -> String {
        """
        <pool type='dir'>
          <name>\(t.prefix)pool</name>
          <target>
            <path>/var/lib/libvirt/images/\(t.prefix)pool</path>
            <permissions><mode>0711</mode></permissions>
          </target>
        </pool>
        """
    }

    func manifest(
        _ t: TestFleet, mac: String, memory: String, vcpus: Int, ip: Bool, autostart: Bool?, domain: String = "old.test",
        pool: Bool = true
    ) -> String {
        let s = t.subnet
        return """
            fleet: \(t.fleetName)
            hosts:
              local: {uri: "\(uri)"}
            \(pool ? "pools:" : "")
            \(pool ? "  \(t.prefix)pool: {type: dir, path: \"/var/lib/libvirt/images/\(t.prefix)pool\"\(autostart.map { ", autostart: \($0)" } ?? "")}" : "")
            networks:
              \(t.prefix)net:
                mode: nat
                subnet: 10.252.\(s).0/24
                domain: \(domain)
                dhcp: {range: [10.252.\(s).100, 10.252.\(s).200]}
            vms:
              \(t.prefix)legacy:
                virt_type: qemu
                vcpus: \(vcpus)
                memory: \(memory)
                networks:
                  - {network: \(t.prefix)net, mac: "\(mac)"\(ip ? ", ip: 10.252.\(s).11" : "")}
                state: stopped
            """
    }

    @Test func adoptedObjectsChangeOnlyWhatFleetManages() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let mac =
            "52:54:00:"
            + [UInt8.random(in: 0...255), .random(in: 0...255), .random(in: 0...255)]
            .map { String(format: "%02x", $0) }.joined(separator: ":")
        let (vm, net, pool) = ("\(t.prefix)legacy", "\(t.prefix)net", "\(t.prefix)pool")

        // Made by hand, not through fleet.
        let p = try conn.definePool(xml: poolXML(t))
        try p.build(flags: [])
        try p.create()
        let n = try conn.defineNetwork(xml: networkXML(t))
        try n.create()
        _ = try conn.defineDomain(xml: domainXML(t, mac: mac))
        let domainBefore = try virsh(["dumpxml", "--inactive", "--security-info", vm])
        let networkBefore = try virsh(["net-dumpxml", "--inactive", net])
        let poolBefore = try virsh(["pool-dumpxml", "--inactive", pool])
        #expect(domainBefore.contains("slot='0x04'") || domainBefore.contains("slot=\"0x04\""))

        // --adopt of a manifest that matches: the plan is the adoption marks and nothing else.
        let same = try t.load(manifest(t, mac: mac, memory: "64MiB", vcpus: 1, ip: false, autostart: nil))
        let adoptPlan = Planner.plan(
            desired: same, live: StateReader(fleet: same.name).read(hosts: same.hosts), options: PlanOptions(adopt: true))
        #expect(
            adoptPlan.changes.map { "\($0.action.rawValue) \($0.object)" }.sorted()
                == ["adopt network/\(net)", "adopt pool/\(pool)", "adopt vm/\(vm)"], "\(adoptPlan.changes)")
        let adopted = t.apply(adoptPlan)
        #expect(adopted.failed == 0 && adopted.skipped == 0, "\(adopted.results)")
        #expect(t.plan(same).changes.isEmpty, "\(t.plan(same).changes)")
        let domainAdopted = try virsh(["dumpxml", "--inactive", "--security-info", vm])
        var d = lineDiff(domainBefore, domainAdopted)
        #expect(d.removed.isEmpty, "\(d)")
        #expect(d.added.count == 1 && d.added.first?.hasPrefix("<fleet:owner ") == true, "\(d)")
        #expect(try virsh(["net-dumpxml", "--inactive", net]) == networkBefore, "the network's ownership is in the ledger")
        #expect(try virsh(["pool-dumpxml", "--inactive", pool]) == poolBefore)

        // A memory and a vCPU change (both beyond the maxima: a redefinition), a DHCP host, pool autostart.
        let changed = try t.load(manifest(t, mac: mac, memory: "96MiB", vcpus: 2, ip: true, autostart: true))
        let plan = t.plan(changed)
        #expect(
            plan.changes.map { "\($0.action.rawValue) \($0.object)" }.sorted()
                == ["update network/\(net)", "update pool/\(pool)", "update vm/\(vm)"], "\(plan.changes)")
        let report = t.apply(plan)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(t.plan(changed).changes.isEmpty, "\(t.plan(changed).changes)")

        d = lineDiff(domainAdopted, try virsh(["dumpxml", "--inactive", "--security-info", vm]))
        #expect(
            d.removed.sorted() == [
                "<currentMemory unit='KiB'>65536</currentMemory>", "<memory unit='KiB'>65536</memory>",
                "<vcpu placement='static'>1</vcpu>"
            ], "\(d)")
        #expect(
            d.added.sorted() == [
                "<currentMemory unit='KiB'>98304</currentMemory>", "<memory unit='KiB'>98304</memory>",
                "<vcpu placement='static'>2</vcpu>"
            ], "\(d)")
        let networkLeased = try virsh(["net-dumpxml", "--inactive", net])
        d = lineDiff(networkBefore, networkLeased)
        #expect(d.removed.isEmpty, "\(d)")
        #expect(d.added == ["<host mac='\(mac)' name='\(vm)' ip='10.252.\(t.subnet).11'/>"], "\(d)")
        #expect(try virsh(["pool-dumpxml", "--inactive", pool]) == poolBefore)
        #expect(try conn.storagePool(named: pool)?.autostart() == true)

        // A network change that needs a restart: the definition is patched, the running network is left
        // alone without --allow-restart (guests on it would lose connectivity).
        let renamed = try t.load(manifest(t, mac: mac, memory: "96MiB", vcpus: 2, ip: true, autostart: true, domain: "new.test"))
        let restartPlan = t.plan(renamed)
        #expect(
            restartPlan.changes.map { "\($0.action.rawValue) \($0.object)" } == ["update-restart network/\(net)"], "\(restartPlan.changes)")
        let networkLiveBefore = try virsh(["net-dumpxml", net])
        let restart = t.apply(restartPlan)
        #expect(restart.failed == 0, "\(restart.results)")
        d = lineDiff(networkLeased, try virsh(["net-dumpxml", "--inactive", net]))
        #expect(d.removed == ["<domain name='old.test'/>"] && d.added == ["<domain name='new.test'/>"], "\(d)")
        #expect(try virsh(["net-dumpxml", net]) == networkLiveBefore, "not restarted without --allow-restart")

        t.destroy(renamed)
        #expect(try conn.domain(named: vm) == nil)
    }

    /// `--adopt` of objects that differ from the manifest: the marks are one change each, every difference keeps
    /// its class, and the network restart it needs waits for --allow-restart (issue 10).
    @Test func adoptWithDifferencesKeepsEachChangesClass() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let mac =
            "52:54:00:"
            + [UInt8.random(in: 0...255), .random(in: 0...255), .random(in: 0...255)]
            .map { String(format: "%02x", $0) }.joined(separator: ":")
        let (vm, net) = ("\(t.prefix)legacy", "\(t.prefix)net")
        let n = try conn.defineNetwork(xml: networkXML(t))
        try n.create()
        _ = try conn.defineDomain(xml: domainXML(t, mac: mac))
        let domainBefore = try virsh(["dumpxml", "--inactive", "--security-info", vm])
        let networkLive = try virsh(["net-dumpxml", net])

        let f = try t.load(manifest(t, mac: mac, memory: "96MiB", vcpus: 1, ip: false, autostart: nil, domain: "new.test", pool: false))
        let plan = Planner.plan(desired: f, live: StateReader(fleet: f.name).read(hosts: f.hosts), options: PlanOptions(adopt: true))
        #expect(
            plan.changes.map { "\($0.action.rawValue) \($0.object)" }.sorted()
                == ["adopt network/\(net)", "adopt vm/\(vm)", "update vm/\(vm)", "update-restart network/\(net)"], "\(plan.changes)")
        #expect(plan.changes.filter { $0.action == .adopt }.allSatisfy { $0.steps == [.writeOwnerMark] })
        let report = t.apply(plan)
        #expect(report.failed == 0 && report.skipped == 0, "\(report.results)")
        #expect(
            report.results.first { $0.object == "network/\(net)" && $0.action == "update-restart" }?.message?.contains("--allow-restart")
                == true)
        #expect(try virsh(["net-dumpxml", net]) == networkLive, "the running network was not restarted")
        #expect(try virsh(["net-dumpxml", "--inactive", net]).contains("new.test"))
        let d = lineDiff(domainBefore, try virsh(["dumpxml", "--inactive", "--security-info", vm]))
        #expect(d.removed.sorted() == ["<currentMemory unit='KiB'>65536</currentMemory>", "<memory unit='KiB'>65536</memory>"], "\(d)")
        #expect(d.added.count == 3 && d.added.contains { $0.hasPrefix("<fleet:owner ") }, "\(d)")
        #expect(t.plan(f).changes.isEmpty, "\(t.plan(f).changes)")
        t.destroy(f)
    }

    /// fleet's own objects: what render defines, libvirt returns, and patching that with the same spec changes
    /// nothing, so the patch path and the render path agree.
    @Test func patchOfARenderedObjectIsANoOp() throws {
        let t = try TestFleet(uri: uri)
        defer { t.cleanup() }
        let conn = try Connection(uri: uri)
        let pci = DeviceSpec(name: "pci", host: "local", kind: .pci(PCIAddress(parsing: "0000:00:00.0")!))
        let f = Fleet(name: t.fleetName, hosts: [HostSpec(name: "local", uri: uri)], devices: [pci])
        let vm = VMSpec(
            name: "\(t.prefix)own", host: "local", vcpus: 1, maxVcpus: 2, memory: .mib(64), maxMemory: .mib(128),
            virtType: .qemu, machine: "q35",
            disks: [
                DiskSpec(name: "disk0", size: .mib(32), pool: "\(t.prefix)pool"),
                DiskSpec(name: "data", size: .mib(32), pool: "\(t.prefix)pool", bus: .scsi)
            ],
            cdrom: "/var/lib/libvirt/images/\(t.prefix)install.iso",
            networks: [NICSpec(network: "\(t.prefix)net", mac: MACAddress.stable(for: t.prefix))],
            graphics: GraphicsSpec(type: .vnc, listen: "127.0.0.1", password: .env("X")), hostdevs: [pci],
            cloudInit: CloudInitSpec(userData: "#cloud-config\n"), description: "own & <rendered>")
        let mark = OwnerMark(fleet: f.name, kind: .vm, name: vm.group)
        _ = try conn.defineDomain(xml: DomainMapping.render(vm, hypervisor: .qemu, graphicsPassword: "pw", owner: mark))
        let d = try #require(try conn.domain(named: vm.name))
        let current = try d.xmlDesc(flags: [.inactive, .secure])
        #expect(try DomainPatch.update(current, vm: vm, fleet: f, hypervisor: .qemu, graphicsPassword: "pw", owner: mark) == nil)

        let spec = NetworkSpec(
            name: "\(t.prefix)net", mode: .nat, subnet: IPv4Subnet(parsing: "10.254.\(t.subnet).0/24"),
            dhcp: DHCPSpec(start: IPv4Address(parsing: "10.254.\(t.subnet).100")!, end: IPv4Address(parsing: "10.254.\(t.subnet).200")!),
            leases: [DHCPLease(mac: MACAddress.stable(for: t.prefix), name: "own", ip: IPv4Address(parsing: "10.254.\(t.subnet).9")!)],
            domain: "own.test", mtu: 1400)
        let n = try conn.defineNetwork(xml: NetworkMapping.render(spec))
        #expect(try NetworkPatch.update(n.xmlDesc(inactive: true), spec: spec) == nil)
    }

    /// `virsh -c URI ARGS…`: the independent oracle.
    func virsh(_ args: [String]) throws -> String {
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/virsh")
        proc.arguments = ["-c", uri] + args
        let out = Pipe()
        let err = Pipe()
        proc.standardOutput = out
        proc.standardError = err
        try proc.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        guard proc.terminationStatus == 0 else {
            throw TestFailure("virsh \(args.joined(separator: " ")): \(String(decoding: errData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The lines only in `a` and only in `b` (as multisets, trimmed, quotes normalised to `'`): a textual diff
/// of two whole documents that ignores nothing but position.
func lineDiff(_ a: String, _ b: String) -> (removed: [String], added: [String]) {
    let norm = { (s: String) in
        s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "'") }
    }
    var counts: [String: Int] = [:]
    for l in norm(a) { counts[l, default: 0] += 1 }
    var added: [String] = []
    for l in norm(b) { if let c = counts[l], c > 0 { counts[l] = c - 1 } else { added.append(l) } }
    var removed: [String] = []
    for l in norm(a) where (counts[l] ?? 0) > 0 {
        removed.append(l)
        counts[l]! -= 1
    }
    return (removed, added)
}
