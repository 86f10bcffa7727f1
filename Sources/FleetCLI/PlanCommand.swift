import ArgumentParser
import FleetExecution
import FleetImages
import FleetModel
import FleetPlanning
import Foundation

/// `fleet plan`: what apply would do, and why.
public struct PlanCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on each host, attribute by attribute.",
        discussion: """
            Exit status: 0 success (with --detailed-exitcode: 0 no changes, 2 changes), \
            1 an error (a host unreachable) or a refused change.
            """)

    @OptionGroup public var manifest: ManifestOptions
    @OptionGroup public var connection: ConnectionOptions

    @OptionGroup public var target: TargetOptions

    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable { case text, json, markdown }

    @Option(
        help: ArgumentHelp(
            "Output format: text, json, or markdown (for a pull-request comment or $GITHUB_STEP_SUMMARY; see examples/ci).",
            valueName: "FORMAT"))
    public var format: Format?

    @Flag(help: "Print the plan as JSON (the same as --format json).")
    public var json = false

    /// `--format`, with `--json` as its alias.
    var effectiveFormat: Format { format ?? (json ? .json : .text) }

    @Option(help: "Save the plan (with a fingerprint of the live state) for `fleet apply FILE`.")
    public var out: String?

    @Flag(help: "Exit 2 when there are changes, 0 when there are none.")
    public var detailedExitcode = false

    @Flag(help: "Plan to take declared objects whose names are taken by unmanaged ones under management.")
    public var adopt = false

    @Flag(help: "Place every VM with host: auto or hosts: again, as if new; a VM that moves migrates.")
    public var rebalance = false
    @Option(
        help: ArgumentHelp(
            "Plan the waves `fleet apply --max-unavailable n` runs: every VM group's budget, overriding rollout: max_unavailable.",
            valueName: "n"))
    public var maxUnavailable: Int?

    public init() {}

    public func validate() throws {
        if let n = maxUnavailable, n < 1 { throw ValidationError("--max-unavailable must be at least 1") }
        if json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) ask for two formats: give one")
        }
    }

    public func run() throws {
        let (fleet, files) = try loadManifests(manifest.effectivePaths)
        let hosts = try connection.hosts(for: fleet)
        let session = Session(
            fleet: fleet, hosts: hosts, timeout: connection.timeout,
            secrets: try secrets(for: fleet, paths: manifest.effectivePaths, create: true))
        var options = PlanOptions(adopt: adopt, targets: target.refs)
        options.rebalance = rebalance
        options.maxUnavailable = maxUnavailable
        var (plan, live) = session.planPrintingWarnings(options)
        // Only the machine-read outputs carry it: it costs an encoding of the whole live state.
        if effectiveFormat == .json || out != nil { plan.liveFingerprint = live.fingerprint }
        try target.checkMatches(fleet, plan)
        switch effectiveFormat {
        case .json: printOut(try jsonString(plan))
        case .markdown: printOut(MarkdownPlanRenderer().render(plan))
        case .text: printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan))
        }
        if let out {
            let absolute = manifest.effectivePaths.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            var saved = SavedPlan(
                paths: absolute, manifests: Session.digests(of: files.map { URL(fileURLWithPath: $0).standardizedFileURL.path }),
                hosts: hosts, adopt: adopt, targets: options.targets, maxUnavailable: maxUnavailable, plan: plan)
            if rebalance { saved.rebalance = true }
            do {
                try writePrivateFile(out, Data(try jsonString(saved).utf8))
            } catch {
                printError("error: cannot write plan to \(out): \(error.localizedDescription)")
                throw ExitCode.failed
            }
            if effectiveFormat == .text { printOut("Plan saved to \(out); run `fleet apply \(out)` to apply exactly these changes.") }
        }
        throw ExitCode(Self.exitCode(plan, detailed: detailedExitcode))
    }

    static func exitCode(_ plan: Plan, detailed: Bool) -> Int32 {
        if plan.hasErrors || plan.summary.refused > 0 { return ExitCode.failed.rawValue }
        if detailed && !plan.isEmpty { return ExitCode.changesPresent.rawValue }
        return ExitCode.success.rawValue
    }
}
