import Foundation

/// Where a manifest value was written: the file as the operator named it, 1-based line and column.
public struct SourceLocation: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

public enum Severity: String, Codable, Sendable { case error, warning }

public struct Diagnostic: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public var severity: Severity
    public var location: SourceLocation?
    public var message: String

    public init(severity: Severity, location: SourceLocation?, message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }
    public static func error(_ message: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(severity: .error, location: location, message: message)
    }
    public static func warning(_ message: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(severity: .warning, location: location, message: message)
    }

    /// `file:line:column: error: message`, or `error: message` when the problem has no single place.
    public var description: String {
        if let l = location { return "\(l): \(severity.rawValue): \(message)" }
        return "\(severity.rawValue): \(message)"
    }

    /// GitHub Actions workflow command (`::error file=…,line=…,col=…::message`).
    public var githubAnnotation: String {
        func escapeData(_ s: String) -> String {
            s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
                .replacingOccurrences(of: "\n", with: "%0A")
        }
        func escapeProperty(_ s: String) -> String {
            escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        guard let l = location else { return "::\(severity.rawValue)::\(escapeData(message))" }
        return "::\(severity.rawValue) file=\(escapeProperty(l.file)),line=\(l.line),col=\(l.column)::\(escapeData(message))"
    }

    /// Stable order: located diagnostics by file, line, column, message; unlocated ones first.
    public static func < (a: Diagnostic, b: Diagnostic) -> Bool {
        switch (a.location, b.location) {
        case (nil, nil): return (a.message, a.severity.rawValue) < (b.message, b.severity.rawValue)
        case (nil, _): return true
        case (_, nil): return false
        case (let la?, let lb?):
            if la != lb { return la < lb }
            return (a.message, a.severity.rawValue) < (b.message, b.severity.rawValue)
        }
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// A JSON array of `{"severity","file","line","column","message"}` objects, one per line, deterministic.
    public func renderJSON() -> String {
        if isEmpty { return "[]" }
        let items = map { d -> String in
            var fields: [(String, String)] = [("severity", JSONText.quote(d.severity.rawValue))]
            if let l = d.location {
                fields += [("file", JSONText.quote(l.file)), ("line", "\(l.line)"), ("column", "\(l.column)")]
            }
            fields.append(("message", JSONText.quote(d.message)))
            return "  {" + fields.map { "\(JSONText.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
        return "[\n" + items.joined(separator: ",\n") + "\n]"
    }
}

enum JSONText {
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
enum EditDistance {
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().unicodeScalars)
        let y = Array(b.lowercased().unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }

    /// The closest candidate within a distance proportional to the word's length, if any.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        guard word.count <= 64 else { return nil }
        let limit = Swift.max(1, Swift.min(3, word.count / 3))
        var best: (String, Int)?
        for c in candidates.sorted() {
            let d = distance(word, c)
            if d <= limit, d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }
}
