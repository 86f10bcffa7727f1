import FleetCLI
import FleetPlanning
import FleetTestSupport
import Foundation
import Testing
import Yams

/// The examples operators copy: the CI pipelines (examples/ci), the drift timer (examples/systemd) and the drift alerts
/// (examples/prometheus). Each is checked with the tool that will read it, and every `fleet` command line they hold
/// goes through fleet's real argument parser, so renaming a flag breaks this test rather than someone's pipeline.
@Suite struct OperatorExamplesTests {
    static let examples = ValidateCLITests.repo.appendingPathComponent("examples")

    // MARK: CI pipelines

    /// The scripts of a pipeline file: the values of `keys` anywhere in the document (a string, or a list of them).
    static func scripts(_ yaml: String, keys: Set<String>) throws -> [String] {
        var out: [String] = []
        func walk(_ node: Any?) {
            // Keys are not all strings: YAML 1.1 reads GitHub's `on:` as true.
            if let map = node as? [AnyHashable: Any] {
                for (k, v) in map.sorted(by: { "\($0.key)" < "\($1.key)" }) {
                    if let k = k.base as? String, keys.contains(k) {
                        if let s = v as? String { out.append(s) }
                        if let list = v as? [Any] { out += list.compactMap { $0 as? String } }
                    } else {
                        walk(v)
                    }
                }
            } else if let list = node as? [Any] {
                list.forEach(walk)
            }
        }
        walk(try Yams.load(yaml: yaml))
        return out
    }

    static func pipeline(_ path: String, keys: Set<String>) throws -> (text: String, commands: [[String]]) {
        let text = try String(contentsOf: examples.appendingPathComponent(path), encoding: .utf8)
        return (text, try scripts(text, keys: keys).flatMap(ShellWords.fleetCommands))
    }

    /// Parses each command as `fleet` would, and returns the usage errors.
    static func usageErrors(_ commands: [[String]]) -> [String] {
        commands.compactMap { args in
            do {
                _ = try FleetCommand.parse(commandLine: args)
                return nil
            } catch {
                return "fleet \(args.joined(separator: " ")): \(FleetCommand.message(for: error))"
            }
        }
    }

    /// What every pipeline must do: validate, then plan as markdown into a saved plan, and find its comment by the
    /// marker the renderer writes.
    static func expectPlanInReview(_ text: String, _ commands: [[String]], validateArgs: [String], file: String) {
        #expect(!commands.isEmpty, "\(file) has no fleet command")
        #expect(usageErrors(commands).isEmpty, "\(file): \(usageErrors(commands))")
        #expect(
            commands.contains { $0.first == "validate" && Self.has(validateArgs, in: $0) },
            "\(file) validates with \(validateArgs): \(commands)")
        #expect(
            commands.contains { $0.first == "plan" && Self.has(["--format", "markdown"], in: $0) && $0.contains("--out") },
            "\(file) plans as markdown into a saved plan: \(commands)")
        #expect(text.contains(MarkdownPlanRenderer.marker), "\(file) finds its comment by \(MarkdownPlanRenderer.marker)")
    }

    static func has(_ sub: [String], in args: [String]) -> Bool {
        sub.isEmpty || (0...max(0, args.count - sub.count)).contains { Array(args.dropFirst($0).prefix(sub.count)) == sub }
    }

    @Test func githubWorkflow() throws {
        let file = "ci/github/fleet.yml"
        let (text, commands) = try Self.pipeline(file, keys: ["run"])
        Self.expectPlanInReview(text, commands, validateArgs: ["--format", "github"], file: file)
        #expect(text.contains("$GITHUB_STEP_SUMMARY") && text.contains("actions/upload-artifact"), "\(file)")
        #expect(text.contains("scripts/install.sh"), "\(file) installs fleet with its install script")
    }

    @Test func gitlabPipeline() throws {
        let file = "ci/gitlab/.gitlab-ci.yml"
        let (text, commands) = try Self.pipeline(file, keys: ["script", "before_script", "after_script"])
        Self.expectPlanInReview(text, commands, validateArgs: [], file: file)
        #expect(text.contains("artifacts:") && text.contains("/notes"), "\(file) keeps artifacts and writes a note")
        #expect(text.contains("scripts/install.sh"), "\(file) installs fleet with its install script")
    }

    /// The extraction itself: commands at command positions only, cut at redirections and operators, quotes removed.
    @Test func shellWords() {
        let script = """
            status=0
            fleet plan . --format markdown --out 'plan file.json' > plan.md || status=$?
            if fleet validate "$M" 2>&1; then echo "fleet plan failed"; fi
            # fleet nothing
            X=1 fleet drift . | tee out; cd dir && fleet \\
              show --wide
            """
        #expect(
            ShellWords.fleetCommands(in: script) == [
                ["plan", ".", "--format", "markdown", "--out", "plan file.json"], ["validate", "$M"], ["drift", "."],
                ["show", "--wide"]
            ])
        #expect(!Self.usageErrors([["plan", "--format", "html"]]).isEmpty, "a bad flag is reported")
    }

    // MARK: systemd

    static let systemdAnalyze = "/usr/bin/systemd-analyze"

    /// The unit files installed into a temporary root (beside a copy of the system's own units, which they need:
    /// timers.target, sysinit.target) with the ExecStart binary where the unit expects it, then checked by
    /// `systemd-analyze verify --root`, which must have nothing to say. PID 1 is not systemd here; verify needs no
    /// running manager.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: systemdAnalyze), "needs systemd-analyze (Debian's systemd)"))
    func systemdUnitsVerify() throws {
        let units = Self.examples.appendingPathComponent("systemd")
        let names = try FileManager.default.contentsOfDirectory(atPath: units.path).filter {
            $0.hasSuffix(".service") || $0.hasSuffix(".timer")
        }.sorted()
        #expect(names == ["fleet-drift.service", "fleet-drift.timer"], "\(names)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-systemd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let etc = root.appendingPathComponent("etc/systemd/system")
        try FileManager.default.createDirectory(at: etc, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("usr/lib/systemd"), withIntermediateDirectories: true)
        #expect(shell("cp -r /usr/lib/systemd/system '\(root.path)/usr/lib/systemd/'").status == 0)
        for n in names { try FileManager.default.copyItem(at: units.appendingPathComponent(n), to: etc.appendingPathComponent(n)) }

        // ExecStart: the binary (created in the root, as install.sh puts it) and fleet's own arguments.
        let service = try String(contentsOf: units.appendingPathComponent("fleet-drift.service"), encoding: .utf8)
        let execStart = try #require(
            service.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }.map { String($0.dropFirst("ExecStart=".count)) })
        let words = ShellWords.split(execStart)
        let binary = try #require(words.first)
        #expect(binary.hasPrefix("/") && binary.hasSuffix("/fleet"), "\(binary)")
        let exe = root.appendingPathComponent(String(binary.dropFirst()))
        try FileManager.default.createDirectory(at: exe.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("#!/bin/sh\n".utf8).write(to: exe)
        #expect(chmod(exe.path, 0o755) == 0)
        #expect(Self.usageErrors([Array(words.dropFirst())]).isEmpty, "\(Self.usageErrors([Array(words.dropFirst())]))")
        // The metrics file lies where the unit may write (ProtectSystem=strict).
        let textfile = try #require(words.firstIndex(of: "--textfile").map { words[$0 + 1] })
        let writable = service.split(separator: "\n").filter { $0.hasPrefix("ReadWritePaths=") }.flatMap {
            $0.dropFirst("ReadWritePaths=".count).split(separator: " ").map(String.init)
        }
        #expect(writable.contains { textfile.hasPrefix($0 + "/") }, "\(textfile) is outside ReadWritePaths \(writable)")

        func verify() -> (status: Int32, out: String) {
            shell(
                "\(Self.systemdAnalyze) verify --root='\(root.path)' "
                    + names.map { "/etc/systemd/system/\($0)" }.joined(separator: " ") + " 2>&1")
        }
        let good = verify()
        #expect(good.status == 0 && good.out.isEmpty, "systemd-analyze verify: \(good.status) \(good.out)")
        // The oracle speaks up: an unknown key is reported.
        let handle = try FileHandle(forWritingTo: etc.appendingPathComponent("fleet-drift.service"))
        handle.seekToEndOfFile()
        handle.write(Data("NoSuchKey=1\n".utf8))
        try handle.close()
        let bad = verify()
        #expect(bad.out.contains("NoSuchKey"), "systemd-analyze verify did not report an unknown key: \(bad.out)")
    }

    // MARK: Prometheus

    static let rules = examples.appendingPathComponent("prometheus/fleet-drift.rules.yml")

    /// The metric names the alert expressions use.
    static func alertMetrics() throws -> Set<String> {
        let doc = try #require(try Yams.load(yaml: try String(contentsOf: rules, encoding: .utf8)) as? [AnyHashable: Any])
        let groups = try #require(doc["groups"] as? [Any]).compactMap { $0 as? [AnyHashable: Any] }
        let exprs = groups.flatMap { ($0["rules"] as? [Any]) ?? [] }.compactMap { ($0 as? [AnyHashable: Any])?["expr"] as? String }
        #expect(!exprs.isEmpty)
        let name = try NSRegularExpression(pattern: "\\bfleet_[a-z_]+\\b")
        return Set(
            exprs.flatMap { e in
                name.matches(in: e, range: NSRange(e.startIndex..., in: e)).map { String(e[Range($0.range, in: e)!]) }
            })
    }

    /// Every metric an alert uses is one `fleet drift --textfile` writes (run for real against a test-driver host).
    @Test func alertMetricsAreWhatDriftWrites() throws {
        let used = try Self.alertMetrics()
        #expect(used.count >= 3, "\(used)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-drift-\(UUID().uuidString).prom")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try ValidateCLITests.run([
            "drift", PlanCLITests.manifests, "--connect", "test://\(PlanCLITests.fixture)", "--textfile", out.path
        ])
        #expect(r.status == 2 || r.status == 1, "drift against the fixture: \(r.status) \(r.stderr)")
        let written = try String(contentsOf: out, encoding: .utf8)
        let names = Set(
            written.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.compactMap { $0.split(separator: " ").dropFirst(2).first }
                .map(String.init))
        #expect(used.isSubset(of: names), "alerts use \(used.subtracting(names).sorted()), which drift does not write (\(names.sorted()))")
        // docs/drift.md shows the rule file and names every metric it documents.
        let doc = try String(contentsOf: ValidateCLITests.repo.appendingPathComponent("docs/drift.md"), encoding: .utf8)
        #expect(doc.contains("examples/prometheus/fleet-drift.rules.yml"))
        for n in names { #expect(doc.contains("`\(n)`"), "docs/drift.md does not document \(n)") }
    }

    static var promtool: String? {
        let found = shell("command -v promtool").out.trimmingCharacters(in: .whitespacesAndNewlines)
        return found.isEmpty ? nil : found
    }

    /// scripts/setup.sh takes promtool out of Debian's prometheus package.
    @Test(.enabled(if: promtool != nil, "promtool not installed (scripts/setup.sh extracts it from Debian's prometheus package)"))
    func promtoolAcceptsTheRules() throws {
        let r = shell("'\(Self.promtool!)' check rules '\(Self.rules.path)' 2>&1")
        #expect(r.status == 0 && r.out.contains("SUCCESS"), "promtool check rules: \(r.status) \(r.out)")
    }
}

/// Just enough of the POSIX shell's word splitting to find `fleet` commands in CI scripts and unit files: quotes,
/// backslashes, comments, operators (`;`, `&&`, `||`, `|`, `(`, `$(`) and redirections (`>`, `2>&1`, `< f`).
enum ShellWords {
    enum Token: Equatable {
        case word(String)
        case op(String)
    }

    static func tokens(_ line: String) -> [Token] {
        var out: [Token] = []
        var word = ""
        var inWord = false
        var chars = Array(line)[...]
        func flush() {
            if inWord { out.append(.word(word)) }
            word = ""
            inWord = false
        }
        while let c = chars.popFirst() {
            switch c {
            case "'":
                inWord = true
                while let d = chars.popFirst(), d != "'" { word.append(d) }
            case "\"":
                inWord = true
                while let d = chars.popFirst(), d != "\"" {
                    if d == "\\", let e = chars.first, "\"\\$`".contains(e) { word.append(chars.removeFirst()) } else { word.append(d) }
                }
            case "\\":
                inWord = true
                if let d = chars.popFirst() { word.append(d) }
            case " ", "\t":
                flush()
            case "#" where !inWord:
                return out
            case ";", "&", "|", "(", ")", "<", ">":
                // `2>` and `2>&1`: a number right before a redirection belongs to it.
                if c == ">" || c == "<", inWord, !word.isEmpty, word.allSatisfy(\.isNumber) {
                    word = ""
                    inWord = false
                }
                flush()
                var op = String(c)
                if let d = chars.first, (c == "&" && d == "&") || (c == "|" && d == "|") || (c == ">" && (d == ">" || d == "&")) {
                    op.append(chars.removeFirst())
                }
                out.append(.op(op))
            case "$" where chars.first == "(":
                flush()
                chars.removeFirst()
                out.append(.op("$("))
            default:
                inWord = true
                word.append(c)
            }
        }
        flush()
        return out
    }

    /// The words of a simple command line (no operators).
    static func split(_ line: String) -> [String] {
        tokens(line).compactMap {
            if case .word(let w) = $0 { return w }
            return nil
        }
    }

    /// Every `fleet …` command of a script, as its arguments after `fleet`.
    static func fleetCommands(in script: String) -> [[String]] {
        var result: [[String]] = []
        let keywords: Set<String> = ["if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "command"]
        for line in script.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n") {
            let toks = tokens(String(line))
            var i = 0
            var commandStart = true
            while i < toks.count {
                switch toks[i] {
                case .op(let o):
                    if o.hasPrefix(">") || o == "<" {
                        i += 1  // the redirection's target
                    } else {
                        commandStart = true
                    }
                case .word(let w):
                    if commandStart && (keywords.contains(w) || w.range(of: "^[A-Za-z_][A-Za-z0-9_]*=", options: .regularExpression) != nil)
                    {
                        break
                    }
                    if commandStart && w == "fleet" {
                        var args: [String] = []
                        var j = i + 1
                        while j < toks.count, case .word(let a) = toks[j] {
                            args.append(a)
                            j += 1
                        }
                        result.append(args)
                        i = j
                        continue
                    }
                    commandStart = false
                }
                i += 1
            }
        }
        return result
    }
}
