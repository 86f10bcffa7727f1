import FleetModel
import Foundation
import Testing

@testable import FleetManifest

@Suite struct LoaderTests {
    @Test func quickstartExampleBuildsTheExpectedModel() throws {
        let r = ManifestLoader().load(paths: [Paths.repo.appendingPathComponent("examples/quickstart").path])
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        let fleet = try #require(r.fleet)
        #expect(fleet.name == "quickstart")
        #expect(fleet.hosts == [Fleet.defaultHost])
        #expect(fleet.pools == [PoolSpec(name: "qs-pool", type: .dir, path: "/var/lib/libvirt/fleet-quickstart", autostart: true)])
        let subnet = try #require(IPv4Subnet(parsing: "192.168.213.0/24"))
        #expect(
            fleet.networks == [
                NetworkSpec(
                    name: "qs-net", mode: .nat, bridge: "virbr-qs", subnet: subnet,
                    dhcp: DHCPSpec(start: IPv4Address(parsing: "192.168.213.100")!, end: IPv4Address(parsing: "192.168.213.200")!),
                    autostart: true)
            ])
        #expect(fleet.vms.map(\.name) == ["qs-vm-1", "qs-vm-2"])
        let vm = fleet.vms[0]
        #expect(vm.group == "qs-vm")
        #expect(vm.host == "local")
        #expect(vm.virtType == .qemu && vm.vcpus == 1 && vm.maxVcpus == 2)
        #expect(vm.memory == .mib(128) && vm.maxMemory == .mib(256))
        #expect(vm.disks == [DiskSpec(name: "disk0", size: .gib(1), pool: "qs-pool", format: .qcow2, bus: .virtio, clone: .overlay)])
        #expect(vm.networks == [NICSpec(network: "qs-net", model: .virtio, mac: MACAddress.stable(for: "quickstart/qs-vm-1/0"))])
        #expect(vm.graphics == GraphicsSpec(type: .vnc, listen: "127.0.0.1", port: nil, password: nil))
        #expect(vm.state == .running && vm.autostart == false)
        #expect(r.sourceMap.location(of: .vm, "qs-vm")?.description.hasSuffix("vms.yaml:4:3") == true)
        #expect(r.sourceMap.location(of: .vm, "qs-vm-2") == r.sourceMap.location(of: .vm, "qs-vm"))
        #expect(r.sourceMap.location(of: .network, "qs-net")?.line == 7)
    }

    @Test func labExampleIsValidAndUsesEveryFeature() throws {
        let lab = Paths.repo.appendingPathComponent("examples/lab")
        let r = ManifestLoader().load(paths: [lab.path])
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        let fleet = try #require(r.fleet)
        #expect(fleet.name == "lab")
        #expect(fleet.hosts.map(\.name) == ["kvm1", "kvm2"])
        #expect(fleet.vms.map(\.name) == ["db", "ml", "signer", "web-1", "web-2", "web-3"])
        let db = try #require(fleet.vms.first { $0.name == "db" })
        #expect(db.firmware == .uefi && db.machine == "q35" && db.vcpus == 4 && db.maxMemory == .gib(16))
        #expect(db.disks[0] == DiskSpec(name: "disk0", image: "rocky9", size: .gib(50), pool: "vmdisk", clone: .full))
        #expect(db.disks[1] == DiskSpec(name: "data", size: .gib(100), pool: "fast", format: .raw, bus: .scsi))
        #expect(db.graphics?.password == .env("LAB_VNC_PW") && db.graphics?.port == 5920)
        let ml = try #require(fleet.vms.first { $0.name == "ml" })
        #expect(ml.firmware == .uefi && ml.maxVcpus == 8, "merge key <<: *large applies the anchor")
        #expect(ml.networks[0].mac.description == "52:54:00:aa:00:12")
        #expect(ml.onHostChange == .recreate && ml.hostdevs.map(\.name) == ["gpu0"])
        let nat0 = try #require(fleet.networks.first { $0.name == "nat0" })
        #expect(nat0.leases.map(\.ip.description) == ["192.168.150.11", "192.168.150.12"])
        #expect(nat0.leases.map(\.name) == ["db", "ml"])
        #expect(nat0.leases[0].mac == db.networks[0].mac)
        let rocky = try #require(fleet.images.first { $0.name == "rocky9" })
        let c = try #require(rocky.customize)
        #expect(c.rootPassword == .env("LAB_ROOT_PW") && c.hostname && c.sysprep == SysprepOperation.allCases)
        #expect(
            c.files == [
                FileCopy(
                    source: lab.appendingPathComponent("files/ifcfg-eth0").path,
                    dest: "/etc/sysconfig/network-scripts/ifcfg-eth0", mode: 0o644, owner: "root:root")
            ])
        let debian = try #require(fleet.images.first { $0.name == "debian12" })
        #expect(debian.sha256 == String(repeating: "0", count: 64) && debian.isRemote)
        #expect(debian.customize?.rootPassword == .file(lab.appendingPathComponent("secrets/root.pw").path))
        #expect(debian.customize?.sysprep == [.machineID, .sshHostKeys])
        let web = try #require(fleet.vms.first { $0.name == "web-2" })
        #expect(web.group == "web" && web.memory == .gib(1) && web.snapshots == ["baseline"])
        #expect(web.host == "" && web.placement == VMPlacement(candidates: ["kvm1", "kvm2"], auto: true, spread: true))
        #expect(fleet.placementPolicy == PlacementPolicy(cpuOvercommit: 4, memoryOvercommit: 1.0))
        #expect(web.cloudInit?.userData == lab.appendingPathComponent("cloud/web-user-data").path)
        #expect(
            fleet.devices == [
                DeviceSpec(name: "gpu0", host: "kvm1", kind: .pci(PCIAddress(domain: 0, bus: 0x3b, slot: 0, function: 0))),
                DeviceSpec(name: "token", host: "kvm2", kind: .usb(vendor: 0x287f, product: 0x00f8))
            ])
        let fast = try #require(fleet.pools.first { $0.name == "fast" })
        #expect(fast.type == .logical && fast.volumeGroup == "vg_fast" && fast.sourceDevices == ["/dev/sdb"] && fast.hosts == ["kvm1"])
        let shared = try #require(fleet.pools.first { $0.name == "shared" })
        #expect(shared.sourceHost == "nfs1" && shared.sourceDir == "/export/vms" && shared.path == "/mnt/shared")
        let signer = try #require(fleet.vms.first { $0.name == "signer" })
        #expect(signer.graphics == nil && signer.state == .stopped && signer.customize?.hostname == true)
    }

    @Test func fleetNameIsRequired() throws {
        // Two trees teamA/web and teamB/web must never become one fleet "web": the name is never guessed.
        let m = try TempManifest([
            "web/a.yaml": "# pools\npools:\n  p: {path: /p}\n", "web/b.yaml": "vms:\n  a: {memory: 1GiB, cdrom: /x}\n"
        ])
        defer { m.remove() }
        let r = ManifestLoader().load(paths: [m.dir.appendingPathComponent("web").path])
        let d = r.diagnostics.map { $0.description.replacingOccurrences(of: m.dir.path + "/web/", with: "") }
        #expect(r.fleet == nil)
        #expect(
            d == [
                "a.yaml:2:1: error: manifest: missing required key \"fleet\" (the fleet's name, in one manifest file: it identifies the fleet's objects on its hosts)"
            ])

        // An empty manifest has no name either; the error points at its first line.
        let (_, empty) = try load("")
        #expect(
            empty == [
                "fleet.yaml:1:1: error: manifest: missing required key \"fleet\" (the fleet's name, in one manifest file: it identifies the fleet's objects on its hosts)"
            ])

        // A file that does not parse may hold the name: only its syntax error is reported.
        let (_, broken) = try load("vms: [\n")
        #expect(broken.count == 1 && broken[0].contains("YAML syntax error"))
    }

    @Test func filesMergeInSortedPathOrderAcrossSubdirectories() throws {
        let m = try TempManifest([
            "b.yaml": "vms:\n  b: {memory: 1GiB, cdrom: /x.iso}\n",
            "sub/a.yml": "fleet: merged\npools:\n  p: {path: /p}\n",
            "a.yaml": "vms:\n  a: {memory: 1GiB, disks: [{size: 1GiB}]}\n",
            ".hidden/x.yaml": "this: is ignored\n",
            "notes.txt": "not a manifest"
        ])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d.isEmpty)
        #expect(r.files.map { $0.replacingOccurrences(of: m.dir.path + "/", with: "") } == ["a.yaml", "b.yaml", "sub/a.yml"])
        #expect(r.fleet?.name == "merged" && r.fleet?.vms.map(\.name) == ["a", "b"])
        #expect(r.fleet?.vms[0].disks[0].pool == "p", "the only pool is the default")
    }

    @Test func profileKeysAreOverriddenWholeByVMKeys() throws {
        let (fleet, d) = try load(
            """
            fleet: t
            pools:
              p: {path: /p}
            profiles:
              small: {vcpus: 2, memory: 1GiB, snapshots: [a, b], disks: [{size: 1GiB}]}
            vms:
              x: {profile: small, memory: 4GiB, snapshots: [c]}
            """)
        #expect(d.isEmpty)
        let vm = try #require(fleet?.vms.first)
        #expect(vm.vcpus == 2 && vm.memory == .gib(4) && vm.snapshots == ["c"] && vm.disks.count == 1)
    }

    @Test func defaultsAreApplied() throws {
        let (fleet, d) = try load(
            """
            fleet: t
            pools:
              p: {path: /p}
            networks:
              n: {mode: isolated}
            images:
              img: {source: /srv/i.qcow2}
            vms:
              x: {memory: 512MiB, disks: [{image: img}, {size: 1G}], networks: [{network: n}, {network: n}]}
            """)
        #expect(d.isEmpty)
        let f = try #require(fleet)
        #expect(f.images[0].pool == "p" && f.images[0].format == nil && f.images[0].sha256 == nil)
        let vm = f.vms[0]
        #expect(vm.vcpus == 1 && vm.virtType == .kvm && vm.state == .running && vm.onHostChange == .migrate)
        #expect(vm.maxVcpus == nil && vm.firmware == nil && vm.graphics == nil && vm.autostart == nil)
        #expect(vm.disks.map(\.name) == ["disk0", "disk1"])
        #expect(vm.disks[0] == DiskSpec(name: "disk0", image: "img", pool: "p"))
        #expect(vm.disks[1].size == ByteSize(bytes: 1_000_000_000))
        #expect(vm.networks.map(\.mac) == [MACAddress.stable(for: "\(f.name)/x/0"), MACAddress.stable(for: "\(f.name)/x/1")])
    }

    @Test func countExpandsNamesAndGroups() throws {
        let (fleet, d) = try load("fleet: f\nvms:\n  web: {count: 3, memory: 1GiB, cdrom: /i.iso}\n")
        #expect(d.isEmpty)
        #expect(fleet?.vms.map(\.name) == ["web-1", "web-2", "web-3"])
        #expect(fleet?.vms.allSatisfy { $0.group == "web" } == true)
        #expect(fleet?.vms.map(\.cdrom) == ["/i.iso", "/i.iso", "/i.iso"], "cdrom stays as written")
    }

    @Test func staticIPsBecomeSortedLeases() throws {
        let (fleet, d) = try load(
            """
            fleet: f
            networks:
              n: {mode: nat, subnet: 10.0.0.0/24}
            vms:
              b: {memory: 1GiB, cdrom: /i.iso, networks: [{network: n, ip: 10.0.0.5}]}
              a: {memory: 1GiB, cdrom: /i.iso, networks: [{network: n, ip: 10.0.0.9, mac: "52:54:00:00:00:09"}]}
            """)
        #expect(d.isEmpty)
        let n = try #require(fleet?.networks.first)
        #expect(
            n.leases == [
                DHCPLease(mac: MACAddress.stable(for: "f/b/0"), name: "b", ip: IPv4Address(parsing: "10.0.0.5")!),
                DHCPLease(mac: MACAddress(parsing: "52:54:00:00:00:09")!, name: "a", ip: IPv4Address(parsing: "10.0.0.9")!)
            ])
    }

    @Test func defaultMACCollisionsAreResolvedDeterministically() throws {
        // Find two VM names whose stable MACs collide (24-bit hash), then check both get distinct MACs.
        var seen: [MACAddress: String] = [:]
        var pair: (String, String)?
        var i = 0
        while pair == nil {
            let name = "v\(i)"
            let mac = MACAddress.stable(for: "f/\(name)/0")
            if let other = seen[mac] { pair = (other, name) } else { seen[mac] = name }
            i += 1
        }
        let (a, b) = pair!
        let yaml =
            "fleet: f\nnetworks:\n  n: {mode: isolated}\nvms:\n"
            + [a, b].map { "  \($0): {memory: 1GiB, cdrom: /i.iso, networks: [{network: n}]}\n" }.joined()
        let (fleet, d) = try load(yaml)
        #expect(d.isEmpty)
        let macs = fleet?.vms.map { $0.networks[0].mac } ?? []
        #expect(macs.count == 2 && macs[0] != macs[1])
        #expect(macs[0] == MACAddress.stable(for: "f/\(min(a, b))/0"), "the first VM in name order keeps its MAC")
    }

    @Test func usbIDsAcceptHexStringsAndIntegers() throws {
        let (fleet, d) = try load("fleet: t\ndevices:\n  t: {type: usb, vendor: 0x287f, product: 248}\n")
        #expect(d.isEmpty)
        #expect(fleet?.devices.first?.kind == .usb(vendor: 0x287f, product: 248))
        #expect(fleet?.devices.first?.host == "local")
    }

    @Test func checksumIsStoredLowerCase() throws {
        let hex = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"
        let (fleet, d) = try load(
            "fleet: t\npools:\n  p: {path: /p}\nimages:\n  i: {source: \"https://x/i.img\", checksum: \"sha256:\(hex)\"}\n")
        #expect(d.isEmpty)
        #expect(fleet?.images.first?.sha256 == hex.lowercased())
    }

    @Test func relativePathsResolveAgainstTheDeclaringFile() throws {
        let m = try TempManifest([
            "sub/vm.yaml":
                "vms:\n  a: {memory: 1GiB, cdrom: rel.iso, cloud_init: {user_data: ud}, customize: {root_password: {file: pw}}}\n",
            "sub/ud": "#cloud-config\n",
            "img/base.qcow2": "QFI",
            "pools.yaml": "fleet: t\npools:\n  p: {path: /p}\nimages:\n  i: {source: img/base.qcow2}\n"
        ])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d == ["sub/vm.yaml:2:3: warning: vm \"a\" has no disks and no cdrom: it has nothing to boot from"] || d.isEmpty)
        let vm = try #require(r.fleet?.vms.first)
        let base = m.dir.standardizedFileURL.path
        #expect(vm.cdrom == "rel.iso")
        #expect(vm.cloudInit?.userData == base + "/sub/ud")
        #expect(vm.customize?.rootPassword == .file(base + "/sub/pw"))
        #expect(r.fleet?.images.first?.source == base + "/img/base.qcow2")
    }

    @Test func warningsDoNotInvalidate() throws {
        let (fleet, d) = try load("fleet: t\nvms:\n  a: {memory: 1GiB}\n")
        #expect(fleet != nil)
        #expect(d == ["fleet.yaml:3:3: warning: vm \"a\" has no disks and no cdrom: it has nothing to boot from"])
    }

    @Test func errorsInManyFilesAreAllReportedInStableOrder() throws {
        let m = try TempManifest([
            "b.yaml": "vms:\n  b: {memroy: 1GiB}\n",
            "a.yaml": "pools:\n  p: {path: relative}\n",
            "c.yaml": "vms: [\n"
        ])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(r.fleet == nil)
        #expect(
            d == [
                "a.yaml:2:13: error: path: must be an absolute path, found \"relative\"",
                "b.yaml:2:3: warning: vm \"b\" has no disks and no cdrom: it has nothing to boot from",
                "b.yaml:2:3: error: vm \"b\": memory: is required (in the VM or its profile)",
                "b.yaml:2:7: error: vm \"b\": unknown key \"memroy\"; did you mean \"memory\"?",
                "c.yaml:2:1: error: YAML syntax error: did not find expected node content (while parsing a flow node at line 2, column 1)"
            ])
    }

    @Test func diagnosticRenderings() {
        let d = Diagnostic.error("bad, really: \"x\"", at: SourceLocation(file: "a b.yaml", line: 3, column: 7))
        #expect(d.description == "a b.yaml:3:7: error: bad, really: \"x\"")
        #expect(d.githubAnnotation == "::error file=a b.yaml,line=3,col=7::bad, really: \"x\"")
        #expect(Diagnostic.warning("w", at: nil).githubAnnotation == "::warning::w")
        #expect(
            [d].renderJSON()
                == "[\n  {\"severity\": \"error\", \"file\": \"a b.yaml\", \"line\": 3, \"column\": 7, \"message\": \"bad, really: \\\"x\\\"\"}\n]"
        )
        #expect([Diagnostic]().renderJSON() == "[]")
    }

    @Test func suggestionsUseEditDistance() {
        #expect(EditDistance.suggestion(for: "memroy", among: Keys.vm.keyNames) == "memory")
        #expect(EditDistance.suggestion(for: "hostdev", among: Keys.vm.keyNames) == "hostdevs")
        #expect(EditDistance.suggestion(for: "zzzzzz", among: Keys.vm.keyNames) == nil)
    }

    @Test func loaderIsDeterministic() throws {
        let lab = Paths.repo.appendingPathComponent("examples/lab").path
        let a = ManifestLoader().load(paths: [lab])
        let b = ManifestLoader().load(paths: [lab])
        #expect(a.fleet == b.fleet && a.fleet != nil)
    }

    @Test func firmwareScalarOrMappingAndTPM() throws {
        let (fleet, d) = try load(
            """
            fleet: t
            vms:
              plain: {memory: 1GiB, cdrom: /x, firmware: uefi}
              secure:
                memory: 1GiB
                cdrom: /x
                machine: pc-q35-7.2
                firmware: {type: uefi, secure_boot: true, enrolled_keys: false}
                tpm: {}
              old: {memory: 1GiB, cdrom: /x, firmware: {type: uefi, secure_boot: false}, tpm: {model: tis, version: "1.2"}}
            """)
        #expect(d.isEmpty, "\(d)")
        let vms = Dictionary(uniqueKeysWithValues: (fleet?.vms ?? []).map { ($0.name, $0) })
        #expect(vms["plain"]?.firmware == .uefi && vms["plain"]?.secureBoot == nil && vms["plain"]?.tpm == nil)
        #expect(vms["secure"]?.firmware == .uefi && vms["secure"]?.secureBoot == true && vms["secure"]?.enrolledKeys == false)
        #expect(vms["secure"]?.tpm == TPMSpec(model: .crb, version: .tpm20), "defaults: crb, 2.0")
        #expect(vms["old"]?.secureBoot == false && vms["old"]?.tpm == TPMSpec(model: .tis, version: .tpm12))
    }
}
