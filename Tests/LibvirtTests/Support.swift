import FleetTestSupport
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
let systemEnabled = systemURI != nil

/// Runs `body` and ignores failures: used in `defer` cleanups where the object may already be gone.
func bestEffort(_ body: () throws -> Void) {
    _ = try? body()
}
