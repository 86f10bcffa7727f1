import ArgumentParser
import Foundation
import Libvirt

public struct FleetCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Declarative provisioning for KVM/libvirt fleets.",
        version: FleetVersion.description,
        subcommands: [
            Validate.self, PlanCommand.self, ApplyCommand.self, DestroyCommand.self, DriftCommand.self, ShowCommand.self,
            InventoryCommand.self, ExportCommand.self,
            UnlockCommand.self, Schema.self
        ]
    )
    public init() {}

    /// Parses a command line (without the program name) as `fleet` does: the subcommand with its options, validated.
    /// Throws ArgumentParser's error for a usage error.
    public static func parse(commandLine arguments: [String]) throws -> ParsableCommand {
        // `--wait` takes an optional value (`--wait`, `--wait=10m`): ArgumentParser options always take one.
        try parseAsRoot(arguments.map { $0 == "--wait" ? "--wait=\(WaitRequest.bare)" : $0 })
    }

    /// Like `main()`, but usage errors exit 2 (fleet's convention: 1 means the manifests or hosts
    /// have a problem, 2 that the command line does) instead of ArgumentParser's 64.
    public static func runMain(_ arguments: [String]? = nil) -> Never {
        do {
            var command = try parse(commandLine: arguments ?? Array(CommandLine.arguments.dropFirst()))
            if command is any TalksToHosts { loadLibvirt() }
            try command.run()
            Foundation.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitCode.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// A subcommand that talks to libvirt hosts. fleet loads libvirt (dlopen) only for these, before they run: without
/// it they exit 1 saying which package to install, and the others (validate, schema, --help) never need it.
protocol TalksToHosts {}

extension PlanCommand: TalksToHosts {}
extension ApplyCommand: TalksToHosts {}
extension DestroyCommand: TalksToHosts {}
extension DriftCommand: TalksToHosts {}
extension ShowCommand: TalksToHosts {}
extension InventoryCommand: TalksToHosts {}
extension ExportCommand: TalksToHosts {}
extension UnlockCommand: TalksToHosts {}

/// Loads libvirt, or exits 1 with its reason and the package to install.
private func loadLibvirt() {
    do {
        try Libvirt.initialize()
    } catch {
        printError("error: \(error)")
        Foundation.exit(ExitCode.failed.rawValue)
    }
}
