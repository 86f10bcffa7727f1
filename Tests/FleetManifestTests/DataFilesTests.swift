import FleetManifest
import Foundation
import Testing

/// cloud-init documents and files copied into guests often sit beside the manifests as YAML:
/// they must not be read as manifests.
@Suite struct DataFilesTests {
    @Test func referencedAndCloudConfigYAMLIsData() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("cloud"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        try write("fleet.yaml", """
            fleet: dt
            pools: {p: {type: dir, path: /x}}
            vms:
              a:
                memory: 64MiB
                disks: [{size: 1GiB}]
                cloud_init: {user_data: cloud/web.yaml, network_config: "cloud/net.yml"}
            """)
        try write("cloud/web.yaml", "hostname: x\nusers: []\n")
        try write("cloud/net.yml", "version: 2\nethernets: {}\n")
        try write("cloud/other.yaml", "#cloud-config\npackages: [htop]\n")
        let r = ManifestLoader().load(paths: [dir.path])
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        #expect(r.files.count == 1)
        #expect(r.fleet?.vms.first?.cloudInit?.userData == dir.appendingPathComponent("cloud/web.yaml").standardizedFileURL.path)

        // A YAML file nothing names as data is still a manifest, and its mistakes are reported.
        try write("stray.yaml", "hostname: x\n")
        let bad = ManifestLoader().load(paths: [dir.path])
        #expect(bad.fleet == nil)
        #expect(bad.diagnostics.contains { $0.location?.file.hasSuffix("stray.yaml") == true })
    }
}
