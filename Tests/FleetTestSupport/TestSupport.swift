import Foundation

/// What every test target shares (as swift-argument-parser's ArgumentParserTestHelpers): the real daemon's URI,
/// unique object names, a failure type, and golden files.

/// The real libvirtd's URI when system tests are enabled (`FLEET_TEST_LIBVIRT_URI`, set by scripts/test.sh).
public let systemURI = ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"]

/// A unique prefix for every libvirt object a test creates, `ft-<8 hex>-`, so tests never touch objects they
/// did not create and can be cleaned up by prefix.
public func uniquePrefix() -> String {
    "ft-" + String(format: "%08x", UInt32.random(in: .min ... .max)) + "-"
}

/// A test's own failure, with a message.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Golden files: compared as text; `FLEET_UPDATE_GOLDEN=1` rewrites them from the actual output.
public enum Golden {
    public static var updating: Bool { ProcessInfo.processInfo.environment["FLEET_UPDATE_GOLDEN"] == "1" }

    /// The expected text of `url`, after writing `actual` there when updating.
    public static func expected(_ url: URL, actual: String) throws -> String {
        if updating { try Data(actual.utf8).write(to: url) }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
