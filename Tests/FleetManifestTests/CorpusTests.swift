import FleetModel
import FleetTestSupport
import Foundation
import Testing

@testable import FleetManifest

/// Every directory under Corpus/ is one manifest; `<case>.expected` holds its exact text diagnostics,
/// with paths relative to the corpus directory. FLEET_UPDATE_GOLDEN=1 rewrites the goldens.
@Suite struct CorpusTests {
    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Paths.corpus.path)) ?? []
        return names.filter { name in
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: Paths.corpus.appendingPathComponent(name).path, isDirectory: &d) && d.boolValue
        }.sorted()
    }()

    static func render(_ caseName: String) -> String {
        let dir = Paths.corpus.appendingPathComponent(caseName).path
        let result = ManifestLoader().load(paths: [dir])
        let prefix = Paths.corpus.path + "/"
        return result.diagnostics.map { $0.description.replacingOccurrences(of: prefix, with: "") + "\n" }.joined()
    }

    @Test func corpusHasEnoughCases() {
        #expect(Self.cases.count >= 25)
    }

    @Test(arguments: cases)
    func corpusCase(_ name: String) throws {
        let actual = Self.render(name)
        let golden = Paths.corpus.appendingPathComponent(name + ".expected")
        if Paths.updateGoldens { try Data(actual.utf8).write(to: golden) }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(actual == expected, "corpus case \(name)")
    }

    // MARK: Generated inputs (too large or binary to commit)

    @Test func nonUTF8BytesAreReportedWithOffset() throws {
        var bytes = Data("vms:\n  web:\n    description: caf".utf8)
        bytes.append(contentsOf: [0xE9, 0x20, 0x0A])
        let m = try TempManifest(raw: ["fleet.yaml": bytes])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(r.fleet == nil)
        #expect(d == ["fleet.yaml:3:21: error: file is not valid UTF-8 (invalid byte 0xe9 at byte offset 32)"])
    }

    @Test func hundredThousandOpenBracketsDoNotCrash() throws {
        let text = "vms: " + String(repeating: "[", count: 100_000)
        let m = try TempManifest(["fleet.yaml": text])
        defer { m.remove() }
        let (_, d) = m.load()
        #expect(d == ["fleet.yaml:1:518: error: nesting is deeper than 512 levels; a manifest never needs that much"])
    }

    @Test func deepBlockNestingIsBounded() throws {
        // `- - - - …` nests block sequences without any bracket.
        let text = "vms:\n  web:\n    snapshots:\n" + String(repeating: "- ", count: 50_000) + "x\n"
        let m = try TempManifest(["fleet.yaml": text])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(r.fleet == nil)
        #expect(d.count == 1 && d[0].contains("nesting is deeper than 512 levels"))
    }

    @Test func nestingJustUnderTheLimitIsAnOrdinaryError() throws {
        let text = "vms:\n  web:\n    snapshots: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "\n"
        let m = try TempManifest(["fleet.yaml": text])
        defer { m.remove() }
        let (_, d) = m.load()
        #expect(d.contains("fleet.yaml:3:17: error: snapshots[0]: expected a name, found a list"))
    }

    @Test func bracketsInQuotesAndCommentsDoNotCountAsNesting() throws {
        let deep = String(repeating: "[", count: 600)
        let text =
            "# \(deep)\nfleet: q\nvms:\n  a:\n    memory: 1GiB\n    cdrom: /x.iso\n    description: \"\(deep)\"\n  b: {memory: 1GiB, cdrom: /x.iso, description: '\(deep) it''s'}  # \(deep)\n"
        let m = try TempManifest(["fleet.yaml": text])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d.isEmpty)
        #expect(r.fleet?.vms.first?.description == deep)
    }

    @Test func bigAliasBombStopsAtTheBudget() throws {
        // 10^12 nodes once expanded, a few hundred bytes on disk.
        var doc = "fleet: t\nx-a: &a [" + Array(repeating: "lol", count: 10).joined(separator: ",") + "]\n"
        let names = ["b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]
        var prev = "a"
        for name in names {
            doc += "x-\(name): &\(name) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ",") + "]\n"
            prev = name
        }
        doc += "vms:\n  web:\n    memory: 1GiB\n    snapshots: *l\n"
        let m = try TempManifest(["fleet.yaml": doc])
        defer { m.remove() }
        let start = Date()
        let (r, d) = m.load()
        #expect(Date().timeIntervalSince(start) < 30)
        // Values of the wrong shape are not descended into, so the bomb never expands.
        #expect(r.fleet == nil)
        #expect(
            d.filter { $0.contains("error:") }.count == 10
                && d.filter { $0.contains("error:") }.allSatisfy { $0.hasSuffix("expected a name, found a list") })
    }

    @Test func aliasExpansionBeyondTheBudgetIsOneError() throws {
        // Every VM aliases one mapping with 1,000 snapshot names: 1,500 VMs visit 1.5 million nodes.
        var doc = "fleet: t\nx-s: &s [" + (0..<1000).map { "s\($0)" }.joined(separator: ",") + "]\n"
        doc += "x-vm: &vm {memory: 1GiB, cdrom: /x.iso, snapshots: *s}\nvms:\n"
        for i in 0..<1500 { doc += "  v\(i): *vm\n" }
        let m = try TempManifest(["fleet.yaml": doc])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(r.fleet == nil)
        #expect(d.count == 1 && d[0].contains("expands to more than 1000000 YAML nodes"), "\(d.prefix(3))")
    }

    /// A 10 MB manifest loads whole and right. How long it takes is a benchmark's business (fleet-bench validate),
    /// not a test's: a time bound here failed on a loaded machine without anything being wrong.
    @Test func tenMegabyteFileLoads() throws {
        var text = "fleet: t\npools:\n  p: {path: /p}\nnetworks:\n  n: {mode: isolated}\nvms:\n"
        var i = 0
        while text.utf8.count < 10_000_000 {
            text +=
                "  vm\(i):\n    memory: 1GiB\n    vcpus: 2\n    description: \"\(String(repeating: "x", count: 200))\"\n    disks: [{size: 1GiB}]\n    networks: [{network: n}]\n"
            i += 1
        }
        let m = try TempManifest(["fleet.yaml": text])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d.isEmpty)
        #expect(r.fleet?.vms.count == i)
    }

    @Test func missingPathIsAnError() {
        let r = ManifestLoader().load(paths: ["/nonexistent/fleet-\(UUID().uuidString)"])
        #expect(r.fleet == nil)
        #expect(r.diagnostics.count == 1 && r.diagnostics[0].message.hasSuffix(": no such file or directory"))
    }
}
