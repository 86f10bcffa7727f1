import ArgumentParser
import FleetExecution
import Foundation

/// `fleet unlock HOST`: removes a host's lock left by a run that died (like `terraform force-unlock`).
public struct UnlockCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove a host's fleet lock whose holder is gone (or, with --force, any holder).",
        discussion: """
            A lock whose holder is alive is never removed without --force. Exit status: 0 removed or no lock, \
            1 the lock is held by a live run (or the host cannot be reached), 2 a usage error.
            """)

    @Argument(help: "The host: a name the manifests declare, or a libvirt URI.")
    public var host: String
    @Option(name: .customLong("manifests"), help: "Manifest directories or files that declare HOST. Default: the current directory.")
    public var paths: [String] = []
    @Flag(help: "Remove the lock even though its holder looks alive. Only when you know that run is gone.")
    public var force = false
    @Option(help: "Seconds to wait for the host to answer.")
    public var timeout: Double = 10

    public init() {}

    public func run() throws {
        let uri: String
        if host.contains(":") {
            uri = host
        } else {
            let fleet = try loadFleet(ManifestOptions(paths: paths))
            guard let h = fleet.hosts.first(where: { $0.name == host }) else {
                throw ValidationError("fleet \(fleet.name) declares no host \(host)")
            }
            uri = h.uri
        }
        do {
            if let removed = try HostLock.breakLock(uri: uri, host: host, force: force, timeout: timeout) {
                printOut("Removed the lock of \(host), held by \(removed).")
            } else {
                printOut("\(host) is not locked.")
            }
        } catch let e as HostLockError {
            printError("error: \(e); pass --force only if that run is really gone")
            throw ExitCode.failed
        } catch {
            printError("error: \(error)")
            throw ExitCode.failed
        }
    }
}
