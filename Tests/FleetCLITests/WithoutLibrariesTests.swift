import FleetTestSupport
import Foundation
import Testing

/// fleet loads libvirt and libguestfs with dlopen only when a command needs them (docs/binding.md, "How libvirt is
/// loaded"): the binary does not link them, validate, schema and --help run where they are not installed, and the
/// commands that talk to hosts exit 1 naming the Debian package to install.
@Suite struct WithoutLibrariesTests {
    static let libraries = ["libvirt.so.0", "libvirt-qemu.so.0", "libguestfs.so.0"]

    @Test func binaryDoesNotLinkLibvirtOrLibguestfs() throws {
        let fleet = try ValidateCLITests.fleetBinary().path
        let r = shell("readelf -d '\(fleet)'")
        try #require(r.status == 0 && r.out.contains("(NEEDED)"), "readelf -d \(fleet): \(r.status) \(r.out)")
        let needed = r.out.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        let linked = needed.filter { line in ["libvirt", "libguestfs"].contains { line.contains($0) } }
        #expect(linked.isEmpty, "\(linked)")
    }

    /// Root can make a mount namespace; there, /dev/null is bind-mounted over each library's file, so that dlopen
    /// (and a load-time link) fails as on a machine without them. The host's mounts are untouched.
    static let canHide = getuid() == 0 && shell("unshare --mount true").status == 0

    /// Runs the built fleet in the repository with the libraries hidden; stdout and stderr together.
    static func runHidden(_ args: [String], hiding: [String] = libraries) throws -> (status: Int32, out: String) {
        let fleet = try ValidateCLITests.fleetBinary().path
        let hide = hiding.map { so in
            #"p=$(ldconfig -p | awk -v l='\#(so)' '$1 == l { print $NF; exit }'); "#
                + #"if [ -n "$p" ]; then mount --bind /dev/null "$(readlink -f "$p")" || exit 97; fi; "#
        }.joined()
        let command = ([fleet] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = "\(hide)cd '\(ValidateCLITests.repo.path)' && exec \(command) 2>&1"
        let r = shell("unshare --mount sh -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))'")
        try #require(r.status != 97, "could not hide the libraries: \(r.out)")
        return r
    }

    @Test(.enabled(if: canHide, "needs root and unshare --mount to hide the libraries"))
    func offlineCommandsRunWithoutTheLibraries() throws {
        let validate = try Self.runHidden(["validate", "examples/quickstart", "examples/lab"])
        #expect(validate.status == 0, "\(validate.out)")
        #expect(validate.out.contains("fleet quickstart is valid"), "\(validate.out)")
        let schema = try Self.runHidden(["schema"])
        let expected = try String(
            contentsOf: ValidateCLITests.repo.appendingPathComponent("schemas/fleet.schema.json"), encoding: .utf8)
        #expect(schema.status == 0, "\(schema.out)")
        #expect(schema.out.trimmingCharacters(in: .whitespacesAndNewlines) == expected.trimmingCharacters(in: .whitespacesAndNewlines))
        let help = try Self.runHidden(["--help"])
        #expect(help.status == 0 && help.out.contains("SUBCOMMANDS"), "\(help.status) \(help.out)")
    }

    static let hostCommands: [[String]] = [
        ["plan", "examples/quickstart", "--connect", "test:///default"],
        ["apply", "examples/quickstart", "--connect", "test:///default", "--yes"],
        ["destroy", "examples/quickstart", "--connect", "test:///default", "--yes"],
        ["drift", "examples/quickstart", "--connect", "test:///default"],
        ["show", "examples/quickstart", "--connect", "test:///default"],
        ["export", "--connect", "test:///default", "--fleet", "estate"],
        ["unlock", "test:///default"]
    ]

    @Test(.enabled(if: canHide, "needs root and unshare --mount to hide the libraries"), arguments: hostCommands)
    func hostCommandsSayWhatToInstall(_ args: [String]) throws {
        let r = try Self.runHidden(args)
        // 1, not a crash (a signal) and not a usage error (2).
        #expect(r.status == 1, "fleet \(args.joined(separator: " ")): exit \(r.status)\n\(r.out)")
        #expect(
            r.out.hasPrefix("error: fleet needs libvirt (libvirt.so.0) to talk to libvirt hosts and cannot load it: ")
                && r.out.contains("Install the Debian package libvirt0 (apt-get install libvirt0)."),
            "\(r.out)")
    }

    /// libvirt-qemu alone missing: named too, with the package that installs it.
    @Test(.enabled(if: canHide, "needs root and unshare --mount to hide the libraries"))
    func missingLibvirtQemuIsNamed() throws {
        let r = try Self.runHidden(["plan", "examples/quickstart", "--connect", "test:///default"], hiding: ["libvirt-qemu.so.0"])
        #expect(r.status == 1, "\(r.out)")
        #expect(r.out.contains("libvirt-qemu.so.0") && r.out.contains("libvirt0"), "\(r.out)")
    }

    /// Without libguestfs, libvirt still loads: a plan against the test driver works.
    @Test(.enabled(if: canHide, "needs root and unshare --mount to hide the libraries"))
    func planNeedsNoLibguestfs() throws {
        let r = try Self.runHidden(["plan", "examples/quickstart", "--connect", "test:///default"], hiding: ["libguestfs.so.0"])
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("fleet quickstart:"), "\(r.out)")
    }

    /// Without libguestfs, an apply that customizes a disk fails that step with the package to install; libvirt
    /// still works (the pool and the image's volume are made). Against the real daemon, whose socket the namespace
    /// shares.
    @Test(.enabled(if: canHide && systemURI != nil, "needs root, unshare --mount and a real libvirtd"))
    func customizationSaysWhatToInstall() throws {
        let uri = try #require(systemURI)
        let prefix = uniquePrefix()
        let fleet = "ft" + prefix.dropFirst(3).dropLast()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + "noguestfs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            _ = try? ValidateCLITests.run(["destroy", dir.path, "--yes"])
            virshCleanup(uri: uri, prefix: prefix, fleet: fleet)
            try? FileManager.default.removeItem(at: dir)
        }
        let image = dir.appendingPathComponent("base.qcow2").path
        try #require(shell("qemu-img create -q -f qcow2 '\(image)' 16M").status == 0)
        try Data(
            """
            fleet: \(fleet)
            hosts: {local: {uri: "\(uri)"}}
            pools: {\(prefix)pool: {type: dir, path: "/var/lib/libvirt/images/\(prefix)pool"}}
            images: {\(prefix)base: {source: base.qcow2, format: qcow2, pool: \(prefix)pool}}
            vms:
              \(prefix)vm:
                virt_type: qemu
                memory: 32MiB
                disks: [{image: \(prefix)base}]
                customize: {hostname: true}
                state: stopped
            """.utf8
        ).write(to: dir.appendingPathComponent("fleet.yaml"))
        let r = try Self.runHidden(["apply", dir.path, "--yes"], hiding: ["libguestfs.so.0"])
        #expect(r.status == 1, "\(r.out)")
        #expect(
            r.out.contains("fleet needs libguestfs (libguestfs.so.0) to customize images and cannot load it")
                && r.out.contains("Install the Debian package libguestfs0"), "\(r.out)")
        #expect(FleetCLITests.virsh(uri, ["pool-info", "\(prefix)pool"]).status == 0, "libvirt worked: the pool was made")
    }
}
