import Foundation
import Testing
@testable import Libvirt

/// `test:///<abs path>` for a fixture in Tests/LibvirtTests/Fixtures (fresh state at each open).
func fixtureURI(_ name: String = "node.xml", file: String = #filePath) -> String {
    let dir = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures")
    return "test://" + dir.appendingPathComponent(name).path
}

func openFixture(_ name: String = "node.xml") throws -> Connection {
    try Connection(uri: fixtureURI(name))
}

/// The real daemon's URI, when system tests are enabled.
let systemURI = ProcessInfo.processInfo.environment["FLEET_TEST_LIBVIRT_URI"]
let systemEnabled = systemURI != nil

/// A unique object-name prefix, "ft-<8 hex>-", so tests never touch objects they did not create.
func uniquePrefix() -> String {
    "ft-" + String(format: "%08x", UInt32.random(in: .min ... .max)) + "-"
}

/// Runs `body` and ignores failures: used in `defer` cleanups where the object may already be gone.
func bestEffort(_ body: () throws -> Void) {
    _ = try? body()
}
