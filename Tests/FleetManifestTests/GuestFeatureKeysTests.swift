import FleetModel
import Foundation
import Testing

@testable import FleetManifest

/// `ignition:` and `shares:` (issue 16): what loads, and every error at its place.
struct GuestFeatureKeysTests {
    let base = """
        fleet: f
        pools: {p: {type: dir, path: /p}}
        vms:
          v:
            memory: 1GiB
            disks: [{size: 1GiB}]

        """

    @Test func ignitionAndSharesLoad() throws {
        let (f, d) = try load(
            base + """
                    ignition: {config: c.ign}
                    shares:
                      - {source: /srv/data, target: data}
                      - {source: /srv/iso, target: iso, mode: 9p, readonly: true}

                """,
            extra: ["c.ign": #"{"ignition": {"version": "3.3.0"}, "passwd": {"users": [{"name": "core", "x": [1.5e3, -0, null, true]}]}}"#])
        #expect(d.isEmpty, "\(d)")
        let vm = try #require(f?.vms.first)
        #expect(vm.ignition?.config.hasSuffix("/c.ign") == true, "\(String(describing: vm.ignition))")
        #expect(vm.ignitionVolume?.pool == "p" && vm.ignitionVolume?.name == "v-ignition.ign")
        #expect(
            vm.shares == [
                ShareSpec(source: "/srv/data", target: "data"), ShareSpec(source: "/srv/iso", target: "iso", mode: .p9, readonly: true)
            ])
        #expect(vm.needsSharedMemory)
    }

    @Test func aJSONErrorPointsIntoTheConfigFile() throws {
        let (_, d) = try load(
            base + "    ignition: {config: c.ign}\n",
            extra: ["c.ign": "{\n  \"ignition\": {\"version\": \"3.3.0\"},\n  \"storage\": [1,]\n}\n"])
        #expect(d.contains { $0.hasSuffix("c.ign:3:17: error: ignition.config: not valid JSON: expected a value, found ']'") }, "\(d)")
    }

    @Test func theConfigNeedsAVersion() throws {
        let (_, d) = try load(base + "    ignition: {config: c.ign}\n", extra: ["c.ign": #"{"ignition": {}}"#])
        #expect(d == ["fleet.yaml:7:24: error: ignition.config: c.ign: \"ignition.version\" is missing or not a string"], "\(d)")
        let (_, missing) = try load(base + "    ignition: {config: nope.ign}\n")
        #expect(missing.contains { $0.contains("file \"nope.ign\" does not exist") }, "\(missing)")
    }

    @Test func jsonSyntaxErrors() {
        let cases: [(String, Int, Int, String)] = [
            ("", 1, 1, "expected a value, found the end of the file"),
            ("{\"a\" 1}", 1, 6, "expected ':' after a key, found '1'"),
            ("{\"a\": \"x\n\"}", 1, 9, "control character in a string (escape it)"),
            ("{\"ignition\": {\"version\": \"3\"}} x", 1, 32, "unexpected text after the JSON document"),
            ("[01]", 1, 2, "numbers must not have leading zeros"),
            ("{\"a\": tru}", 1, 7, "expected a value, found 't'"),
            ("{\"a\": \"\u{e9}\u{e9}\", 1}", 1, 13, "expected a string key, found '1'")
        ]
        for (text, line, column, message) in cases {
            let p = IgnitionConfig.check(text)
            #expect(
                p == IgnitionConfig.Problem(message: message, line: line, column: column),
                "\(text.debugDescription): \(String(describing: p))")
        }
        #expect(IgnitionConfig.check("[]")?.message == "an Ignition config must be a JSON object")
        #expect(IgnitionConfig.check(#"{"ignition": {"version": "3.4.0"}}"#) == nil)
    }

    @Test func shareErrors() throws {
        let (_, d) = try load(
            base + """
                    shares:
                      - {source: /srv/a, target: data, readonly: true}
                      - {source: srv/b, target: b}
                      - {source: /srv/c, target: data, mode: 9p}
                      - {source: /srv/d, target: \(String(repeating: "t", count: 37))}
                      - {target: e}

                """)
        #expect(d.contains { $0.hasPrefix("fleet.yaml:8:") && $0.contains("libvirt 9.0 refuses read-only virtiofs") }, "\(d)")
        #expect(d.contains { $0.hasPrefix("fleet.yaml:9:") && $0.contains("must be an absolute path") }, "\(d)")
        #expect(d.contains { $0.hasPrefix("fleet.yaml:10:") && $0.contains("duplicate mount tag \"data\"") }, "\(d)")
        #expect(d.contains { $0.hasPrefix("fleet.yaml:11:") && $0.contains("at most 36 bytes") }, "\(d)")
        #expect(d.contains { $0.hasPrefix("fleet.yaml:12:") && $0.contains("missing required key \"source\"") }, "\(d)")
        #expect(d.count == 5, "one error each: \(d)")
    }

    @Test func ignitionNeedsADisk() throws {
        let (_, d) = try load(
            """
            fleet: f
            vms:
              v:
                memory: 1GiB
                cdrom: /iso/x.iso
                ignition: {config: c.ign}
            """, extra: ["c.ign": #"{"ignition": {"version": "3.3.0"}}"#])
        #expect(d.contains { $0.hasPrefix("fleet.yaml:6:") && $0.contains("has no disk") }, "\(d)")
    }
}
