import FleetModel

/// The Ignition config as fleet tracks it: the digest of the file's bytes, recorded on its volume and on the
/// system disk (Ignition runs at first boot only), so a changed file rebuilds both.
public enum IgnitionFile {
    public static func digest(_ spec: IgnitionSpec) throws -> String {
        String(try ImageSource.sha256(ofFile: spec.config).prefix(16))
    }
}
