import ArgumentParser
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

    @Option(name: .customLong("target"), help: ArgumentHelp("Only this object (and a VM's disks and snapshots), e.g. vm/web-1. Repeatable.", valueName: "KIND/NAME"))
    public var targets: [String] = []

    @Flag(help: "Print the plan as JSON.")
    public var json = false

    @Option(help: "Save the plan (with a fingerprint of the live state) for `fleet apply FILE`.")
    public var out: String?

    @Flag(help: "Exit 2 when there are changes, 0 when there are none.")
    public var detailedExitcode = false

    @Flag(help: "Plan to take declared objects whose names are taken by unmanaged ones under management.")
    public var adopt = false

    public init() {}

    public func validate() throws {
        for t in targets where ObjectRef(parsing: t) == nil {
            throw ValidationError("--target \(t): expected KIND/NAME with KIND one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    public func run() throws {
        let fleet = try loadFleet(manifest)
        let hosts = try connection.hosts(for: fleet)
        let (plan, _) = computePlan(fleet: fleet, hosts: hosts, timeout: connection.timeout,
                                    options: PlanOptions(adopt: adopt, targets: targets.compactMap(ObjectRef.init(parsing:))))
        if json {
            printOut(try jsonString(plan))
        } else {
            printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan))
        }
        if let out {
            do {
                try Data(try jsonString(plan).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                printError("error: cannot write plan to \(out): \(error.localizedDescription)")
                throw ExitCode(1)
            }
            if !json { printOut("Plan saved to \(out); run `fleet apply \(out)` to apply exactly these changes.") }
        }
        throw ExitCode(Self.exitCode(plan, detailed: detailedExitcode))
    }

    static func exitCode(_ plan: Plan, detailed: Bool) -> Int32 {
        if plan.hasErrors || plan.summary.refused > 0 { return 1 }
        if detailed && !plan.isEmpty { return 2 }
        return 0
    }
}
