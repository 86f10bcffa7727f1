import Foundation
import Yams

/// Turns one manifest file's bytes into YAML documents, converting every failure into a located diagnostic.
/// Guards libyaml/Yams against input that would crash the process rather than fail: invalid UTF-8,
/// and nesting deep enough to overflow the stack in Yams' recursive composer.
enum YAMLSource {
    /// Deeper nesting is rejected before Yams sees the text. Real manifests nest fewer than 10 levels.
    static let maxNesting = 512

    struct Result {
        var documents: [Node] = []
        var diagnostics: [Diagnostic] = []
    }

    static func parse(_ data: Data, file: String) -> Result {
        var result = Result()
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let bad = firstInvalidUTF8(bytes) {
            result.diagnostics.append(
                .error(
                    "file is not valid UTF-8 (invalid byte 0x\(String(bytes[bad.offset], radix: 16)) at byte offset \(bad.offset))",
                    at: SourceLocation(file: file, line: bad.line, column: bad.column)))
            return result
        }
        if let deep = nestingViolation(bytes, limit: maxNesting) {
            result.diagnostics.append(
                .error(
                    "nesting is deeper than \(maxNesting) levels; a manifest never needs that much",
                    at: SourceLocation(file: file, line: deep.line, column: deep.column)))
            return result
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // Yams composes recursively; a larger stack than a test or GCD thread's default gives headroom
        // well beyond `maxNesting`, so the depth bound, not the stack size, decides.
        let box = ResultBox()
        let thread = Thread {
            box.value = composeAll(text, file: file)
            box.done.signal()
        }
        thread.stackSize = 64 << 20
        thread.start()
        box.done.wait()
        result.documents = box.value.documents
        result.diagnostics += box.value.diagnostics
        return result
    }

    private final class ResultBox: @unchecked Sendable {
        var value = Result()
        let done = DispatchSemaphore(value: 0)
    }

    private static func composeAll(_ text: String, file: String) -> Result {
        var result = Result()
        do {
            let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
            while let node = try parser.nextRoot() {
                result.documents.append(node)
            }
        } catch let error as YamlError {
            result.diagnostics.append(diagnostic(for: error, text: text, file: file))
        } catch {
            result.diagnostics.append(.error("cannot parse YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1)))
        }
        return result
    }

    static func diagnostic(for error: YamlError, text: String, file: String) -> Diagnostic {
        func at(_ m: Mark) -> SourceLocation { SourceLocation(file: file, line: max(1, m.line), column: max(1, m.column)) }
        func message(_ context: YamlError.Context?, _ problem: String) -> String {
            let p = problem.trimmingCharacters(in: .whitespaces)
            guard let c = context else { return "YAML syntax error: \(p)" }
            return "YAML syntax error: \(p) (\(c.text) at line \(c.mark.line), column \(c.mark.column))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _):
            var m = message(context, problem)
            if problem.contains("cannot start any token"), let line = text.line(at: mark.line),
                line.unicodeScalars.dropFirst(max(0, mark.column - 1)).first == "\t"
            {
                m += "; tabs are not allowed for indentation in YAML, use spaces"
            }
            return .error(m, at: at(mark))
        case .parser(let context, let problem, let mark, _):
            return .error(message(context, problem), at: at(mark))
        case .composer(let context, let problem, let mark, _):
            return .error(message(context, problem), at: at(mark))
        case .reader(let problem, let offset, _, _):
            let (line, column) = text.lineColumn(ofUTF8Offset: offset ?? 0)
            return .error("cannot read YAML: \(problem)", at: SourceLocation(file: file, line: line, column: column))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let first = context.mark
            let second = text.nextOccurrence(ofKey: key, after: first) ?? (first.line, first.column)
            return .error(
                "duplicate key \"\(key)\" in a mapping (first at line \(first.line), column \(first.column))",
                at: SourceLocation(file: file, line: max(1, second.line), column: max(1, second.column)))
        case .memory:
            return .error("YAML parser ran out of memory", at: SourceLocation(file: file, line: 1, column: 1))
        default:
            return .error("cannot parse YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    /// The offset, line and column (1-based, in bytes) of the first byte that is not valid UTF-8.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> (offset: Int, line: Int, column: Int)? {
        var i = 0
        var line = 1
        var lineStart = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x0A {
                    line += 1
                    lineStart = i + 1
                }
                i += 1
                continue
            }
            var need = 0
            var minValue: UInt32 = 0
            var value: UInt32 = 0
            if b & 0xE0 == 0xC0 {
                need = 1
                minValue = 0x80
                value = UInt32(b & 0x1F)
            } else if b & 0xF0 == 0xE0 {
                need = 2
                minValue = 0x800
                value = UInt32(b & 0x0F)
            } else if b & 0xF8 == 0xF0 {
                need = 3
                minValue = 0x10000
                value = UInt32(b & 0x07)
            } else {
                return (i, line, i - lineStart + 1)
            }
            guard i + need < n else { return (i, line, i - lineStart + 1) }
            for k in 1...need {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { return (i, line, i - lineStart + 1) }
                value = value << 6 | UInt32(c & 0x3F)
            }
            if value < minValue || value > 0x10FFFF || (0xD800...0xDFFF).contains(value) {
                return (i, line, i - lineStart + 1)
            }
            i += need + 1
        }
        return nil
    }

    /// A conservative estimate of YAML nesting: flow brackets outside quoted scalars and comments,
    /// plus the block indentation (each nested block level needs at least one column or a `- `).
    /// Returns where the estimate first exceeds `limit`.
    static func nestingViolation(_ bytes: [UInt8], limit: Int) -> (line: Int, column: Int)? {
        let space: UInt8 = 0x20
        let tab: UInt8 = 0x09
        let nl: UInt8 = 0x0A
        let cr: UInt8 = 0x0D
        let sq = UInt8(ascii: "'")
        let dq = UInt8(ascii: "\"")
        let hash = UInt8(ascii: "#")
        let backslash = UInt8(ascii: "\\")
        let open1 = UInt8(ascii: "[")
        let open2 = UInt8(ascii: "{")
        let close1 = UInt8(ascii: "]")
        let close2 = UInt8(ascii: "}")
        let comma = UInt8(ascii: ",")
        let colon = UInt8(ascii: ":")
        let dash = UInt8(ascii: "-")
        let question = UInt8(ascii: "?")
        enum Mode { case plain, single, double, comment }
        var mode = Mode.plain
        var flow = 0
        var indent = 0
        var inIndent = true
        var line = 1
        var lineStart = 0
        var prev: UInt8 = nl
        var prevSignificant: UInt8 = nl
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == nl {
                line += 1
                lineStart = i + 1
                indent = 0
                inIndent = true
                if mode == .comment { mode = .plain }
                prev = nl
                if mode == .plain { prevSignificant = nl }
                i += 1
                continue
            }
            switch mode {
            case .comment:
                break
            case .single:
                if b == sq {
                    if i + 1 < n, bytes[i + 1] == sq {
                        i += 2
                        continue
                    }
                    mode = .plain
                    prevSignificant = sq
                }
            case .double:
                if b == backslash {
                    i += 2
                    continue
                }
                if b == dq {
                    mode = .plain
                    prevSignificant = dq
                }
            case .plain:
                if inIndent {
                    let next = i + 1 < n ? bytes[i + 1] : nl
                    if b == space {
                        indent += 1
                        prev = b
                        i += 1
                        continue
                    }
                    if (b == dash || b == question || b == colon) && (next == space || next == nl || next == cr) {
                        indent += 1
                        prevSignificant = b
                        prev = b
                        i += 1
                        continue
                    }
                    inIndent = false
                    if indent + flow > limit { return (line, i - lineStart + 1) }
                }
                let afterBreak = prev == space || prev == tab || prev == nl || prev == open1 || prev == open2 || prev == comma
                if b == hash && (prev == space || prev == tab || prev == nl) {
                    mode = .comment
                } else if (b == sq || b == dq) && afterBreak && [nl, open1, open2, comma, colon, dash, question].contains(prevSignificant) {
                    mode = b == sq ? .single : .double
                } else if b == open1 || b == open2 {
                    flow += 1
                    if indent + flow > limit { return (line, i - lineStart + 1) }
                } else if b == close1 || b == close2 {
                    flow = max(0, flow - 1)
                }
                if b != space && b != tab && mode == .plain { prevSignificant = b }
            }
            prev = b
            i += 1
        }
        return nil
    }
}

extension String {
    /// The 1-based line `n` without its newline.
    func line(at n: Int) -> Substring? {
        guard n >= 1 else { return nil }
        var current = 1
        var start = startIndex
        var idx = startIndex
        while idx < endIndex {
            if self[idx] == "\n" {
                if current == n { return self[start..<idx] }
                current += 1
                start = index(after: idx)
            }
            idx = index(after: idx)
        }
        return current == n ? self[start..<endIndex] : nil
    }

    func lineColumn(ofUTF8Offset offset: Int) -> (Int, Int) {
        var line = 1
        var column = 1
        var i = 0
        for b in utf8 {
            if i >= offset { break }
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    /// Where a duplicated mapping key appears again after its first occurrence: a line whose content
    /// at the same column starts with the key followed by `:` (block mappings), else nil.
    func nextOccurrence(ofKey key: String, after mark: Mark) -> (line: Int, column: Int)? {
        var lineNo = 0
        for raw in split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            guard lineNo > mark.line else { continue }
            let scalars = Array(raw.unicodeScalars)
            let col = mark.column - 1
            guard col >= 0, scalars.count > col else { continue }
            let rest = String(String.UnicodeScalarView(scalars[col...]))
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(candidate) {
                let after = rest.dropFirst(candidate.count).drop { $0 == " " }
                if after.first == ":" { return (lineNo, mark.column) }
            }
        }
        return nil
    }
}
