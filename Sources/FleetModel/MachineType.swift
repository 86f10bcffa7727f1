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
}
