/// Who holds a host's lock, recorded in the lock domain's `<metadata>` (docs/ownership.md).
public struct LockHolder: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The holder's machine (its hostname) and process.
    public var machine: String
    public var pid: Int32
    /// The fleet the run works on, and what it does (`apply`, `destroy`).
    public var fleet: String
    public var command: String
    /// Seconds since 1970 (UTC): when the lock was taken, and when it lapses unless renewed.
    public var started: Double
    public var expires: Double
    /// A random token: the holder recognises its own lock (and a successor cannot be mistaken for it).
    public var token: String

    public init(machine: String, pid: Int32, fleet: String, command: String, started: Double, expires: Double, token: String) {
        self.machine = machine
        self.pid = pid
        self.fleet = fleet
        self.command = command
        self.started = started
        self.expires = expires
        self.token = token
    }

    public var description: String { "fleet \(command) of fleet \(fleet), pid \(pid) on \(machine)" }
}
