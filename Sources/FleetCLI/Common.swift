import ArgumentParser
import FleetExecution
import FleetManifest
import FleetModel
import FleetPlanning
import Foundation

/// Options for commands that talk to hosts.
public struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("connect"),
            help: ArgumentHelp("libvirt URI for a single-host fleet, or HOST=URI (repeatable) to override a declared host's URI.",
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
                let name = String(c[..<eq]), uri = String(c[c.index(after: eq)...])
                guard let i = hosts.firstIndex(where: { $0.name == name }) else {
                    throw ValidationError("--connect \(c): the fleet declares no host \(name)")
                }
                hosts[i].uri = uri
            } else {
                guard hosts.count == 1 else {
                    throw ValidationError("--connect URI applies to a single-host fleet; this one has \(hosts.count): use --connect HOST=URI")
                }
                hosts[0].uri = c
            }
        }
        return hosts
    }
}

/// Loads manifests, printing diagnostics to stderr; exits 1 when they have errors.
func loadFleet(_ options: ManifestOptions) throws -> Fleet {
    let result = ManifestLoader().load(paths: options.effectivePaths)
    let text = result.diagnostics.map(\.description).joined(separator: "\n")
    if !text.isEmpty { printError(text) }
    guard let fleet = result.fleet else { throw ExitCode(1) }
    return fleet
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

/// Reads the fleet's hosts and plans. Shared by `plan`, `drift` and `apply`.
func computePlan(fleet: Fleet, hosts: [HostSpec], timeout: Double, options: PlanOptions) -> (Plan, LiveState) {
    let inputs = ImageInputs.compute(fleet)
    var desired = inputs.apply(to: fleet)
    desired.hosts = hosts
    var options = options
    options.customizationDigests = inputs.digests
    options.seedInstanceIDs = inputs.seedIDs
    for w in inputs.warnings { printError("warning: \(w)") }
    let live = StateReader(fleet: fleet.name, timeout: timeout).read(hosts: hosts)
    var plan = Planner.plan(desired: desired, live: live, options: options)
    plan.liveFingerprint = live.fingerprint
    return (plan, live)
}
