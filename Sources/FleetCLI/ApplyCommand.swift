import ArgumentParser
import FleetExecution
import FleetImages
import FleetModel
import FleetPlanning
import Foundation

/// Options shared by `apply` and `destroy`.
public struct ExecutionOptions: ParsableArguments {
    @Flag(help: "Do not ask for confirmation.")
    public var yes = false
    @Option(
        help: ArgumentHelp(
            "Changes in flight per host (default: 4 libvirt calls; the host's CPU count when starting guests).",
            valueName: "n"))
    public var parallelism: Int?
    @Option(help: "Seconds to wait for another fleet run on the same host to finish.")
    public var lockTimeout: Double = 60
    @Option(help: "Seconds a guest gets to shut down before it is forced off.")
    public var shutdownTimeout: Double = 60
    @Flag(help: "Print one JSON event per line instead of text progress.")
    public var json = false
    @Flag(help: "Keep the UEFI variables (NVRAM file) of the VMs that are deleted; a VM of the same name reuses them.")
    public var keepNvram = false
    public init() {}

    public func validate() throws {
        if let p = parallelism, p < 1 { throw ValidationError("--parallelism must be at least 1") }
    }

    func applyOptions(connectTimeout: Double, allowRestart: Bool, allowDestroy: Bool) -> ApplyOptions {
        var o = ApplyOptions()
        o.allowRestart = allowRestart
        o.allowDestroy = allowDestroy
        o.keepNvram = keepNvram
        o.parallelism = parallelism
        o.shutdownTimeout = shutdownTimeout
        o.connectTimeout = connectTimeout
        return o
    }
}

public struct ApplyCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply the manifests (or a saved plan) to the hosts.",
        discussion: "Exit status: 0 everything applied, 1 anything failed, was skipped or refused, 2 a usage error.")

    @Argument(help: "Manifest directories or files, or one saved plan file (from `fleet plan --out`).")
    public var paths: [String] = []
    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var execution: ExecutionOptions
    @OptionGroup public var target: TargetOptions
    @Flag(help: "Restart guests whose config changes need it.")
    public var allowRestart = false
    @Flag(help: "Allow changes that destroy data: replace, and delete of VMs, disks and snapshots.")
    public var allowDestroy = false
    @Flag(help: "Take declared objects whose names are taken by unmanaged ones under management.")
    public var adopt = false
    @Flag(help: "Place every VM with host: auto or hosts: again, as if new; a VM that moves migrates (live when running).")
    public var rebalance = false
    @Option(
        name: .customLong("wait"),
        help: ArgumentHelp(
            "Wait for the VMs apply starts to be ready: --wait alone, --wait=TIMEOUT (300, 90s, 10m; default 300 s), "
                + "--wait=MODE for VMs without wait: (lease, agent, ssh-port), or --wait=MODE,TIMEOUT. "
                + "VMs with wait: are always waited for.", valueName: "MODE,TIMEOUT"))
    public var wait: String?
    @Option(
        help: ArgumentHelp(
            "Roll restart- and replace-class changes of every VM group in waves of at most n VMs for this run, "
                + "overriding rollout: max_unavailable (groups without rollout: too; a saved plan keeps the waves it was made with).",
            valueName: "n"))
    public var maxUnavailable: Int?

    public init() {}

    public func validate() throws {
        if let n = maxUnavailable, n < 1 { throw ValidationError("--max-unavailable must be at least 1") }
    }

    public func run() throws {
        _ = try WaitRequest(parsing: wait)  // a malformed --wait is a usage error before anything changes
        let options = execution.applyOptions(connectTimeout: connection.timeout, allowRestart: allowRestart, allowDestroy: allowDestroy)
        if paths.count == 1, let saved = try loadSavedPlan(paths[0]) {
            if maxUnavailable != nil {
                printError(
                    "error: a saved plan's waves were cut when it was made: give --max-unavailable to `fleet plan --out` instead; nothing was changed"
                )
                throw ExitCode.usage
            }
            try applySaved(saved, options: options)
            return
        }
        let fleet = try loadFleet(ManifestOptions(paths: paths))
        let session = Session(
            fleet: fleet, hosts: try connection.hosts(for: fleet), timeout: connection.timeout,
            secrets: try secrets(for: fleet, paths: paths, create: true))
        // The lock comes first: the state the plan is computed from cannot change under another fleet run.
        let locks = try lockHosts(session, command: "apply", timeout: execution.lockTimeout)
        defer { locks.release() }
        var planOptions = PlanOptions(adopt: adopt, targets: target.refs)
        planOptions.rebalance = rebalance
        planOptions.maxUnavailable = maxUnavailable
        let plan = session.planPrintingWarnings(planOptions).0
        try target.checkMatches(fleet, plan)
        if !execution.json { printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan)) }
        let report = try execute(plan, session: session, options: options, execution: execution, verb: "apply")
        // Waiting for guests changes nothing: other runs on these hosts need not wait for their boot.
        locks.release()
        let ready = try waitForStartedVMs(plan, report: report, json: execution.json, connectTimeout: connection.timeout)
        if !report.succeeded || plan.hasErrors || plan.summary.refused > 0 || !ready { throw ExitCode.failed }
    }

    /// Recomputes the saved plan from its manifests (unchanged since, by digest) and the live state, and applies
    /// the recomputed plan only if it equals the saved one change for change.
    func applySaved(_ saved: SavedPlan, options: ApplyOptions) throws {
        let (fleet, files) = try loadManifests(saved.paths)
        let digests = Session.digests(of: files)
        if digests != saved.manifests {
            let names = Set(digests.keys).union(saved.manifests.keys).sorted().filter { digests[$0] != saved.manifests[$0] }
            printError(
                "error: the manifests changed since this plan was made (\(names.joined(separator: ", "))); run `fleet plan --out` again")
            throw ExitCode.failed
        }
        let session = Session(
            fleet: fleet, hosts: saved.hosts, timeout: connection.timeout,
            secrets: try secrets(for: fleet, paths: saved.paths, create: false))
        let locks = try lockHosts(session, command: "apply", timeout: execution.lockTimeout)
        defer { locks.release() }
        var planOptions = PlanOptions(adopt: saved.adopt, targets: saved.targets)
        planOptions.rebalance = saved.rebalance ?? false
        planOptions.maxUnavailable = saved.maxUnavailable
        let plan = session.planPrintingWarnings(planOptions).0
        let differences = SavedPlan.differences(saved: saved.plan, now: plan)
        guard differences.isEmpty else {
            printError("error: the plan computed now differs from the saved plan; nothing was changed. Run `fleet plan --out` again.")
            for d in differences { printError("  \(d)") }
            throw ExitCode.failed
        }
        if !execution.json { printOut(PlanRenderer(color: stdoutIsColorTerminal).render(plan)) }
        let report = try execute(plan, session: session, options: options, execution: execution, verb: "apply")
        // Waiting for guests changes nothing: other runs on these hosts need not wait for their boot.
        locks.release()
        let ready = try waitForStartedVMs(plan, report: report, json: execution.json, connectTimeout: connection.timeout)
        if !report.succeeded || plan.hasErrors || plan.summary.refused > 0 || !ready { throw ExitCode.failed }
    }

    /// A file that is not a manifest is read as a saved plan; anything that does not decode is a clear error.
    func loadSavedPlan(_ path: String) throws -> SavedPlan? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
            !path.hasSuffix(".yaml"), !path.hasSuffix(".yml")
        else { return nil }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= 256 << 20, let data = FileManager.default.contents(atPath: path) else {
            printError("error: \(path) cannot be read as a plan saved by `fleet plan --out`")
            throw ExitCode.failed
        }
        struct Header: Decodable { var format: Int? }
        let format = (try? JSONDecoder().decode(Header.self, from: data))?.format
        guard format == SavedPlan.currentFormat else {
            printError(
                "error: \(path) is not a plan saved by this version of `fleet plan --out`"
                    + (format.map { " (format \($0))" } ?? "") + "; run `fleet plan --out` again")
            throw ExitCode.failed
        }
        do {
            return try JSONDecoder().decode(SavedPlan.self, from: data)
        } catch {
            printError("error: \(path) is not a valid saved plan: \(describeDecoding(error))")
            throw ExitCode.failed
        }
    }
}

/// A short, safe description of a JSON decoding failure (where, and what was expected).
func describeDecoding(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func path(_ c: DecodingError.Context) -> String {
        c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
    switch e {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
        return "\(path(c).isEmpty ? "" : path(c) + ": ")\(c.debugDescription)"
    @unknown default: return "\(e)"
    }
}

/// Confirmation, SIGINT handling, progress and the final summary; shared by apply and destroy. The caller
/// holds the hosts' locks (taken before it read the state it planned from).
func execute(_ plan: Plan, session: Session, options: ApplyOptions, execution: ExecutionOptions, verb: String) throws -> ApplyReport {
    let actionable = plan.changes.filter { $0.action != .refused }
    if actionable.isEmpty {
        if !execution.json { printOut("Nothing to \(verb).") }
        return ApplyReport(results: [])
    }
    if !execution.yes {
        guard isatty(STDIN_FILENO) == 1 else {
            printError("error: no terminal to confirm on; run with --yes to \(verb) without confirmation")
            throw ExitCode.failed
        }
        FileHandle.standardOutput.write(Data("Do you want to \(verb) these changes? Only 'yes' is accepted: ".utf8))
        guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
            printOut("\(verb.capitalized) cancelled.")
            throw ExitCode.failed
        }
    }
    let json = execution.json
    let printer = ProgressPrinter(json: json)
    var options = options
    options.uploadProgress = { host, object, done, total in printer.transfer(host: host, object: object, done: done, total: total) }
    let executor = session.executor(plan, options: options) { printer.print($0) }
    // SIGINT: in-flight operations finish, nothing new starts, then the summary.
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        executor.cancelled.set()
        printError("interrupt: finishing running operations, starting no new ones")
    }
    source.resume()
    let report = executor.run()
    printer.stop()
    source.cancel()
    signal(SIGINT, SIG_DFL)
    if !json {
        var summary = "\(verb.capitalized): \(report.applied) applied, \(report.failed) failed, \(report.skipped) skipped"
        if plan.summary.refused > 0 { summary += ", \(plan.summary.refused) refused (not attempted)" }
        printOut(summary)
        for e in report.results where e.outcome != .applied {
            let what = e.action == ApplyEvent.waitAction ? "not ready" : e.outcome!.rawValue
            printOut("  \(what): \(e.host) \(e.object): \(e.message ?? "")")
        }
        for r in report.rollouts {
            printOut(r.stopped ?? "rollout of \(r.group): \(r.completed) of \(r.waves) wave\(r.waves == 1 ? "" : "s") done")
        }
    }
    return report
}

/// Progress of apply/destroy: JSON lines with --json; one timestamped line per operation start and
/// finish without a terminal (CI, cron); on a terminal, finished lines scroll while the operations
/// still running stay at the bottom with their elapsed time.
final class ProgressPrinter: @unchecked Sendable {
    let json: Bool
    let live: Bool
    let lock = NSLock()
    let formatter = ISO8601DateFormatter()
    var running: [(key: String, label: String, since: Date)] = []
    /// Bytes sent and total per running upload (`host object`), shown as a progress bar.
    var transfers: [String: (done: UInt64, total: UInt64)] = [:]
    var drawn = 0
    var timer: DispatchSourceTimer?

    init(json: Bool) {
        self.json = json
        live = !json && stdoutIsColorTerminal
        if live {
            let t = DispatchSource.makeTimerSource(queue: .global())
            t.schedule(deadline: .now() + 0.5, repeating: 0.5)
            t.setEventHandler { [weak self] in self?.redraw() }
            t.resume()
            timer = t
        }
    }

    deinit { timer?.cancel() }

    func stop() {
        timer?.cancel()
        lock.lock()
        defer { lock.unlock() }
        erase()
    }

    func print(_ e: ApplyEvent) {
        lock.lock()
        defer { lock.unlock() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            if let d = try? encoder.encode(e) { printOut(String(decoding: d, as: UTF8.self)) }
            return
        }
        let ts = formatter.string(from: e.time)
        let key = "\(e.host) \(e.object) \(e.action)"
        if live {
            erase()
            switch e.phase {
            case .start:
                running.append((key, "\(e.host) \(e.object): \(e.action)", e.time))
            case .finish:
                let since = running.first { $0.key == key }?.since
                running.removeAll { $0.key == key }
                transfers["\(e.host) \(e.object)"] = nil
                let took = since.map { String(format: " (%.1f s)", e.time.timeIntervalSince($0)) } ?? ""
                let mark = e.outcome == .applied ? "\u{1B}[32m✓\u{1B}[0m" : "\u{1B}[31m✗\u{1B}[0m"
                printOut("\(mark) \(e.host) \(e.object): \(Self.outcome(e))\(took)" + (e.message.map { ": \($0)" } ?? ""))
            }
            draw()
            return
        }
        switch e.phase {
        case .start: printOut("\(ts) \(e.host) \(e.object): \(e.action)…")
        case .finish:
            printOut("\(ts) \(e.host) \(e.object): \(Self.outcome(e))" + (e.message.map { ": \($0)" } ?? ""))
        }
    }

    /// `create applied`; a rollout wave's wait: `wait ready`, `wait not ready`.
    static func outcome(_ e: ApplyEvent) -> String {
        guard e.action == ApplyEvent.waitAction else { return "\(e.action) \(e.outcome?.rawValue ?? "")" }
        return "\(e.action) \(e.outcome == .applied ? "ready" : "not ready")"
    }

    func transfer(host: String, object: String, done: UInt64, total: UInt64) {
        guard live else { return }
        lock.lock()
        defer { lock.unlock() }
        transfers["\(host) \(object)"] = (done, total)
    }

    private func redraw() {
        lock.lock()
        defer { lock.unlock() }
        erase()
        draw()
    }

    /// Moves up over the running-operations block and clears it.
    private func erase() {
        var s = ""
        for _ in 0..<drawn { s += "\u{1B}[1A\u{1B}[2K" }
        drawn = 0
        if !s.isEmpty { FileHandle.standardOutput.write(Data(s.utf8)) }
    }

    private func draw() {
        let now = Date()
        var s = ""
        for r in running {
            let elapsed = now.timeIntervalSince(r.since)
            s += String(format: "  \u{1B}[33m…\u{1B}[0m %@ (%.1f s)", r.label, elapsed)
            let tkey = r.key.split(separator: " ").prefix(2).joined(separator: " ")
            if let t = transfers[tkey], t.total > 0 {
                // bytes, rate, ETA: what an operator watching a large image upload wants.
                let fraction = Double(t.done) / Double(t.total)
                let bar = String(repeating: "#", count: Int(fraction * 20)) + String(repeating: ".", count: 20 - Int(fraction * 20))
                let rate = elapsed > 0 ? Double(t.done) / elapsed : 0
                let eta = rate > 0 ? Double(t.total - t.done) / rate : 0
                s += String(
                    format: " [%@] %.0f/%.0f MiB %.0f MB/s ETA %.0f s", bar, Double(t.done) / 1_048_576, Double(t.total) / 1_048_576,
                    rate / 1e6, eta)
            }
            s += "\n"
        }
        drawn = running.count
        if !s.isEmpty { FileHandle.standardOutput.write(Data(s.utf8)) }
    }
}
