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
    @OptionGroup public var target: TargetOptions

    public init() {}

    public func run() throws {
        let fleet = try loadFleet(manifest)
        let hosts = try connection.hosts(for: fleet)
        // Desired: the same fleet with nothing declared, so every owned object plans as a delete.
        let session = Session(fleet: Fleet(name: fleet.name, hosts: hosts, tree: fleet.tree), hosts: hosts, timeout: connection.timeout)
        let options = execution.applyOptions(connectTimeout: connection.timeout, allowRestart: true, allowDestroy: true)
        let planOptions = PlanOptions(targets: target.refs)
        let locks = try lockHosts(session, command: "destroy", timeout: execution.lockTimeout)
        defer { locks.release() }
        var confirmed = execution
        var failed = false
        // Image versions are deleted once no disk is backed by them: a second pass removes them.
        for pass in 0..<3 {
            let (plan, _) = session.planPrintingWarnings(planOptions)
            if pass == 0 { try target.checkMatches(fleet, plan) }
            if plan.isEmpty {
                if pass == 0 && !execution.json { printOut("fleet \(fleet.name) owns nothing on its hosts.") }
                break
            }
            if !execution.json && pass == 0 { printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan)) }
            let report = try execute(plan, session: session, options: options, execution: confirmed, verb: "destroy")
            confirmed.yes = true
            if !report.succeeded || plan.hasErrors || plan.summary.refused > 0 {
                failed = true
                break
            }
        }
        if failed { throw ExitCode.failed }
    }
}
