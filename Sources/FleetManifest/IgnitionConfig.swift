/// Checks an Ignition config (JSON, RFC 8259) before fleet uploads it: a syntax error is reported at its
/// line and column in the config file, and a config without `ignition.version` (which Ignition itself
/// rejects at boot, where nobody sees it) is refused. Butane (`.bu`) is not translated: no maintained Swift
/// library or Debian 12 package exists; run `butane` first.
public enum IgnitionConfig {
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var message: String
        /// 1-based line and column in the file; nil for problems of the document as a whole.
        public var line: Int?
        public var column: Int?
        public var description: String { line.map { "\($0):\(column ?? 1): \(message)" } ?? message }
    }

    /// nil when the text is a JSON object with a string `ignition.version`.
    public static func check(_ text: String) -> Problem? {
        var p = Parser(bytes: Array(text.utf8))
        do {
            p.skipSpace()
            let root = try p.value(depth: 0)
            p.skipSpace()
            if p.i < p.bytes.count { throw p.problem("unexpected text after the JSON document") }
            guard case .object(let keys) = root else { return Problem(message: "an Ignition config must be a JSON object") }
            guard let ign = keys["ignition"] else {
                return Problem(message: "no \"ignition\" section (an Ignition config needs {\"ignition\": {\"version\": \"3.x.y\"}})")
            }
            guard case .object(let inner) = ign, case .string(let v)? = inner["version"] else {
                return Problem(message: "\"ignition.version\" is missing or not a string")
            }
            if v.isEmpty { return Problem(message: "\"ignition.version\" is empty") }
            return nil
        } catch let e as Problem {
            return e
        } catch {
            return Problem(message: "\(error)")
        }
    }

    /// Just enough of a value to find `ignition.version`.
    enum Value {
        case object([String: Value])
        case string(String)
        case other
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0
        init(bytes: [UInt8]) { self.bytes = bytes }

        func problem(_ message: String) -> Problem {
            var line = 1
            var col = 1
            for b in bytes[..<min(i, bytes.count)] {
                if b == 0x0A {
                    line += 1
                    col = 1
                } else if b & 0xC0 != 0x80 {
                    col += 1
                }
            }
            return Problem(message: message, line: line, column: col)
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        func found() -> String {
            guard i < bytes.count else { return "the end of the file" }
            let b = bytes[i]
            return b >= 0x21 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x" + String(b, radix: 16)
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 512 else { throw problem("nested more than 512 levels deep") }
            guard i < bytes.count else { throw problem("expected a value, found the end of the file") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var out: [String: Value] = [:]
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(out)
                }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw problem("expected a string key, found \(found())") }
                    let k = try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                        throw problem("expected ':' after a key, found \(found())")
                    }
                    i += 1
                    skipSpace()
                    out[k] = try value(depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw problem("unterminated object: expected ',' or '}', found the end of the file") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        return .object(out)
                    }
                    throw problem("expected ',' or '}' in an object, found \(found())")
                }
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .other
                }
                while true {
                    skipSpace()
                    _ = try value(depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw problem("unterminated array: expected ',' or ']', found the end of the file") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "]") {
                        i += 1
                        return .other
                    }
                    throw problem("expected ',' or ']' in an array, found \(found())")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): return try literal("true")
            case UInt8(ascii: "f"): return try literal("false")
            case UInt8(ascii: "n"): return try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
                return .other
            default:
                throw problem("expected a value, found \(found())")
            }
        }

        mutating func literal(_ word: String) throws -> Value {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else {
                throw problem("expected a value, found \(found())")
            }
            i += w.count
            return .other
        }

        mutating func number() throws {
            func digits() -> Int {
                let s = i
                while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
                return i - s
            }
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            let start = i
            guard digits() > 0 else { throw problem("expected a digit, found \(found())") }
            if bytes[start] == UInt8(ascii: "0"), i - start > 1 {
                i = start
                throw problem("numbers must not have leading zeros")
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw problem("expected a digit after '.', found \(found())") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw problem("expected a digit in the exponent, found \(found())") }
            }
        }

        mutating func string() throws -> String {
            let open = i
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if b < 0x20 { throw problem("control character in a string (escape it)") }
                if b == UInt8(ascii: "\\") {
                    i += 1
                    guard i < bytes.count else { break }
                    switch bytes[i] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(bytes[i])
                    case UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): out.append(0x20)
                    case UInt8(ascii: "u"):
                        guard i + 4 < bytes.count, bytes[i + 1...i + 4].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else {
                            throw problem("\\u must be followed by four hex digits")
                        }
                        i += 4
                        out.append(0x3F)
                    default: throw problem("invalid escape \\\(found())")
                    }
                    i += 1
                    continue
                }
                out.append(b)
                i += 1
            }
            i = open
            throw problem("unterminated string")
        }
    }
}
