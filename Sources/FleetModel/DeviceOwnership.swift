/// Which devices on a domain are fleet's to take away (issue 9). fleet never removes what it did not declare
/// and does not own; the planner and the domain patch apply these same rules:
///
/// - a disk: only when its pool volume carries this fleet's ledger mark (checked by the caller);
/// - a NIC: only when its MAC is one fleet derives for this VM (`MACAddress.stable` of `fleet/vm/index`), so a
///   NIC made by hand, by another tool or before adoption is never detached, whatever its type;
/// - a hostdev: only when its source is a device this fleet declares under `devices:`.
///
/// A NIC declared with an explicit `mac:` and later dropped from the manifest is kept as well: fleet cannot
/// tell it from one added by hand. Removing it is an operator's act (virsh detach-interface).
public enum DeviceOwnership {
    /// NIC indexes checked against the derived MACs.
    static let maxNICs = 64

    public static func isDerivedMAC(_ mac: MACAddress, fleet: String, vm: String) -> Bool {
        (0..<maxNICs).contains { MACAddress.stable(for: "\(fleet)/\(vm)/\($0)") == mac }
    }

    public static func isDeclaredDevice(_ kind: DeviceKind, in fleet: Fleet) -> Bool {
        fleet.devices.contains { $0.kind == kind }
    }
}
