import FleetTestSupport
import Foundation
import Testing

@testable import FleetManifest

@Suite struct SchemaTests {
    @Test func committedSchemaMatchesTheGenerator() throws {
        let url = Paths.repo.appendingPathComponent("schemas/fleet.schema.json")
        if Paths.updateGoldens { try Data(FleetSchema.json().utf8).write(to: url) }
        let committed = try String(contentsOf: url, encoding: .utf8)
        #expect(committed == FleetSchema.json(), "regenerate with: fleet schema > schemas/fleet.schema.json")
    }

    @Test func schemaCoversEveryKeyOfTheTables() throws {
        let json = FleetSchema.json()
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let defs = try #require(object?["$defs"] as? [String: Any])
        for table in [Keys.vm, Keys.pool, Keys.network, Keys.image, Keys.device, Keys.disk, Keys.nic, Keys.customize, Keys.profile] {
            let def = try #require(defs[table.id] as? [String: Any], "missing $defs/\(table.id)")
            let props = try #require(def["properties"] as? [String: Any])
            #expect(Set(props.keys) == Set(table.keyNames))
            #expect(def["additionalProperties"] as? Bool == false)
        }
        #expect(object?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
    }

    /// Validates YAML files against the schema with python3's jsonschema (draft 2020-12) and PyYAML.
    /// Fails, rather than skips, when python3 exists but the modules are missing (CI installs them).
    static func pythonValidate(_ files: [String]) throws -> [String: Bool] {
        let script = """
            import json, sys, yaml, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                try:
                    docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
                    ok = all(not list(v.iter_errors(d)) for d in docs)
                except Exception as e:
                    print("error in %s: %s" % (path, e), file=sys.stderr)
                    ok = False
                print(("OK " if ok else "BAD ") + path)
            """
        let p = Process()
        // python3 from PATH (pyenv, venv or the system one), as CI's `pip install jsonschema pyyaml` sees it.
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, Paths.repo.appendingPathComponent("schemas/fleet.schema.json").path] + files
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "python: \(String(decoding: errData, as: UTF8.self))")
        var result: [String: Bool] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("OK ") { result[String(line.dropFirst(3))] = true }
            if line.hasPrefix("BAD ") { result[String(line.dropFirst(4))] = false }
        }
        return result
    }

    static func yamlFiles(under dir: URL) -> [String] {
        let e = FileManager.default.enumerator(atPath: dir.path)
        var files: [String] = []
        while let rel = e?.nextObject() as? String {
            if rel.hasSuffix(".yaml") || rel.hasSuffix(".yml") { files.append(dir.appendingPathComponent(rel).path) }
        }
        return files.sorted()
    }

    @Test func schemaAcceptsEveryExample() throws {
        // The manifest examples (examples/ also holds other material, e.g. CI workflows).
        let files = ["examples/quickstart", "examples/lab", "examples/uefi"].flatMap {
            Self.yamlFiles(under: Paths.repo.appendingPathComponent($0))
        }
        #expect(files.count >= 6)
        let result = try Self.pythonValidate(files)
        for f in files { #expect(result[f] == true, "schema rejects \(f)") }
    }

    /// Corpus cases whose structure (keys, types, enums, patterns) is wrong: the schema alone must reject them.
    static let structurallyBroken = [
        "bad-units", "counts", "devices", "enums", "graphics", "invalid-names", "profiles",
        "secrets", "unknown-keys", "wrong-types", "top-level", "image-checksums", "limits"
    ]
    /// Cases that are structurally fine and only fail fleet's semantic checks (references, addresses, …).
    static let structurallyValid = [
        "valid-full", "anchors-merge-valid", "multi-document", "pci-snapshots", "unknown-references", "duplicate-across-files"
    ]

    @Test func schemaRejectsStructurallyBrokenCorpusCases() throws {
        let corpus = Paths.corpus
        var files: [String: String] = [:]
        for c in Self.structurallyBroken { for f in Self.yamlFiles(under: corpus.appendingPathComponent(c)) { files[f] = c } }
        let result = try Self.pythonValidate(Array(files.keys).sorted())
        for c in Self.structurallyBroken {
            let verdicts = files.filter { $0.value == c }.keys.map { result[$0] }
            #expect(verdicts.contains(false), "schema accepts broken case \(c)")
        }
        let valid = Self.structurallyValid.flatMap { Self.yamlFiles(under: corpus.appendingPathComponent($0)) }
        let vr = try Self.pythonValidate(valid)
        for f in valid { #expect(vr[f] == true, "schema rejects valid \(f)") }
    }
}
