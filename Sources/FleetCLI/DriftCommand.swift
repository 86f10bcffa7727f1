import ArgumentParser
import FleetExecution
import FleetImages
import FleetModel
import FleetPlanning
import Foundation

/// `fleet drift`: the plan from the point of view of a timer.
public struct DriftCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Report out-of-band changes: exit 0 in sync, 2 drift, 1 error.",
        discussion: "Meant for a systemd timer or cron; see examples/systemd and docs/drift.md.")

    @OptionGroup public var manifest: ManifestOptions
    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var target: TargetOptions

    @Flag(help: "Print the drift as JSON (the plan value).")
    public var json = false

    @Option(help: "Write Prometheus node-exporter textfile metrics to this file (atomically).")
    public var textfile: String?

    public init() {}

    public func run() throws {
        let start = Date()
        let fleet: FleetModel.Fleet
        do {
            fleet = try loadFleet(manifest)
        } catch {
            if let textfile { try? DriftMetrics.write(to: textfile, fleet: nil, plan: nil, duration: Date().timeIntervalSince(start)) }
            throw error
        }
        let hosts = try connection.hosts(for: fleet)
        let (plan, _) = Session(
            fleet: fleet, hosts: hosts, timeout: connection.timeout,
            secrets: try secrets(for: fleet, paths: manifest.effectivePaths, create: false)
        )
        .planPrintingWarnings(PlanOptions(targets: target.refs))
        try target.checkMatches(fleet, plan)
        if json {
            printOut(try jsonString(plan))
        } else if plan.isEmpty && !plan.hasErrors {
            printOut("fleet \(fleet.name): in sync (\(hosts.count) host\(hosts.count == 1 ? "" : "s"))")
        } else {
            printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan))
        }
        if let textfile {
            do {
                try DriftMetrics.write(to: textfile, fleet: fleet.name, plan: plan, duration: Date().timeIntervalSince(start))
            } catch {
                printError("error: cannot write metrics to \(textfile): \(error.localizedDescription)")
                throw ExitCode.failed
            }
        }
        if plan.hasErrors { throw ExitCode.failed }
        throw plan.isEmpty ? ExitCode.success : ExitCode.changesPresent
    }
}

/// node-exporter textfile collector format.
enum DriftMetrics {
    static func render(fleet: String?, plan: Plan?, duration: Double, previousSuccess: Double?, now: Double) -> String {
        let f = escape(fleet ?? "")
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ samples: [(String, String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) gauge")
            for (labels, value) in samples { lines.append("\(name){\(labels)} \(value)") }
        }
        let hosts = plan?.hosts ?? []
        metric(
            "fleet_drift_changes", "Changes needed to bring the host back in line with the manifests.",
            hosts.filter { $0.error == nil }.map { ("fleet=\"\(f)\",host=\"\(escape($0.host))\"", String($0.changes.count)) })
        metric(
            "fleet_drift_refused", "Changes fleet refuses to make (see fleet plan).",
            hosts.filter { $0.error == nil }.map {
                ("fleet=\"\(f)\",host=\"\(escape($0.host))\"", String($0.changes.filter { $0.action == .refused }.count))
            })
        metric(
            "fleet_drift_host_up", "1 when the host could be read.",
            hosts.map { ("fleet=\"\(f)\",host=\"\(escape($0.host))\"", $0.error == nil ? "1" : "0") })
        let ok = plan.map { !$0.hasErrors } ?? false
        let success = ok ? now : previousSuccess
        if let success {
            metric(
                "fleet_drift_last_success_timestamp_seconds", "When a drift check last read every host.",
                [("fleet=\"\(f)\"", String(format: "%.0f", success))])
        }
        metric(
            "fleet_drift_duration_seconds", "How long the last drift check took.", [("fleet=\"\(f)\"", String(format: "%.3f", duration))])
        metric("fleet_drift_success", "1 when the last drift check read every host.", [("fleet=\"\(f)\"", ok ? "1" : "0")])
        return lines.joined(separator: "\n") + "\n"
    }

    static func write(to path: String, fleet: String?, plan: Plan?, duration: Double) throws {
        let previous = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(lastSuccess)
        let text = render(fleet: fleet, plan: plan, duration: duration, previousSuccess: previous, now: Date().timeIntervalSince1970)
        // node-exporter must never read a half-written file: write beside it, then rename.
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func lastSuccess(_ text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("fleet_drift_last_success_timestamp_seconds{") {
            if let v = line.split(separator: " ").last { return Double(v) }
        }
        return nil
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(
            of: "\n", with: "\\n")
    }
}
