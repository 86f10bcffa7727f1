/// The manifest's JSON Schema (draft 2020-12), generated from the loader's key tables.
public enum FleetSchema {
    public static let id = "https://fleet.example/schemas/fleet.schema.json"

    static let namePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
    static let interfacePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$"
    static let sizePattern = "^[0-9]+ ?(B|K|KB|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB)?$"
    static let checksumPattern = "^sha256:[0-9A-Fa-f]{64}$"
    static let pciPattern = "^([0-9A-Fa-f]{4}:)?[0-9A-Fa-f]{2}:[01][0-9A-Fa-f]\\.[0-7]$"
    static let ipv4Pattern = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"
    static let subnetPattern =
        "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([1-9]|[12][0-9]|30)$"
    static let macPattern = "^[0-9A-Fa-f][02468ACEace](:[0-9A-Fa-f]{2}){5}$"
    static let usbPattern = "^0[xX][0-9A-Fa-f]{1,4}$"
    static let octalPattern = "^0?[0-7]{3,4}$"
    static let percentPattern = "^(100|[1-9][0-9]?)%$"
    static let durationPattern = "^[0-9]+[smhd]?$"
    static let envPattern = "^[A-Za-z_][A-Za-z0-9_]*$"

    /// Deterministic, pretty-printed, keys sorted.
    public static func json() -> String {
        var defs: [String: JSONValue] = [:]
        let rootSchema = objectSchema(Keys.root, defs: &defs)
        guard case .object(var root) = rootSchema else { return "{}" }
        root["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
        root["$id"] = .string(id)
        root["title"] = .string("fleet manifest")
        root["$defs"] = .object(defs)
        return JSONValue.object(root).rendered(indent: 0) + "\n"
    }

    private static func objectSchema(_ table: ObjectTable, defs: inout [String: JSONValue]) -> JSONValue {
        var props: [String: JSONValue] = [:]
        for key in table.keys {
            var s = schema(key.type, defs: &defs)
            if case .object(var o) = s {
                o["description"] = .string(key.doc)
                s = .object(o)
            }
            props[key.name] = s
        }
        var o: [String: JSONValue] = [
            "type": .string("object"),
            "description": .string(table.doc),
            "additionalProperties": .bool(false),
            "properties": .object(props)
        ]
        if table.allowsExtensionKeys { o["patternProperties"] = .object(["^x-": .object([:])]) }
        let required = table.keys.filter(\.required).map { JSONValue.string($0.name) }
        if !required.isEmpty { o["required"] = .array(required) }
        return .object(o)
    }

    private static func ref(_ table: ObjectTable, defs: inout [String: JSONValue]) -> JSONValue {
        if defs[table.id] == nil {
            defs[table.id] = .null  // placeholder against recursion
            defs[table.id] = objectSchema(table, defs: &defs)
        }
        return .object(["$ref": .string("#/$defs/\(table.id)")])
    }

    private static func pattern(_ p: String) -> JSONValue {
        .object(["type": .string("string"), "pattern": .string(p)])
    }

    private static func schema(_ type: ValueType, defs: inout [String: JSONValue]) -> JSONValue {
        switch type {
        case .string: return .object(["type": .array([.string("string"), .string("number"), .string("boolean")])])
        case .name: return pattern(namePattern)
        case .interfaceName: return pattern(interfacePattern)
        case .path: return .object(["type": .string("string"), "minLength": .int(1)])
        case .integer(let min, let max): return .object(["type": .string("integer"), "minimum": .int(min), "maximum": .int(max)])
        case .boolean: return .object(["type": .string("boolean")])
        case .ratio(let max):
            return .object(["type": .string("number"), "exclusiveMinimum": .int(0), "maximum": .int(Int(max))])
        case .size:
            return .object(["oneOf": .array([.object(["type": .string("integer"), "minimum": .int(0)]), pattern(sizePattern)])])
        case .ipv4: return pattern(ipv4Pattern)
        case .subnet: return pattern(subnetPattern)
        case .mac: return pattern(macPattern)
        case .pciAddress: return pattern(pciPattern)
        case .usbID:
            return .object([
                "oneOf": .array([
                    .object(["type": .string("integer"), "minimum": .int(0), "maximum": .int(Int(UInt16.max))]),
                    pattern(usbPattern)
                ])
            ])
        case .checksum: return pattern(checksumPattern)
        case .octalMode: return pattern(octalPattern)
        case .percent: return pattern(percentPattern)
        case .duration:
            return .object([
                "oneOf": .array([.object(["type": .string("integer"), "minimum": .int(1)]), pattern(durationPattern)])
            ])
        case .enumeration(let values): return .object(["enum": .array(values.map { .string($0) })])
        case .list(let element): return .object(["type": .string("array"), "items": schema(element, defs: &defs)])
        case .pair(let element):
            return .object(["type": .string("array"), "items": schema(element, defs: &defs), "minItems": .int(2), "maxItems": .int(2)])
        case .object(let table): return ref(table, defs: &defs)
        case .namedObjects(let table):
            return .object([
                "type": .array([.string("object"), .string("null")]),
                "propertyNames": pattern(namePattern),
                "additionalProperties": ref(table, defs: &defs)
            ])
        case .secret:
            func one(_ key: String, _ s: JSONValue, _ doc: String) -> JSONValue {
                .object([
                    "type": .string("object"), "additionalProperties": .bool(false), "required": .array([.string(key)]),
                    "properties": .object([key: s]), "description": .string(doc)
                ])
            }
            return .object([
                "oneOf": .array([
                    one(
                        "file", .object(["type": .string("string"), "minLength": .int(1)]),
                        "Read the secret from a file (relative to the manifest file)."),
                    one("env", pattern(envPattern), "Read the secret from an environment variable.")
                ])
            ])
        case .oneOf(let types): return .object(["oneOf": .array(types.map { schema($0, defs: &defs) })])
        }
    }
}

enum JSONValue {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    func rendered(indent: Int) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        let end = String(repeating: "  ", count: indent)
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .string(let s): return JSONText.quote(s)
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + $0.rendered(indent: indent + 1) }.joined(separator: ",\n") + "\n\(end)]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            return "{\n"
                + fields.keys.sorted().map { k in
                    pad + JSONText.quote(k) + ": " + fields[k]!.rendered(indent: indent + 1)
                }.joined(separator: ",\n") + "\n\(end)}"
        }
    }
}
