import Foundation

/// Runs a shell script (as the tests' independent oracle: virsh, pgrep, ip) and returns its status and stdout.
@discardableResult
func shell(_ script: String) -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try? p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `virsh -q -c URI ARGS…`, arguments quoted for the shell.
func virsh(_ uri: String, _ args: [String]) -> (status: Int32, out: String) {
    shell((["virsh", "-q", "-c", uri] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " "))
}
