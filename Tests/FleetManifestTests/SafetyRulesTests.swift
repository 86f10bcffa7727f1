import FleetModel
import Foundation
import Testing

@testable import FleetManifest

/// Validation that keeps values libvirt would refuse or misread, and names fleet keeps for itself,
/// out of a loaded fleet: each case gives the exact diagnostics, file:line:column included.
@Suite struct SafetyRulesTests {
    let base = "fleet: t\npools:\n  p: {path: /p}\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24}\n"

    func expectDiagnostics(
        _ yaml: String, _ expected: [String], extra: [String: String] = [:],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let (fleet, d) = try load(yaml, extra: extra)
        #expect(d == expected, sourceLocation: sourceLocation)
        #expect((fleet == nil) == expected.contains { $0.contains(": error: ") }, sourceLocation: sourceLocation)
    }

    // MARK: Reserved names

    @Test func reservedNamesAreRejected() throws {
        try expectDiagnostics(
            base + """
                vms:
                  fleet-ledger-t: {memory: 1GiB, cdrom: /x}
                  fleet-lock: {count: 2, memory: 1GiB, cdrom: /x}
                """,
            [
                "fleet.yaml:7:3: error: vm name: \"fleet-ledger-t\" starts with \"fleet-ledger-\", which fleet reserves for its ledgers and locks",
                "fleet.yaml:8:3: error: vm \"fleet-lock\" with count: 2 expands to \"fleet-lock-1\", which starts with \"fleet-lock-\", reserved for fleet's ledgers and locks"
            ])
        try expectDiagnostics(
            """
            fleet: t
            pools:
              fleet-lock-p: {path: /p}
            networks:
              fleet-ledger-n: {mode: isolated}
            images:
              fleet-lock-i: {source: /i.qcow2}
            """,
            [
                "fleet.yaml:3:3: error: pool name: \"fleet-lock-p\" starts with \"fleet-lock-\", which fleet reserves for its ledgers and locks",
                "fleet.yaml:5:3: error: network name: \"fleet-ledger-n\" starts with \"fleet-ledger-\", which fleet reserves for its ledgers and locks",
                "fleet.yaml:7:3: error: image name: \"fleet-lock-i\" starts with \"fleet-lock-\", which fleet reserves for its ledgers and locks"
            ])
        // Volumes: VM "fleet" with disk "ledger-x" is the volume fleet-ledger-x.qcow2.
        try expectDiagnostics(
            base + "vms:\n  fleet: {memory: 1GiB, disks: [{name: ledger-x, size: 1GiB}]}\n",
            [
                "fleet.yaml:7:40: error: disks[0]: volume \"fleet-ledger-x.qcow2\" of vm \"fleet\" disk \"ledger-x\" starts with \"fleet-ledger-\", which fleet reserves for its ledgers and locks"
            ])
        // Hosts, devices and profiles are not libvirt objects; the prefix alone (without '-') is not reserved.
        let (fleet, d) = try load(base + "vms:\n  fleet-ledger: {memory: 1GiB, cdrom: /x}\n")
        #expect(d.isEmpty && fleet != nil)
    }

    // MARK: Values libvirt writes unescaped

    @Test func graphicsListenIsAnAddress() throws {
        try expectDiagnostics(
            base
                + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {listen: \"127.0.0.1'/><watchdog model='i6300esb'/><graphics type='vnc\"}}\n",
            [
                "fleet.yaml:7:51: error: listen: invalid address \"127.0.0.1'/><watchdog model='i6300esb'/><graphics type='vnc\" (expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1, or none)"
            ])
        try expectDiagnostics(
            base + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {listen: \"[::]\"}}\n",
            [
                "fleet.yaml:7:51: error: listen: invalid address \"[::]\" (expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1, or none)"
            ])
        try expectDiagnostics(
            base + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {listen: localhost}}\n",
            [
                "fleet.yaml:7:51: error: listen: invalid address \"localhost\" (expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1, or none)"
            ])
        for ok in ["::1", "fe80::1", "192.168.1.5", "none"] {
            let (fleet, d) = try load(base + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {listen: \"\(ok)\"}}\n")
            #expect(d.isEmpty, "\(ok): \(d)")
            #expect(fleet?.vms.first?.graphics?.listen == ok)
        }
    }

    @Test func networkDomainIsADNSName() throws {
        try expectDiagnostics(
            "fleet: t\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24, domain: \"lab'/><dns enable='no\"}\n",
            [
                "fleet.yaml:3:47: error: domain: invalid DNS name \"lab'/><dns enable='no\" (dot-separated labels of letters, digits and inner '-', each at most 63 characters)"
            ])
        try expectDiagnostics(
            "fleet: t\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24, domain: -lab.example}\n",
            [
                "fleet.yaml:3:47: error: domain: invalid DNS name \"-lab.example\" (dot-separated labels of letters, digits and inner '-', each at most 63 characters)"
            ])
        let (fleet, d) = try load("fleet: t\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24, domain: lab.example}\n")
        #expect(d.isEmpty && fleet?.networks.first?.domain == "lab.example")
    }

    // MARK: Memory

    @Test func memoryIsAtLeastOneMiB() throws {
        try expectDiagnostics(
            base + "vms:\n  a: {memory: 1023, cdrom: /x}\n",
            [
                "fleet.yaml:7:15: error: memory: 1023 bytes is less than 1MiB, the least memory a VM can have (a number without a unit is bytes)"
            ])
        try expectDiagnostics(
            base + "vms:\n  a: {memory: 1023KiB, max_memory: 1000K, cdrom: /x}\n",
            [
                "fleet.yaml:7:15: error: memory: 1047552 bytes is less than 1MiB, the least memory a VM can have (a number without a unit is bytes)",
                "fleet.yaml:7:36: error: max_memory: 1000000 bytes is less than 1MiB, the least memory a VM can have (a number without a unit is bytes)"
            ])
        try expectDiagnostics(
            base + "vms:\n  a: {memory: 0, cdrom: /x}\n",
            [
                "fleet.yaml:7:15: error: memory: 0 bytes is less than 1MiB, the least memory a VM can have (a number without a unit is bytes)"
            ])
        let (fleet, d) = try load(base + "vms:\n  a: {memory: 1MiB, cdrom: /x}\n")
        #expect(d.isEmpty && fleet?.vms.first?.memory == .mib(1))
    }

    @Test func memoryIsStoredInWholeKiB() throws {
        // 10^9 bytes is 976562.5 KiB; libvirt holds 976562 KiB, and so does the loaded fleet.
        let (fleet, d) = try load(base + "vms:\n  a: {memory: 1G, max_memory: 2000000001, cdrom: /x}\n")
        #expect(d.isEmpty)
        let vm = try #require(fleet?.vms.first)
        #expect(vm.memory == ByteSize.kib(976_562))
        #expect(vm.maxMemory == ByteSize.kib(1_953_125))
        #expect(vm.memory == vm.memory.wholeKiB)
    }

    // MARK: Volume names

    @Test func volumeNamesAreUniquePerPool() throws {
        try expectDiagnostics(
            base + """
                vms:
                  web: {memory: 1GiB, disks: [{name: 1-disk0, size: 1GiB}]}
                  web-1: {memory: 1GiB, disks: [{size: 1GiB}]}
                """,
            [
                "fleet.yaml:8:33: error: disks[0]: volume \"web-1-disk0.qcow2\" of vm \"web-1\" disk \"disk0\" is also the volume of vm \"web\" disk \"1-disk0\" in pool \"p\" on host \"local\""
            ])
        // count: expansions collide the same way: a-1 disk 1-disk0 and a-1-1 disk0.
        try expectDiagnostics(
            base + """
                vms:
                  a: {count: 2, memory: 1GiB, disks: [{name: 1-disk0, size: 1GiB}]}
                  a-1-1: {memory: 1GiB, disks: [{size: 1GiB}]}
                """,
            [
                "fleet.yaml:8:33: error: disks[0]: volume \"a-1-1-disk0.qcow2\" of vm \"a-1-1\" disk \"disk0\" is also the volume of vm \"a-1\" disk \"1-disk0\" in pool \"p\" on host \"local\""
            ])
        // A raw disk named cidata is the cloud-init seed's volume.
        try expectDiagnostics(
            base + """
                vms:
                  a:
                    memory: 1GiB
                    cloud_init: {user_data: ud}
                    disks: [{size: 1GiB}, {name: cidata, size: 1MiB, format: raw}]
                """,
            [
                "fleet.yaml:10:34: error: disks[1]: volume \"a-cidata.img\" of vm \"a\" disk \"cidata\" is also the volume of the cloud-init seed of vm \"a\" in pool \"p\" on host \"local\""
            ], extra: ["ud": "#cloud-config\n"])
        // Another VM's seed: VM a-b's seed a-b-cidata.img against VM a's raw disk b-cidata.
        try expectDiagnostics(
            base + """
                vms:
                  a: {memory: 1GiB, disks: [{name: b-cidata, size: 1GiB, format: raw}]}
                  a-b: {memory: 1GiB, disks: [{size: 1GiB}], cloud_init: {user_data: ud}}
                """,
            [
                "fleet.yaml:8:46: error: cloud_init: volume \"a-b-cidata.img\" of the cloud-init seed of vm \"a-b\" is also the volume of vm \"a\" disk \"b-cidata\" in pool \"p\" on host \"local\""
            ], extra: ["ud": "#cloud-config\n"])
        // An image volume: image web-disk0 (web-disk0.qcow2) and VM web's disk0.
        try expectDiagnostics(
            base + """
                images:
                  web-disk0: {source: /i.qcow2}
                vms:
                  web: {memory: 1GiB, disks: [{size: 1GiB}]}
                """,
            [
                "fleet.yaml:9:31: error: disks[0]: volume \"web-disk0.qcow2\" of vm \"web\" disk \"disk0\" is also the volume of image \"web-disk0\" in pool \"p\" on host \"local\""
            ])
        // Different pools, or different hosts, do not collide.
        let (fleet, d) = try load(
            """
            fleet: t
            hosts: {h1: {uri: "test:///default"}, h2: {uri: "test:///default"}}
            pools: {p: {path: /p}, q: {path: /q}}
            vms:
              web: {host: h1, memory: 1GiB, disks: [{name: 1-disk0, size: 1GiB, pool: p}]}
              web-1: {host: h1, memory: 1GiB, disks: [{size: 1GiB, pool: q}]}
              x: {host: h1, memory: 1GiB, disks: [{size: 1GiB, pool: p}]}
              x-disk0: {host: h2, memory: 1GiB, cdrom: /x}
            """)
        #expect(d.isEmpty, "\(d)")
        #expect(fleet != nil)
    }

    // MARK: Customization

    @Test func timezonesAreRealZoneNames() throws {
        for bad in ["Mars/Olympus", "asia/shanghai", "GMT+8", "../etc/passwd"] {
            let (fleet, d) = try load(base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {timezone: \"\(bad)\"}}\n")
            #expect(fleet == nil)
            #expect(
                d == [
                    "fleet.yaml:7:54: error: timezone: unknown time zone \"\(bad)\" (expected a zone name such as Europe/Paris, Asia/Shanghai or UTC)"
                ])
        }
        for ok in ["Asia/Shanghai", "Europe/Paris", "UTC", "America/Argentina/Buenos_Aires"] {
            let (fleet, d) = try load(base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {timezone: \"\(ok)\"}}\n")
            #expect(d.isEmpty, "\(ok)")
            #expect(fleet?.vms.first?.customize?.timezone == ok)
        }
    }

    @Test func fileDestinationsAreNormalisedAbsolutePaths() throws {
        for bad in ["/etc/../shadow", "/etc//x", "/etc/./x", "/etc/x//", "/../x/"] {
            let yaml = base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {files: [{source: f, dest: \"\(bad)\"}]}}\n"
            let (fleet, d) = try load(yaml, extra: ["f": "x"])
            #expect(fleet == nil)
            #expect(d == ["fleet.yaml:7:70: error: dest: \"\(bad)\" is not a normalised absolute path (no '.', '..' or empty components)"])
        }
        let (_, relative) = try load(
            base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {files: [{source: f, dest: etc/x}]}}\n", extra: ["f": "x"])
        #expect(relative == ["fleet.yaml:7:70: error: dest: must be an absolute path, found \"etc/x\""])
        for ok in ["/etc/x.conf", "/etc/motd.d/"] {
            let (fleet, d) = try load(
                base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {files: [{source: f, dest: \"\(ok)\"}]}}\n", extra: ["f": "x"])
            #expect(d.isEmpty && fleet?.vms.first?.customize?.files.first?.dest == ok, "\(ok)")
        }
    }

    // MARK: One bad field does not hide another

    @Test func everyErrorOfAVMIsReported() throws {
        try expectDiagnostics(
            base + "vms:\n  a: {count: 0, memory: 1023, vcpus: 0, cdrom: /x, graphics: {listen: nowhere}}\n",
            [
                "fleet.yaml:7:14: error: count: 0 is out of range 1...1000",
                "fleet.yaml:7:25: error: memory: 1023 bytes is less than 1MiB, the least memory a VM can have (a number without a unit is bytes)",
                "fleet.yaml:7:38: error: vcpus: 0 is out of range 1...4096",
                "fleet.yaml:7:71: error: listen: invalid address \"nowhere\" (expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1, or none)"
            ])
        // A NIC with a bad network name still has its MAC checked; a file copy with a missing source its dest.
        try expectDiagnostics(
            base
                + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: \"n/1\", mac: zz}], customize: {files: [{source: nope, dest: x}]}}\n",
            [
                "fleet.yaml:7:53: error: network: invalid name \"n/1\": use letters, digits, '-', '_' and '.', start with a letter or digit, at most 63 characters",
                "fleet.yaml:7:65: error: mac: invalid MAC address \"zz\" (six hex pairs separated by ':', not multicast)",
                "fleet.yaml:7:100: error: source: file \"nope\" does not exist (relative paths are resolved against the directory of fleet.yaml)",
                "fleet.yaml:7:112: error: dest: must be an absolute path, found \"x\""
            ])
        // Both ends of a DHCP range.
        try expectDiagnostics(
            "fleet: t\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24, dhcp: {range: [10.0.0.x, 10.0.0.y]}}\n",
            [
                "fleet.yaml:3:54: error: range[0]: invalid IPv4 address \"10.0.0.x\"",
                "fleet.yaml:3:64: error: range[1]: invalid IPv4 address \"10.0.0.y\""
            ])
    }

    // MARK: Ranges live in Keys.swift

    @Test func integerRangesComeFromTheKeyTables() throws {
        #expect(Keys.vm.range("count") == 1...1000)
        #expect(Keys.vm.range("vcpus") == 1...4096 && Keys.vm.range("max_vcpus") == 1...4096)
        #expect(Keys.network.range("mtu") == 68...65535)
        #expect(Keys.graphics.range("port") == 5900...65535)
        // The decoder's messages quote the tables' ranges.
        let (_, d) = try load("fleet: t\nnetworks:\n  n: {mode: isolated, mtu: 20}\n")
        let r = Keys.network.range("mtu")
        #expect(d == ["fleet.yaml:3:28: error: mtu: 20 is out of range \(r.lowerBound)...\(r.upperBound)"])
    }
}
