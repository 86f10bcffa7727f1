import ArgumentParser
import FleetExecution
import FleetManifest
import FleetModel
import Foundation

/// `fleet show`: the live inventory of each host.
public struct ShowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the live inventory of each host: domains, networks, pools, volumes, and which ones fleet owns.")

    @Argument(help: "Manifest directories or files naming the hosts (default: none; the host is --connect or qemu:///system).")
    public var paths: [String] = []
    @OptionGroup public var connection: ConnectionOptions
    @Flag(help: "Print the inventory as JSON.")
    public var json = false
    @Flag(
        help:
            "Print every table cell whole; by default a list wider than \(InventoryRenderer.maxCell) characters is shortened to its count (`105 disks`)."
    )
    public var wide = false
    @Option(
        help: ArgumentHelp(
            "Order every table's rows by: \(ShowSort.allCases.map(\.rawValue).joined(separator: ", ")) (sizes and counts largest first; ties by host, then name).",
            valueName: "key"))
    public var sort: ShowSort = .host

    public init() {}

    public func run() throws {
        var hosts: [HostSpec]
        var fleetName: String?
        if paths.isEmpty {
            let one = Fleet(name: "", hosts: [Fleet.defaultHost])
            hosts = try connection.hosts(for: one)
        } else {
            var m = ManifestOptions()
            m.paths = paths
            let fleet = try loadFleet(m)
            hosts = try connection.hosts(for: fleet)
            fleetName = fleet.name
        }
        let live = StateReader(fleet: fleetName, timeout: connection.timeout, detail: true).read(hosts: hosts)
        if json {
            printOut(try jsonString(live))
        } else {
            printOut(InventoryRenderer(wide: wide, sort: sort).render(live))
        }
        if live.hosts.contains(where: { $0.error != nil }) { throw ExitCode.failed }
    }
}

struct InventoryRenderer {
    /// The widest list cell the text view prints whole without --wide.
    static let maxCell = 80
    var wide = false

    /// A cell listing items: whole when narrow or --wide, else the count (`105 disks`).
    func list(_ items: [String], _ noun: String, separator: String = " ") -> String {
        let whole = items.joined(separator: separator)
        if wide || whole.count <= Self.maxCell { return whole }
        return "\(items.count) \(noun)\(items.count == 1 ? "" : "s")"
    }

    /// `vda=pool/vol.qcow2`, `fda(floppy)=/img/boot.img`, `sdb(lun)=/dev/sdc`, `vdb=rbd://mon1:6789/pool/image`.
    func disk(_ d: LiveDisk) -> String {
        d.target + (d.device == .disk ? "" : "(\(d.device.rawValue))") + "=" + d.sourceText
    }

    func poolSource(_ p: LivePool) -> String {
        var parts: [String] = p.source.hosts.isEmpty ? (p.spec.sourceHost.map { [$0] } ?? []) : p.source.hosts
        if let d = p.spec.sourceDir { parts.append(d) }
        parts += p.spec.sourceDevices
        if let a = p.source.adapter { parts.append(a) }
        if let n = p.source.name { parts.append(n) }
        if let i = p.source.initiator { parts.append("initiator \(i)") }
        return parts.joined(separator: " ")
    }

    /// The order of every table's rows (`--sort`); ties go by host, then name.
    var sort: ShowSort = .host

    /// One line per host (what it is, or why it could not be read), then one table per kind across every host.
    func render(_ live: LiveState) -> String {
        var out = ""
        for h in live.hosts {
            out += "host \(h.name) (\(h.uri))"
            if let e = h.error {
                out += ": error: \(e)\n"
                continue
            }
            if let i = h.info {
                out +=
                    ": \(i.hostname), \(i.cpuModel), \(i.cpus) CPUs (\(i.sockets) sockets × \(i.cores) cores × \(i.threads) threads) at \(i.mhz) MHz, \(human(i.memory)) memory, libvirt \(i.libvirtVersion), \(i.hypervisor) \(i.hypervisorVersion)"
            }
            out += "\n"
        }
        let hosts = live.hosts.filter { $0.error == nil }
        func rows<T>(_ items: (LiveHost) -> [T], name: (T) -> String, key: (T) -> ShowSort.Key) -> [(String, T)] {
            let all = hosts.flatMap { h in items(h).map { (h.name, $0) } }
            return all.sorted { a, b in
                let (ka, kb) = (key(a.1), key(b.1))
                if ka != kb { return ka < kb }
                return (a.0, name(a.1)) < (b.0, name(b.1))
            }
        }
        out += "\n"
        out += table(
            ["DOMAIN", "HOST", "STATE", "VCPUS", "MEMORY", "DISKS", "NICS", "GRAPHICS", "HOSTDEVS", "SNAPSHOTS", "AUTOSTART", "MANAGED-BY"],
            rows(\.domains, name: \.name) { d in
                let c = d.live ?? d.config
                return sort.key(host: nil, name: d.name, state: d.state.rawValue, memory: c.memory, vcpus: c.vcpus)
            }.map { host, d in
                let c = d.live ?? d.config
                return [
                    d.name, host, d.state.rawValue, "\(c.vcpus)/\(c.maxVcpus)", "\(c.memory)/\(c.maxMemory)",
                    list(c.disks.map(disk), "disk"),
                    list(
                        c.nics.map { n in
                            "\(n.mac?.description ?? "?")@\(n.source)"
                                + (n.addresses.isEmpty ? "" : " " + n.addresses.joined(separator: ","))
                        }, "NIC"),
                    list(c.graphics.map(graphics), "display"),
                    list(c.hostDevices.map(\.description), "hostdev", separator: ", "),
                    list(d.snapshots.map(\.name), "snapshot", separator: ","),
                    d.autostart ? "yes" : "no", owner(d.owner)
                ]
            })
        out += "\n"
        out += table(
            ["NETWORK", "HOST", "STATE", "MODE", "BRIDGE/DEVICES", "SUBNET", "DHCP", "LEASES", "AUTOSTART", "MANAGED-BY"],
            rows(\.networks, name: \.name) { n in sort.key(host: nil, name: n.name, state: n.active ? "active" : "inactive") }.map {
                host, n in
                [
                    n.name, host, n.active ? "active" : "inactive", n.spec.mode.rawValue,
                    n.spec.bridge ?? (n.forwardDevices.isEmpty ? "-" : list(n.forwardDevices, "device", separator: ",")),
                    n.spec.subnet?.description ?? "-", n.spec.dhcp.map { "\($0.start)-\($0.end)" } ?? "-",
                    list(n.spec.leases.map { "\($0.name)=\($0.ip)" } + n.activeLeases, "lease"),
                    n.autostart ? "yes" : "no", owner(n.owner)
                ]
            })
        out += "\n"
        out += table(
            ["POOL", "HOST", "STATE", "TYPE", "PATH", "SOURCE", "CAPACITY", "ALLOCATION", "AVAILABLE", "AUTOSTART", "MANAGED-BY"],
            rows(\.pools, name: \.name) { p in
                sort.key(
                    host: nil, name: p.name, state: p.active ? "active" : "inactive", capacity: p.capacity, allocation: p.allocation,
                    available: p.available)
            }.map { host, p in
                [
                    p.name, host, p.active ? "active" : "inactive", p.spec.type.rawValue, p.spec.path ?? "-", poolSource(p),
                    human(p.capacity), human(p.allocation), human(p.available), p.autostart ? "yes" : "no", owner(p.owner)
                ]
            })
        out += "\n"
        out += table(
            ["VOLUME", "HOST", "FORMAT", "CAPACITY", "ALLOCATION", "BACKING", "MANAGED-BY"],
            rows(\.volumes, name: { "\($0.pool)/\($0.name)" }) { v in
                sort.key(host: nil, name: "\(v.pool)/\(v.name)", capacity: v.capacity, allocation: v.allocation)
            }.map { host, v in
                [
                    "\(v.pool)/\(v.name)", host, v.format ?? "-", human(v.capacity), human(v.allocation),
                    v.backingPath.map { $0 + (v.backingFormat.map { " (\($0))" } ?? "") } ?? "-", owner(v.owner)
                ]
            })
        return out
    }

    func graphics(_ g: LiveGraphics) -> String {
        let port = (g.activePort ?? g.port).map(String.init) ?? "auto"
        return "\(g.type) \(g.listen ?? "-"):\(port)"
    }

    func owner(_ m: OwnerMark?) -> String {
        guard let m else { return "-" }
        return "fleet \(m.fleet) (\(m.kind.rawValue) \(m.name))"
    }

    /// Sizes as `qemu-img info` prints them: one decimal in the largest binary unit.
    func human(_ s: ByteSize) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(s.bytes)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(s.bytes) B" : String(format: "%.1f %@", v, units[i])
    }

    func table(_ header: [String], _ rows: [[String]]) -> String {
        if rows.isEmpty { return "\(header[0]): none\n" }
        let all = [header] + rows.map { $0.map { $0.isEmpty ? "-" : $0 } }
        var widths = Array(repeating: 0, count: header.count)
        for r in all { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return all.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(
                separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// `fleet show --sort KEY`. A key a kind has not (a network's memory) leaves that table in host, name order.
public enum ShowSort: String, CaseIterable, ExpressibleByArgument, Sendable {
    case host, name, state, memory, vcpus, capacity, allocation, available

    /// What a row sorts by: text ascending, or a number descending (largest first).
    enum Key: Comparable {
        case none
        case text(String)
        case descending(UInt64)
        static func < (a: Key, b: Key) -> Bool {
            switch (a, b) {
            case (.text(let x), .text(let y)): return x < y
            case (.descending(let x), .descending(let y)): return x > y
            default: return false
            }
        }
    }

    func key(
        host: String?, name: String, state: String? = nil, memory: ByteSize? = nil, vcpus: Int? = nil, capacity: ByteSize? = nil,
        allocation: ByteSize? = nil, available: ByteSize? = nil
    ) -> Key {
        switch self {
        case .host: return .none
        case .name: return .text(name)
        case .state: return state.map(Key.text) ?? .none
        case .memory: return memory.map { .descending($0.bytes) } ?? .none
        case .vcpus: return vcpus.map { .descending(UInt64($0)) } ?? .none
        case .capacity: return capacity.map { .descending($0.bytes) } ?? .none
        case .allocation: return allocation.map { .descending($0.bytes) } ?? .none
        case .available: return available.map { .descending($0.bytes) } ?? .none
        }
    }
}
