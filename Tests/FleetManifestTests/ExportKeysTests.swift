import FleetManifest
import FleetModel
import Foundation
import Testing

/// The keys `fleet export` writes for existing objects: a disk's `volume:` and a network's `dhcp.hosts:`.
@Suite struct ExportKeysTests {
    let base = "fleet: t\npools:\n  p: {path: /p}\n"

    func diagnostics(_ yaml: String) throws -> [String] { try load(yaml).1 }

    @Test func aDiskVolumeNamesTheExistingVolume() throws {
        let (fleet, d) = try load(
            base + """
                vms:
                  web: {memory: 1GiB, disks: [{name: vda, size: 20GiB, volume: debian12.qcow2}, {size: 1GiB, volume: "dir+vol1"}, {size: 1GiB}]}
                """)
        #expect(d.isEmpty, "\(d)")
        let vm = try #require(fleet?.vms.first)
        #expect(vm.disks.map { $0.volumeName(vm: vm.name) } == ["debian12.qcow2", "dir+vol1", "web-disk2.qcow2"])
    }

    @Test func volumeNamesAreUniqueWithExplicitNames() throws {
        // An explicit name against another VM's explicit name, and against a derived name.
        #expect(
            try diagnostics(
                base + """
                    vms:
                      a: {memory: 1GiB, disks: [{size: 1GiB, volume: shared.qcow2}]}
                      b: {memory: 1GiB, disks: [{size: 1GiB, volume: shared.qcow2}]}
                    """) == [
                    "fleet.yaml:6:29: error: disks[0]: volume \"shared.qcow2\" of vm \"b\" disk \"disk0\" is also the volume of vm \"a\" disk \"disk0\" in pool \"p\" on host \"local\""
                ])
        #expect(
            try diagnostics(
                base + """
                    vms:
                      a: {memory: 1GiB, disks: [{size: 1GiB}]}
                      b: {memory: 1GiB, disks: [{size: 1GiB, volume: a-disk0.qcow2}]}
                    """) == [
                    "fleet.yaml:6:29: error: disks[0]: volume \"a-disk0.qcow2\" of vm \"b\" disk \"disk0\" is also the volume of vm \"a\" disk \"disk0\" in pool \"p\" on host \"local\""
                ])
        // Reserved prefixes hold for explicit names too.
        #expect(
            try diagnostics(base + "vms:\n  a: {memory: 1GiB, disks: [{size: 1GiB, volume: fleet-lock-x}]}\n").contains {
                $0.contains("reserves")
            })
    }

    @Test func aVolumeIsAFileName() throws {
        for bad in ["a/b", "..", "\"\\u0001x\""] {
            let d = try diagnostics(base + "vms:\n  a: {memory: 1GiB, disks: [{size: 1GiB, volume: \(bad)}]}\n")
            #expect(d.count == 1 && d[0].contains("invalid volume name"), "\(bad): \(d)")
        }
    }

    @Test func dhcpHostsAreStaticLeasesOfTheNetwork() throws {
        let net =
            "fleet: t\nnetworks:\n  n:\n    mode: nat\n    subnet: 10.0.0.0/24\n    dhcp:\n      range: [10.0.0.100, 10.0.0.200]\n      hosts:\n"
        let (fleet, d) = try load(
            net + """
                        - {mac: "52:54:00:00:00:99", ip: 10.0.0.99, name: printer}
                vms:
                  a: {memory: 1GiB, cdrom: /x.iso, networks: [{network: n, mac: "52:54:00:00:00:01", ip: 10.0.0.10}]}
                """)
        #expect(d.isEmpty, "\(d)")
        let leases = try #require(fleet?.networks.first?.leases)
        #expect(leases.map { "\($0.name) \($0.mac) \($0.ip)" } == ["a 52:54:00:00:00:01 10.0.0.10", "printer 52:54:00:00:00:99 10.0.0.99"])

        // Outside the subnet, the gateway, twice, or also a VM NIC's lease: errors.
        let bad = try diagnostics(
            net + """
                        - {mac: "52:54:00:00:00:98", ip: 10.9.0.9, name: far}
                        - {mac: "52:54:00:00:00:97", ip: 10.0.0.1, name: gw}
                        - {mac: "52:54:00:00:00:99", ip: 10.0.0.99, name: printer}
                        - {mac: "52:54:00:00:00:99", ip: 10.0.0.98, name: again}
                        - {mac: "52:54:00:00:00:96", ip: 10.0.0.10, name: clash}
                        - {mac: "52:54:00:00:00:95", ip: 10.0.0.11}
                vms:
                  a: {memory: 1GiB, cdrom: /x.iso, networks: [{network: n, mac: "52:54:00:00:00:01", ip: 10.0.0.10}]}
                """)
        #expect(bad.count == 5, "\(bad)")
        #expect(bad.contains { $0.contains("10.9.0.9 is not a host address") }, "\(bad)")
        #expect(bad.contains { $0.contains("10.0.0.1 is the gateway") }, "\(bad)")
        #expect(bad.contains { $0.contains("another dhcp host of network \"n\" has this mac or ip") }, "\(bad)")
        #expect(bad.contains { $0.contains("already has dhcp host 52:54:00:00:00:96 10.0.0.10 (clash)") }, "\(bad)")
        #expect(bad.contains { $0.contains("name") && $0.contains("required") || $0.contains("missing") }, "\(bad)")
    }
}

/// What `fleet export` writes (its goldens, Tests/FleetCLITests/Golden/export) is accepted by the JSON Schema its
/// first line names, and by the loader.
@Suite struct ExportGoldenSchemaTests {
    @Test func exportedManifestsMatchTheSchema() throws {
        let goldens = Paths.repo.appendingPathComponent("Tests/FleetCLITests/Golden/export")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-export-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var files: [String] = []
        for name in ["export-all", "export-select", "export-path"] {
            let golden = try String(contentsOf: goldens.appendingPathComponent(name + ".golden"), encoding: .utf8)
            // The golden is `$ command`, `exit N`, `---`, then the manifest.
            let body = golden.components(separatedBy: "\n").dropFirst(3).joined(separator: "\n")
            #expect(body.hasPrefix("# yaml-language-server: $schema="), "\(name)")
            let dir = tmp.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let file = dir.appendingPathComponent("fleet.yaml")
            try Data(body.utf8).write(to: file)
            files.append(file.path)
            let loaded = ManifestLoader().load(paths: [dir.path])
            #expect(
                loaded.fleet != nil && loaded.diagnostics.filter { $0.severity == .error }.isEmpty,
                "\(name): \(loaded.diagnostics.map(\.description))")
        }
        let result = try SchemaTests.pythonValidate(files)
        for f in files { #expect(result[f] == true, "schema rejects \(f)") }
    }
}
