import ArgumentParser
import FleetManifest
import Foundation

/// `fleet validate`: offline checks of manifests. Diagnostics go to stdout in every format;
/// the text format adds a one-line summary on stderr. Exit 0 valid (warnings allowed), 1 errors, 2 usage.
public struct Validate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Check manifests offline and report every problem.",
        discussion: "Exit status: 0 valid (warnings allowed), 1 errors found, 2 usage error.")

    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable { case text, json, github }

    @OptionGroup public var manifest: ManifestOptions
    @Option(help: "Output format: text, json or github (workflow annotations).")
    public var format: Format = .text

    @Flag(help: "Load all paths as one manifest, as plan and apply do, instead of checking each path on its own.")
    public var merge = false

    public init() {}

    public func run() throws {
        let paths = manifest.effectivePaths
        // Each PATH is usually its own fleet (examples/quickstart, examples/lab): check them separately
        // unless --merge asks for the plan/apply view.
        let groups = merge ? [paths] : paths.map { [$0] }
        var diagnostics: [Diagnostic] = []
        var summaries: [String] = []
        for group in groups {
            let result = ManifestLoader().load(paths: group)
            diagnostics += result.diagnostics
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            let warnings = result.diagnostics.count - errors
            var summary = "\(group.joined(separator: " ")): \(result.files.count) file\(result.files.count == 1 ? "" : "s"), "
            if let fleet = result.fleet {
                summary +=
                    "fleet \(fleet.name) is valid (\(fleet.vms.count) VMs, \(fleet.networks.count) networks, \(fleet.pools.count) pools"
                summary += warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s"))" : ")"
            } else {
                summary += "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
            }
            summaries.append(summary)
        }
        var out = ""
        switch format {
        case .text: out = diagnostics.map(\.description).joined(separator: "\n")
        case .json: out = diagnostics.renderJSON()
        case .github: out = diagnostics.map(\.githubAnnotation).joined(separator: "\n")
        }
        if !out.isEmpty { FileHandle.standardOutput.write(Data((out + "\n").utf8)) }
        if format == .text {
            FileHandle.standardError.write(Data((summaries.joined(separator: "\n") + "\n").utf8))
        }
        if diagnostics.hasErrors { throw ExitCode.failed }
    }
}
