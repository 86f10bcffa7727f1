import ArgumentParser

public struct FleetCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Declarative provisioning for KVM/libvirt fleets.",
        subcommands: [Validate.self, PlanCommand.self, ApplyCommand.self, DestroyCommand.self, DriftCommand.self, ShowCommand.self, Schema.self]
    )
    public init() {}
}
