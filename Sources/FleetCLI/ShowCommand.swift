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
            printOut(InventoryRenderer().render(live))
        }
        if live.hosts.contains(where: { $0.error != nil }) { throw ExitCode.failed }
    }
}

struct InventoryRenderer {
    func render(_ live: LiveState) -> String {
        var out = ""
        for h in live.hosts {
            out += "host \(h.name) (\(h.uri))"
            if let e = h.error { out += "\n  error: \(e)\n\n"; continue }
            if let i = h.info {
                out += ": \(i.hostname), \(i.cpuModel), \(i.cpus) CPUs (\(i.sockets) sockets × \(i.cores) cores × \(i.threads) threads) at \(i.mhz) MHz, \(human(i.memory)) memory, libvirt \(i.libvirtVersion), \(i.hypervisor) \(i.hypervisorVersion)"
            }
            out += "\n\n"
            out += table(["DOMAIN", "STATE", "VCPUS", "MEMORY", "DISKS", "NICS", "GRAPHICS", "HOSTDEVS", "SNAPSHOTS", "AUTOSTART", "MANAGED-BY"],
                         h.domains.map { d in
                             let c = d.live ?? d.config
                             return [d.name, d.state.rawValue, "\(c.vcpus)/\(c.maxVcpus)", "\(c.memory)/\(c.maxMemory)",
                                     c.disks.map { "\($0.target)=" + ($0.volume ?? $0.path ?? "-") }.joined(separator: " "),
                                     c.nics.map { n in "\(n.mac?.description ?? "?")@\(n.source)" + (n.addresses.isEmpty ? "" : " " + n.addresses.joined(separator: ",")) }.joined(separator: " "),
                                     c.graphics.map(graphics).joined(separator: " "),
                                     c.hostdevs.map(\.description).joined(separator: ", "),
                                     d.snapshots.map(\.name).joined(separator: ","),
                                     d.autostart ? "yes" : "no", owner(d.owner)]
                         })
            out += "\n"
            out += table(["NETWORK", "STATE", "MODE", "BRIDGE", "SUBNET", "DHCP", "LEASES", "AUTOSTART", "MANAGED-BY"],
                         h.networks.map { n in
                             [n.name, n.active ? "active" : "inactive", n.spec.mode.rawValue, n.spec.bridge ?? "-",
                              n.spec.subnet?.description ?? "-", n.spec.dhcp.map { "\($0.start)-\($0.end)" } ?? "-",
                              (n.spec.leases.map { "\($0.name)=\($0.ip)" } + n.activeLeases).joined(separator: " "),
                              n.autostart ? "yes" : "no", owner(n.owner)]
                         })
            out += "\n"
            out += table(["POOL", "STATE", "TYPE", "PATH", "CAPACITY", "ALLOCATION", "AVAILABLE", "AUTOSTART", "MANAGED-BY"],
                         h.pools.map { p in
                             [p.name, p.active ? "active" : "inactive", p.spec.type.rawValue, p.spec.path ?? "-",
                              human(p.capacity), human(p.allocation), human(p.available), p.autostart ? "yes" : "no", owner(p.owner)]
                         })
            out += "\n"
            out += table(["VOLUME", "FORMAT", "CAPACITY", "ALLOCATION", "BACKING", "MANAGED-BY"],
                         h.volumes.map { v in
                             ["\(v.pool)/\(v.name)", v.format ?? "-", human(v.capacity), human(v.allocation),
                              v.backingPath.map { $0 + (v.backingFormat.map { " (\($0))" } ?? "") } ?? "-", owner(v.owner)]
                         })
            out += "\n"
        }
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
        var v = Double(s.bytes), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(s.bytes) B" : String(format: "%.1f %@", v, units[i])
    }

    func table(_ header: [String], _ rows: [[String]]) -> String {
        if rows.isEmpty { return "\(header[0]): none\n" }
        let all = [header] + rows.map { $0.map { $0.isEmpty ? "-" : $0 } }
        var widths = Array(repeating: 0, count: header.count)
        for r in all { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return all.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
