import ArgumentParser

/// The manifest paths every manifest-reading subcommand takes (`validate`, `plan`, `apply`, `show`).
public struct ManifestOptions: ParsableArguments {
    @Argument(help: "Manifest directories or files (*.yaml, *.yml, read recursively). Default: the current directory.")
    public var paths: [String] = []

    public init() {}
    public init(paths: [String]) { self.paths = paths }

    /// The paths to load: the given ones, or `.`.
    public var effectivePaths: [String] { paths.isEmpty ? ["."] : paths }
}
