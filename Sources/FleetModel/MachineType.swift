/// libvirt's machine types as the model compares them: the one home of this rule (the planner and the
/// mapping's tests both use it).
public enum MachineType {
    /// Whether a live machine type satisfies the manifest's: libvirt expands aliases when defining
    /// (`pc` -> `pc-i440fx-7.2`, `q35` -> `pc-q35-7.2`), so an alias matches any versioned type of its family.
    /// No manifest value matches anything.
    public static func matches(desired: String?, live: String?) -> Bool {
        guard let want = desired else { return true }
        guard let have = live else { return false }
        if want == have { return true }
        switch want {
        case "pc", "pc-i440fx": return have.hasPrefix("pc-i440fx-")
        case "q35", "pc-q35": return have.hasPrefix("pc-q35-")
        default: return false
        }
    }

    /// Whether libvirt can find secure-boot firmware for a machine of this type: OVMF's secure-boot builds need
    /// SMM (it guards their variables) and their firmware descriptors list q35 machines only, so libvirt's
    /// default x86_64 machine (i440fx, `pc`, also what nil gets) has none.
    public static func supportsSecureBoot(_ machine: String?) -> Bool {
        guard let m = machine else { return false }
        return m == "q35" || m.hasPrefix("pc-q35")
    }
}
