/// fleet's version. This is the one place the number is written: scripts/package-deb.sh reads it back from
/// the built binary's `fleet --version`.
public enum FleetVersion {
    public static let number = "0.9.0"

    /// `fleet 0.9.0 (3df1fc0)`, with `+dirty` after the commit when the tree had uncommitted changes at build
    /// time. `buildCommit` and `buildDirty` are written before each build by Plugins/BuildInfo.
    public static var description: String {
        "fleet \(number) (\(buildCommit)\(buildDirty ? "+dirty" : ""))"
    }
}
