import ArgumentParser
import FleetExecution
import FleetImages
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation

/// Options for commands that talk to hosts.
public struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("connect"),
        help: ArgumentHelp(
            "libvirt URI for a single-host fleet, or HOST=URI (repeatable) to override a declared host's URI.",
            valueName: "URI"))
    public var connect: [String] = []

    @Option(help: "Seconds to wait for a host to answer before reporting it unreachable.")
    public var timeout: Double = 10

    public init() {}

    /// The hosts with `--connect` applied.
    func hosts(for fleet: Fleet) throws -> [HostSpec] {
        var hosts = fleet.hosts
        for c in connect {
            if let eq = c.firstIndex(of: "="), !c[..<eq].contains(":") {
                let name = String(c[..<eq])
                let uri = String(c[c.index(after: eq)...])
                guard let i = hosts.firstIndex(where: { $0.name == name }) else {
                    throw ValidationError("--connect \(c): the fleet declares no host \(name)")
                }
                hosts[i].uri = uri
            } else {
                guard hosts.count == 1 else {
                    throw ValidationError(
                        "--connect URI applies to a single-host fleet; this one has \(hosts.count): use --connect HOST=URI")
                }
                hosts[0].uri = c
            }
        }
        return hosts
    }
}

/// Loads manifests, printing diagnostics to stderr; exits 1 when they have errors.
func loadFleet(_ options: ManifestOptions) throws -> Fleet {
    try loadManifests(options.effectivePaths).fleet
}

/// Loads manifests and says which files were read, printing diagnostics; exits 1 when they have errors.
func loadManifests(_ paths: [String]) throws -> (fleet: Fleet, files: [String]) {
    let result = ManifestLoader().load(paths: paths)
    let text = result.diagnostics.map(\.description).joined(separator: "\n")
    if !text.isEmpty { printError(text) }
    guard var fleet = result.fleet else { throw ExitCode.failed }
    fleet.tree = ManifestTree.identity(of: paths)
    return (fleet, result.files)
}

/// The secrets of a fleet loaded from `paths`, with its key (`FleetKey`) when it declares root passwords.
/// A missing key is created when `create` (plan and apply), and said so: it must stay with the manifests.
/// Without one (`drift`), digests are computed the keyless way and disks customized with a key show as changed.
func secrets(for fleet: Fleet, paths: [String], create: Bool) throws -> SecretResolver {
    guard fleet.declaresRootPasswords else { return SecretResolver() }
    let path = FleetKey.path(forManifests: paths.isEmpty ? ["."] : paths)
    do {
        if let key = try FleetKey.load(path) { return SecretResolver(fleetKey: key) }
        guard create else {
            printError("warning: no fleet key at \(path): root-password digests cannot be compared with those fleet recorded")
            return SecretResolver()
        }
        let key = try FleetKey.create(path)
        printError(
            "note: created the fleet key \(path) (0600). It salts the root-password digests fleet records in libvirt;"
                + " keep it with the manifests (commit it, or store it like the other secrets and point \(FleetKey.environmentVariable) at it)."
                + " Without it, fleet cannot tell whether a root password changed.")
        return SecretResolver(fleetKey: key)
    } catch {
        printError("error: \(error)")
        throw ExitCode.failed
    }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
}

func printOut(_ s: String) {
    FileHandle.standardOutput.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
}

/// Colour only on a terminal, and never when NO_COLOR is set.
var stdoutIsColorTerminal: Bool {
    isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        && ProcessInfo.processInfo.environment["TERM"] != "dumb"
}

func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// `--target KIND/NAME`, shared by plan, apply, destroy and drift: validated before anything runs, and a
/// target that names nothing the fleet declares or plans is a usage error (exit 2) that changes nothing.
public struct TargetOptions: ParsableArguments {
    @Option(
        name: .customLong("target"),
        help: ArgumentHelp("Only this object (and a VM's disks and snapshots), e.g. vm/web-1. Repeatable.", valueName: "KIND/NAME"))
    public var targets: [String] = []

    public init() {}

    public func validate() throws {
        for t in targets where ObjectRef(parsing: t) == nil {
            throw ValidationError(
                "--target \(t): expected KIND/NAME with KIND one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    public var refs: [ObjectRef] { targets.compactMap(ObjectRef.init(parsing:)) }

    /// Throws a usage error for a target that matches no declared object and no change of `plan`.
    func checkMatches(_ fleet: Fleet, _ plan: Plan) throws {
        let declared = Set(fleet.declaredObjects)
        let planned = Set(plan.changes.flatMap { [$0.object] + ($0.parent.map { [$0] } ?? []) })
        for t in refs where !declared.contains(t) && !planned.contains(t) {
            throw ValidationError("--target \(t): fleet \(fleet.name) declares no such object and has nothing to change for it")
        }
    }
}

/// Locks the session's hosts for a run that will change them, or exits 1 saying who holds a lock.
func lockHosts(_ session: Session, command: String, timeout: Double) throws -> HostLocks {
    do {
        return try session.lock(command: command, timeout: timeout) { host, holder in
            printError("waiting up to \(Int(timeout)) s for the lock of host \(host), held by \(holder)")
        }
    } catch {
        printError("error: \(error)")
        throw ExitCode.failed
    }
}

extension Session {
    /// Plans, printing unreadable inputs as warnings.
    func planPrintingWarnings(_ options: PlanOptions) -> (Plan, LiveState) {
        plan(options) { printError("warning: \($0)") }
    }
}

/// Writes a file readable by its owner only (0600), atomically: a temporary file beside it, created
/// exclusively and never through a symlink, then renamed over the target.
func writePrivateFile(_ path: String, _ data: Data) throws {
    let dir = (path as NSString).deletingLastPathComponent
    let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).\(UUID().uuidString).tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: tmp]) }
    let ok = data.withUnsafeBytes { buf -> Bool in
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { return false }
            off += n
        }
        return true
    }
    close(fd)
    guard ok, rename(tmp, path) == 0 else {
        unlink(tmp)
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}
