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
        try write(
            "fleet.yaml",
            """
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

/// Data files are known from the parsed manifests, never from text that looks like a reference.
@Suite struct DataFilesFromParsedManifestsTests {
    @Test func aCommentDoesNotHideAManifest() throws {
        let m = try TempManifest([
            "fleet.yaml":
                "fleet: t\n# source: pools.yaml\n# cloud_init: {user_data: net.yaml}\nvms:\n  a: {memory: 1GiB, cdrom: /x, description: \"user_data: net.yaml\"}\n",
            "pools.yaml": "pools:\n  p: {path: /p}\n",
            "net.yaml": "networks:\n  n: {mode: isolated}\n"
        ])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d.isEmpty, "\(d)")
        #expect(r.files.map { ($0 as NSString).lastPathComponent } == ["fleet.yaml", "net.yaml", "pools.yaml"])
        #expect(r.fleet?.pools.map(\.name) == ["p"], "pools.yaml is a manifest, so its pool is declared, not deleted")
        #expect(r.fleet?.networks.map(\.name) == ["n"])
    }

    @Test func everyDataPositionMakesAFileData() throws {
        // Each of these names a YAML file in a data position; none of them is a manifest.
        let m = try TempManifest([
            "fleet.yaml": """
            fleet: t
            x-ci: &ci {cloud_init: {user_data: merged-ud.yaml}}
            pools: {p: {path: /p}}
            images:
              i: {source: img.yml, customize: {files: [{source: files/image-file.yaml, dest: /etc/a.yaml}]}}
            profiles:
              small: {memory: 1GiB, cloud_init: {meta_data: meta.yaml}}
            vms:
              a:
                <<: *ci
                memory: 1GiB
                disks: [{size: 1GiB}]
                customize: {root_password: {file: secrets/pw.yaml}, files: [{source: files/vm-file.yaml, dest: /etc/b.yaml}]}
              b: {profile: small, disks: [{size: 1GiB}], graphics: {password: {file: vnc.yaml}}, cloud_init: {network_config: cloud/net.yaml}}
            """,
            "merged-ud.yaml": "users: []\n",
            "img.yml": "not: really an image\n",
            "files/image-file.yaml": "key: value\n",
            "files/vm-file.yaml": "key: value\n",
            "meta.yaml": "instance-id: b\n",
            "secrets/pw.yaml": "hunter2\n",
            "vnc.yaml": "secret\n",
            "cloud/net.yaml": "version: 2\n",
            "cloud/user.yaml": "#cloud-config\nhostname: x\n"
        ])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d.isEmpty, "\(d)")
        #expect(r.files.map { $0.replacingOccurrences(of: m.dir.path + "/", with: "") } == ["fleet.yaml"])
        #expect(r.fleet?.vms.count == 2)
    }

    @Test func referencesFromDataFilesDoNotCount() throws {
        // data.yaml is named as data; what data.yaml itself seems to name (other.yaml) stays a manifest.
        let m = try TempManifest([
            "fleet.yaml": "fleet: t\nvms:\n  a: {memory: 1GiB, cdrom: /x, cloud_init: {user_data: data.yaml}}\n",
            "data.yaml": "vms:\n  z: {cloud_init: {user_data: other.yaml}}\n",
            "other.yaml": "pools:\n  p: {path: /p}\n"
        ])
        defer { m.remove() }
        let (r, d) = m.load()
        #expect(d.isEmpty, "\(d)")
        #expect(r.fleet?.pools.map(\.name) == ["p"])
        #expect(r.fleet?.vms.map(\.name) == ["a"])
    }
}
