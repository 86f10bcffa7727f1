import Foundation

/// Runs a shell script (as the tests' independent oracle: virsh, pgrep, ip) and returns its status and stdout.
/// posix_spawn and waitpid, stdout to a private file: Foundation's Process never saw the exit of a script whose
/// children became daemons (PID 1 here does not reap them), and a daemon holding an inherited pipe would keep a
/// reader waiting for its end.
@discardableResult
func shell(_ script: String) -> (status: Int32, out: String) {
    let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-shell-\(UUID().uuidString)").path
    defer { unlink(outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [String] = ["/bin/sh", "-c", script]
    var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for arg in cargs { free(arg) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, "/bin/sh", &actions, nil, &cargs, environ) == 0 else { return (127, "") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    // WIFEXITED / WEXITSTATUS (macros Swift cannot import): the exit code, else the signal's number.
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    return (code, out)
}

/// `virsh -q -c URI ARGS…`, arguments quoted for the shell.
func virsh(_ uri: String, _ args: [String]) -> (status: Int32, out: String) {
    shell((["virsh", "-q", "-c", uri] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " "))
}
