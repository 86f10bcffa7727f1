import FleetModel
import Foundation
import Testing

@testable import FleetManifest

/// One case per validation rule: a minimal manifest and the exact diagnostics (message and location) it produces.
@Suite struct RulesTests {
    struct Rule: CustomTestStringConvertible, Sendable {
        let name: String
        let yaml: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let base = "fleet: t\npools:\n  p: {path: /p}\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24}\n"

    static let rules: [Rule] = [
        Rule(
            name: "unknown key with suggestion", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, autostrat: true}\n",
            expected: ["fleet.yaml:7:32: error: vm \"a\": unknown key \"autostrat\"; did you mean \"autostart\"?"]),
        Rule(
            name: "size unit", yaml: base + "vms:\n  a: {memory: 1Gib, cdrom: /x}\n",
            expected: ["fleet.yaml:7:15: error: memory: invalid size \"1Gib\" (expected e.g. 512MiB, 8GiB, 50G or a number of bytes)"]),
        Rule(
            name: "memory above max_memory", yaml: base + "vms:\n  a: {memory: 2GiB, max_memory: 1GiB, cdrom: /x}\n",
            expected: ["fleet.yaml:7:33: error: max_memory: 1GiB is less than memory 2GiB"]),
        Rule(
            name: "vcpus above max_vcpus", yaml: base + "vms:\n  a: {memory: 1GiB, vcpus: 3, max_vcpus: 2, cdrom: /x}\n",
            expected: ["fleet.yaml:7:42: error: max_vcpus: 2 is less than vcpus 3"]),
        Rule(
            name: "vcpus at least one", yaml: base + "vms:\n  a: {memory: 1GiB, vcpus: 0, cdrom: /x}\n",
            expected: ["fleet.yaml:7:28: error: vcpus: 0 is out of range 1...4096"]),
        Rule(
            name: "unknown host", yaml: base + "vms:\n  a: {host: kvm, memory: 1GiB, cdrom: /x}\n",
            expected: ["fleet.yaml:7:13: error: host: unknown host \"kvm\""]),
        Rule(
            name: "unknown pool", yaml: base + "vms:\n  a: {memory: 1GiB, disks: [{size: 1GiB, pool: q}]}\n",
            expected: ["fleet.yaml:7:48: error: disks[0].pool: unknown pool \"q\"; did you mean \"p\"?"]),
        Rule(
            name: "unknown network", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: m}]}\n",
            expected: ["fleet.yaml:7:53: error: networks[0].network: unknown network \"m\"; did you mean \"n\"?"]),
        Rule(
            name: "unknown image", yaml: base + "vms:\n  a: {memory: 1GiB, disks: [{image: i}]}\n",
            expected: ["fleet.yaml:7:37: error: disks[0].image: unknown image \"i\""]),
        Rule(
            name: "unknown device", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, hostdevs: [gpu]}\n",
            expected: ["fleet.yaml:7:43: error: hostdevs[0]: unknown device \"gpu\""]),
        Rule(
            name: "unknown profile", yaml: base + "vms:\n  a: {profile: big, memory: 1GiB, cdrom: /x}\n",
            expected: ["fleet.yaml:7:16: error: profile: unknown profile \"big\""]),
        Rule(
            name: "image pool", yaml: base + "images:\n  i: {source: /i.img, pool: q}\n",
            expected: ["fleet.yaml:7:29: error: pool: unknown pool \"q\"; did you mean \"p\"?"]),
        Rule(
            name: "device host", yaml: base + "devices:\n  d: {host: h, type: usb, vendor: 1, product: 2}\n",
            expected: ["fleet.yaml:7:13: error: host: unknown host \"h\""]),
        Rule(
            name: "pool hosts", yaml: "fleet: t\npools:\n  p: {path: /p, hosts: [h]}\n",
            expected: ["fleet.yaml:3:25: error: hosts[0]: unknown host \"h\""]),
        Rule(
            name: "invalid name", yaml: base + "vms:\n  a.b/c: {memory: 1GiB, cdrom: /x}\n",
            expected: [
                "fleet.yaml:7:3: error: vm name: invalid name \"a.b/c\": use letters, digits, '-', '_' and '.', start with a letter or digit, at most 63 characters"
            ]),
        Rule(
            name: "bridge name too long", yaml: "fleet: t\nnetworks:\n  n: {mode: bridge, bridge: bridge-name-16ch}\n",
            expected: [
                "fleet.yaml:3:29: error: bridge: invalid interface name \"bridge-name-16ch\": at most 15 characters, letters, digits, '-', '_', '.'"
            ]),
        Rule(
            name: "duplicate mac",
            yaml: base
                + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: n, mac: \"52:54:00:00:00:01\"}]}\n  b: {memory: 1GiB, cdrom: /x, networks: [{network: n, mac: \"52:54:00:00:00:01\"}]}\n",
            expected: ["fleet.yaml:8:61: error: networks[0].mac: 52:54:00:00:00:01 is already used by vm \"a\""]),
        Rule(
            name: "ip outside subnet", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: n, ip: 10.0.1.5}]}\n",
            expected: ["fleet.yaml:7:60: error: networks[0].ip: 10.0.1.5 is not a host address of network \"n\" (10.0.0.0/24)"]),
        Rule(
            name: "ip is broadcast", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: n, ip: 10.0.0.255}]}\n",
            expected: ["fleet.yaml:7:60: error: networks[0].ip: 10.0.0.255 is not a host address of network \"n\" (10.0.0.0/24)"]),
        Rule(
            name: "ip is gateway", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: n, ip: 10.0.0.1}]}\n",
            expected: ["fleet.yaml:7:60: error: networks[0].ip: 10.0.0.1 is the gateway of network \"n\""]),
        Rule(
            name: "ip duplicated",
            yaml: base
                + "vms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: n, ip: 10.0.0.5}]}\n  b: {memory: 1GiB, cdrom: /x, networks: [{network: n, ip: 10.0.0.5}]}\n",
            expected: ["fleet.yaml:8:60: error: networks[0].ip: 10.0.0.5 is already assigned to vm \"a\""]),
        Rule(
            name: "ip without subnet",
            yaml:
                "fleet: t\nnetworks:\n  i: {mode: isolated}\nvms:\n  a: {memory: 1GiB, cdrom: /x, networks: [{network: i, ip: 10.0.0.5}]}\n",
            expected: ["fleet.yaml:5:60: error: networks[0].ip: network \"i\" has no subnet, so it cannot give a static address"]),
        Rule(
            name: "dhcp range outside",
            yaml: "fleet: t\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24, dhcp: {range: [10.0.0.10, 10.0.1.10]}}\n",
            expected: ["fleet.yaml:3:53: error: range: 10.0.0.10-10.0.1.10 is not inside subnet 10.0.0.0/24"]),
        Rule(
            name: "dhcp range reversed",
            yaml: "fleet: t\nnetworks:\n  n: {mode: nat, subnet: 10.0.0.0/24, dhcp: {range: [10.0.0.90, 10.0.0.10]}}\n",
            expected: ["fleet.yaml:3:53: error: range: start 10.0.0.90 is after end 10.0.0.10"]),
        Rule(
            name: "device claimed twice",
            yaml: base
                + "devices:\n  d: {type: usb, vendor: 1, product: 2}\nvms:\n  a: {memory: 1GiB, cdrom: /x, hostdevs: [d]}\n  b: {memory: 1GiB, cdrom: /x, hostdevs: [d]}\n",
            expected: ["fleet.yaml:10:43: error: hostdevs[0]: device \"d\" is already passed through to vm \"a\""]),
        Rule(
            name: "device on another host",
            yaml:
                "fleet: t\nhosts:\n  h1: {uri: \"test:///default\"}\n  h2: {uri: \"test:///default\"}\ndevices:\n  d: {host: h1, type: usb, vendor: 1, product: 2}\nvms:\n  a: {host: h2, memory: 1GiB, cdrom: /x, hostdevs: [d]}\n",
            expected: ["fleet.yaml:8:53: error: hostdevs[0]: device \"d\" is on host \"h1\" but vm \"a\" runs on \"h2\""]),
        Rule(
            name: "vnc port clash",
            yaml: base
                + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {port: 5901}}\n  b: {memory: 1GiB, cdrom: /x, graphics: {port: 5901}}\n",
            expected: ["fleet.yaml:8:49: error: graphics.port: port 5901 on host \"local\" is already used by vm \"a\""]),
        Rule(
            name: "vnc port range", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {port: 80}}\n",
            expected: ["fleet.yaml:7:49: error: port: 80 is out of range 5900...65535"]),
        Rule(
            name: "pci hostdev with snapshots",
            yaml: base
                + "devices:\n  g: {type: pci, address: \"0000:00:00.0\"}\nvms:\n  a: {memory: 1GiB, cdrom: /x, hostdevs: [g], snapshots: [s]}\n",
            expected: [
                "fleet.yaml:9:47: error: snapshots: libvirt cannot snapshot a domain with PCI passthrough (hostdev \"g\"); remove the snapshots or the device"
            ]),
        Rule(
            name: "literal secret", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {root_password: hunter2}}\n",
            expected: ["fleet.yaml:7:59: error: root_password: secrets must not be written in the manifest; use {file: PATH} or {env: VAR}"]
        ),
        Rule(
            name: "url without checksum", yaml: base + "images:\n  i: {source: \"https://h/i.img\"}\n",
            expected: ["fleet.yaml:7:15: error: image \"i\": an image downloaded from a URL needs checksum: sha256:<hex>"]),
        Rule(
            name: "malformed checksum", yaml: base + "images:\n  i: {source: /i.img, checksum: \"sha256:abc\"}\n",
            expected: ["fleet.yaml:7:33: error: checksum: malformed \"sha256:abc\" (expected sha256: followed by 64 hex digits)"]),
        Rule(
            name: "count range", yaml: base + "vms:\n  a: {count: 1001, memory: 1GiB, cdrom: /x}\n",
            expected: ["fleet.yaml:7:14: error: count: 1001 is out of range 1...1000"]),
        Rule(
            name: "expanded name collision",
            yaml: base + "vms:\n  a: {count: 2, memory: 1GiB, cdrom: /x}\n  a-1: {memory: 1GiB, cdrom: /x}\n",
            expected: ["fleet.yaml:7:3: error: vm \"a\" with count: 2 expands to \"a-1\", which is also defined at fleet.yaml:8:3"]),
        Rule(
            name: "disk names unique", yaml: base + "vms:\n  a: {memory: 1GiB, disks: [{name: d, size: 1G}, {name: d, size: 1G}]}\n",
            expected: ["fleet.yaml:7:57: error: disks[1]: duplicate disk name \"d\" (first at fleet.yaml:7:36)"]),
        Rule(
            name: "state enum", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, state: paused}\n",
            expected: ["fleet.yaml:7:39: error: state: invalid value \"paused\"; expected one of running, stopped"]),
        Rule(
            name: "duplicate across files", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x}\n",
            expected: ["other.yaml:2:3: error: vm \"a\" is already defined at fleet.yaml:7:3"]),
        Rule(
            name: "open console warning", yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, graphics: {type: spice, listen: \"::\"}}\n",
            expected: [
                "fleet.yaml:7:64: warning: graphics: spice listening on :: without a password exposes the console to the whole network"
            ]),
        Rule(
            name: "nothing to boot warning", yaml: base + "vms:\n  a: {memory: 1GiB}\n",
            expected: ["fleet.yaml:7:3: warning: vm \"a\" has no disks and no cdrom: it has nothing to boot from"]),
        Rule(
            name: "missing customize file",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, customize: {files: [{source: nope, dest: /etc/x}]}}\n",
            expected: [
                "fleet.yaml:7:61: error: source: file \"nope\" does not exist (relative paths are resolved against the directory of fleet.yaml)"
            ]),
        Rule(
            name: "secure boot on bios",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, firmware: {type: bios, secure_boot: true}}\n",
            expected: ["fleet.yaml:7:55: error: firmware.secure_boot: applies only to type: uefi (BIOS has no secure boot)"]),
        Rule(
            name: "enrolled keys without secure boot",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, machine: q35, firmware: {type: uefi, enrolled_keys: true}}\n",
            expected: ["fleet.yaml:7:84: error: firmware.enrolled_keys: true needs secure_boot: true (keys are enrolled for secure boot)"]),
        Rule(
            name: "secure boot on the default machine",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, firmware: {type: uefi, secure_boot: true}}\n",
            expected: [
                "fleet.yaml:7:68: error: firmware.secure_boot: secure boot needs SMM, which libvirt's secure-boot firmware gets only on q35 machines, not libvirt's default machine (i440fx); set machine: q35"
            ]),
        Rule(
            name: "secure boot on i440fx",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, machine: pc, firmware: {type: uefi, secure_boot: true}}\n",
            expected: [
                "fleet.yaml:7:81: error: firmware.secure_boot: secure boot needs SMM, which libvirt's secure-boot firmware gets only on q35 machines, not machine: pc; set machine: q35"
            ]),
        Rule(
            name: "firmware type required",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, machine: q35, firmware: {secure_boot: true}}\n",
            expected: ["fleet.yaml:7:56: error: firmware: missing required key \"type\""]),
        Rule(
            name: "crb TPM 1.2",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, tpm: {model: crb, version: \"1.2\"}}\n",
            expected: ["fleet.yaml:7:59: error: tpm.version: a crb TPM is TPM 2.0 only; use model: tis for \"1.2\""]),
        Rule(
            name: "TPM model",
            yaml: base + "vms:\n  a: {memory: 1GiB, cdrom: /x, tpm: {model: tpm-crb}}\n",
            expected: ["fleet.yaml:7:45: error: model: invalid value \"tpm-crb\"; expected one of crb, tis"])
    ]

    @Test(arguments: rules)
    func rule(_ rule: Rule) throws {
        let extra = rule.name == "duplicate across files" ? ["other.yaml": "vms:\n  a: {memory: 2GiB, cdrom: /y}\n"] : [:]
        let (fleet, d) = try load(rule.yaml, extra: extra)
        #expect(d == rule.expected)
        let isError = rule.expected.contains { $0.contains(": error: ") }
        #expect((fleet == nil) == isError)
    }
}
