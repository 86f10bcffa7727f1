import FleetModel
import Testing

@testable import FleetManifest

/// `host: auto`, `hosts:`, `spread:` and the top-level `placement:`: what they build, and the errors at
/// file:line:column for what placement cannot honour.
@Suite struct PlacementKeysTests {
    static let head = """
        fleet: lab
        hosts:
          kvm1: {uri: "test:///default"}
          kvm2: {uri: "test:///default"}
        pools:
          p: {path: /p}

        """

    @Test func autoHostsSpreadAndOvercommitBuildThePlacement() throws {
        let (fleet, d) = try load(
            Self.head + """
                placement: {overcommit: {cpu: 8, memory: 1.5}}
                profiles:
                  small: {memory: 1GiB, host: kvm1, cdrom: /x.iso}
                vms:
                  web: {count: 2, host: auto, spread: true, profile: small, disks: [{size: 1GiB}]}
                  api: {hosts: [kvm2], profile: small}
                  db: {profile: small}
                """)
        #expect(d.isEmpty, "\(d)")
        let f = try #require(fleet)
        #expect(f.placementPolicy == PlacementPolicy(cpuOvercommit: 8, memoryOvercommit: 1.5))
        let web = try #require(f.vms.first { $0.name == "web-2" })
        #expect(web.host == "" && web.placement == VMPlacement(candidates: ["kvm1", "kvm2"], auto: true, spread: true))
        // A VM's hosts: wins over its profile's host:.
        #expect(f.vms.first { $0.name == "api" }?.placement == VMPlacement(candidates: ["kvm2"]))
        #expect(f.vms.first { $0.name == "db" }.map { ($0.host, $0.placement) } ?? ("", nil) == ("kvm1", nil))
    }

    @Test func whatPlacementCannotHonourIsAnError() throws {
        let (_, d) = try load(
            """
            fleet: lab
            hosts:
              kvm1: {uri: "test:///default"}
              kvm2: {uri: "test:///default"}
            pools:
              only1: {path: /o, hosts: [kvm1]}
            devices:
              gpu: {host: kvm1, type: pci, address: "0000:3b:00.0"}
            placement: {overcommit: {cpu: 0, memory: lots}}
            vms:
              a: {memory: 1GiB, host: kvm1, hosts: [kvm2]}
              b: {memory: 1GiB, hosts: [kvm3, kvm1, kvm1]}
              c: {memory: 1GiB, host: auto, hostdevs: [gpu]}
              d: {memory: 1GiB, host: auto, disks: [{size: 1GiB, pool: only1}]}
              e: {memory: 1GiB, host: kvm1, spread: true}
              f: {memory: 1GiB, hosts: []}
            """)
        let want = [
            "9:31: error: cpu: 0 is out of range: more than 0, at most 64",
            "9:42: error: memory: expected a number such as 4 or 1.5, found \"lots\"",
            "vm \"a\": host: and hosts: exclude each other",
            "hosts[0]: unknown host \"kvm3\"",
            "hosts[2]: host \"kvm1\" is listed twice",
            "hostdevs[0]: device \"gpu\" is plugged into one host, and host: auto lets fleet choose another: pin the VM with host: kvm1",
            "pool \"only1\" is not placed on host \"kvm2\", one of the candidates of host: auto",
            "spread: applies to VMs that fleet places (host: auto or hosts:)",
            "hosts: lists no host"
        ]
        for w in want { #expect(d.contains { $0.contains(w) }, "missing \(w) in \(d)") }
        #expect(d.allSatisfy { $0.range(of: #"^fleet\.yaml:\d+:\d+: "#, options: .regularExpression) != nil }, "\(d)")
    }
}
