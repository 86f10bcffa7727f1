import ArgumentParser

/// fleet's exit statuses, in one place (README "Exit statuses"). 2 has a meaning per command, as in
/// Terraform: a usage error for every command, and also "changes present" for `plan --detailed-exitcode`
/// and "drift" for `drift`, which take no other meaning of 2.
extension ExitCode {
    /// Something failed: manifests with errors, a host unreachable, a change failed, skipped or refused.
    static let failed = ExitCode(1)
    /// `plan --detailed-exitcode`: the plan has changes. `drift`: the hosts drifted from the manifests.
    static let changesPresent = ExitCode(2)
    /// A usage error: an unknown flag, a malformed or unmatched `--target`. Nothing was changed.
    static let usage = ExitCode(2)
}
