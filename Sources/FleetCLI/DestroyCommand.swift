import ArgumentParser
import FleetExecution
import FleetModel
import FleetPlanning
import Foundation

/// `fleet destroy`: removes everything this fleet owns on its hosts, in reverse dependency order, nothing else.
public struct DestroyCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove every object this fleet owns on its hosts (and nothing else).")

    @OptionGroup public var manifest: ManifestOptions
    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var execution: ExecutionOptions
    @Option(name: .customLong("target"), help: ArgumentHelp("Only this object, e.g. vm/web-1. Repeatable.", valueName: "KIND/NAME"))
    public var targets: [String] = []

    public init() {}

    public func run() throws {
        let fleet = try loadFleet(manifest)
        let hosts = try connection.hosts(for: fleet)
        // Desired: the same fleet with nothing declared, so every owned object plans as a delete.
        let empty = Fleet(name: fleet.name, hosts: hosts)
        let options = execution.applyOptions(connectTimeout: connection.timeout, allowRestart: true, allowDestroy: true)
        let planOptions = PlanOptions(targets: targets.compactMap(ObjectRef.init(parsing:)))
        var confirmed = execution
        var failed = false
        // Image versions are deleted once no disk is backed by them: a second pass removes them.
        for pass in 0..<3 {
            let (plan, _) = computePlan(fleet: empty, hosts: hosts, timeout: connection.timeout, options: planOptions)
            if plan.isEmpty {
                if pass == 0 && !execution.json { printOut("fleet \(fleet.name) owns nothing on its hosts.") }
                break
            }
            if !execution.json && pass == 0 { printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan)) }
            let report = try execute(plan, options: options, execution: confirmed, verb: "destroy")
            confirmed.yes = true
            if !report.succeeded || plan.hasErrors { failed = true; break }
        }
        if failed { throw ExitCode(1) }
    }
}
