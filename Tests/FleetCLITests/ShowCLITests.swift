import Foundation
import Testing

@testable import FleetCLI

@Suite struct ShowCLITests {
    /// `fleet show --connect test:///default --json` lists the test driver's default domain, network and pool.
    @Test func showListsTheTestDriverDefaults() throws {
        let r = try ValidateCLITests.run(["show", "--connect", "test:///default", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let host = try #require((json["hosts"] as? [[String: Any]])?.first)
        #expect((host["domains"] as? [[String: Any]])?.map { $0["name"] as? String } == ["test"])
        #expect((host["networks"] as? [[String: Any]])?.map { $0["name"] as? String } == ["default"])
        #expect((host["pools"] as? [[String: Any]])?.map { $0["name"] as? String } == ["default-pool"])
        let info = try #require(host["info"] as? [String: Any])
        #expect(info["cpus"] as? Int == 16)
    }
}
