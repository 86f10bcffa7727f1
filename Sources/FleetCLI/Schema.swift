import ArgumentParser
import FleetManifest
import Foundation

/// `fleet schema`: the manifest JSON Schema (also committed as schemas/fleet.schema.json).
public struct Schema: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Print the manifest JSON Schema (draft 2020-12) for editors and CI.")
    public init() {}
    public func run() throws {
        FileHandle.standardOutput.write(Data(FleetSchema.json().utf8))
    }
}
