/// How fleet chooses a host for a VM declared with `host: auto` or `hosts: [...]` (docs/planning.md, "Placement").

/// The fleet-wide placement policy: the top-level `placement:` key.
public struct PlacementPolicy: Hashable, Codable, Sendable {
    /// vCPUs allocated per host CPU: 4 lets a host of 8 CPUs take VMs with 32 vCPUs in all. The default, 4,
    /// is OpenStack's: vCPUs mostly wait, and running more vCPUs than CPUs is normal.
    public var cpuOvercommit: Double
    /// Memory allocated per byte of host memory. The default, 1.0, never promises more memory than the host has:
    /// an overcommitted host swaps or kills guests.
    public var memoryOvercommit: Double
    public static let defaultCPUOvercommit = 4.0
    public static let defaultMemoryOvercommit = 1.0
    public init(cpuOvercommit: Double = Self.defaultCPUOvercommit, memoryOvercommit: Double = Self.defaultMemoryOvercommit) {
        self.cpuOvercommit = cpuOvercommit
        self.memoryOvercommit = memoryOvercommit
    }
}

/// Where a VM may be placed: `host: auto` (every host of the fleet) or `hosts: [...]`.
public struct VMPlacement: Hashable, Codable, Sendable {
    /// The candidate hosts, sorted by name.
    public var candidates: [String]
    /// `host: auto` (rather than a `hosts:` list).
    public var auto: Bool
    /// `spread: true`: the VMs of the group go to the candidates with the fewest of them (anti-affinity).
    public var spread: Bool
    public init(candidates: [String], auto: Bool = false, spread: Bool = false) {
        self.candidates = candidates.sorted()
        self.auto = auto
        self.spread = spread
    }
}
