import FleetModel
import FleetTestSupport
import Foundation

@testable import FleetManifest

/// Paths into the source checkout (goldens are updated in place with FLEET_UPDATE_GOLDEN=1).
enum Paths {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let corpus = testsDir.appendingPathComponent("Corpus")
    static let repo = testsDir.deletingLastPathComponent().deletingLastPathComponent()
    static var updateGoldens: Bool { Golden.updating }
}

/// A temporary manifest directory with the given files; removed by `remove()`.
struct TempManifest {
    let dir: URL
    init(_ files: [String: String]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-manifest-\(UUID().uuidString)")
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }
    init(raw files: [String: Data]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: dir.appendingPathComponent(name)) }
    }
    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// Loads the directory; diagnostics rendered with paths relative to it.
    func load() -> (ManifestLoadResult, [String]) {
        let r = ManifestLoader().load(paths: [dir.path])
        return (r, r.diagnostics.map { $0.description.replacingOccurrences(of: dir.path + "/", with: "") })
    }
}

/// Loads a one-file manifest and returns the fleet and the rendered diagnostics (paths relative).
func load(_ yaml: String, extra: [String: String] = [:]) throws -> (Fleet?, [String]) {
    var files = extra
    files["fleet.yaml"] = yaml
    let m = try TempManifest(files)
    defer { m.remove() }
    let (r, d) = m.load()
    return (r.fleet, d)
}
