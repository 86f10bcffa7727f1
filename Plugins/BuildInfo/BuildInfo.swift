import Foundation
import PackagePlugin

/// Writes `BuildInfo.swift` (the git commit the sources were built from, and whether the tree had changes) into
/// the target before every build, so `fleet --version` is never stale: a prebuild command runs on each
/// `swift build`, whatever built it (a checkout, scripts/install.sh, scripts/package-deb.sh). The file is only
/// rewritten when its contents change, so an unchanged tree recompiles nothing. Outside a git checkout of this
/// package (a source tarball, or one vendored inside another repository) the commit is "unknown".
@main struct BuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo")
        return [
            .prebuildCommand(
                displayName: "Recording the git commit for fleet --version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", Self.script, "build-info", context.package.directoryURL.path, out.path],
                outputFilesDirectory: out)
        ]
    }

    /// `$1` the package directory, `$2` the output directory. `safe.directory=*`: `sudo scripts/install.sh` in
    /// a checkout owned by another user must still read it. `--no-optional-locks`: status never writes the index.
    static let script = #"""
        set -u
        repo=$1 out=$2
        mkdir -p "$out"
        g() { git -C "$repo" -c safe.directory='*' --no-optional-locks "$@" 2>/dev/null; }
        commit=unknown dirty=false
        top=$(g rev-parse --show-toplevel) || top=
        if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$repo" && pwd -P)" ]; then
            commit=$(g rev-parse --short HEAD) || commit=unknown
            [ -z "$(g status --porcelain)" ] || dirty=true
        fi
        printf '%s\n' \
            '// Generated before each build by Plugins/BuildInfo; not in git.' \
            "let buildCommit = \"$commit\"" \
            "let buildDirty = $dirty" >"$out/BuildInfo.swift.new"
        if cmp -s "$out/BuildInfo.swift.new" "$out/BuildInfo.swift"; then
            rm -f "$out/BuildInfo.swift.new"
        else
            mv -f "$out/BuildInfo.swift.new" "$out/BuildInfo.swift"
        fi
        """#
}
