import ArgumentParser
import FleetExecution
import FleetManifest
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation

/// `fleet export`: manifests for objects that already exist on a host, ready for `fleet apply --adopt`.
public struct ExportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write manifests for existing VMs, networks, pools and devices, for `fleet apply --adopt`.")

    @Argument(help: "Manifest directories or files naming the hosts (and the fleet); or use --connect URI with --fleet NAME.")
    public var paths: [String] = []
    @OptionGroup public var connection: ConnectionOptions
    @Option(help: "The fleet name the manifest declares (required with --connect URI and no manifests).")
    public var fleet: String?
    @Option(
        name: .customLong("select"),
        help: ArgumentHelp("Only this object (vm, network, pool or device) and what a VM uses. Repeatable.", valueName: "KIND/NAME"))
    public var select: [String] = []
    @Option(help: "Directory to write fleet.yaml into (created if needed; an existing fleet.yaml is not overwritten). Default: stdout.")
    public var out: String?

    public init() {}

    public func validate() throws {
        for s in select {
            guard let r = ObjectRef(parsing: s), [.vm, .network, .pool, .device].contains(r.kind) else {
                throw ValidationError("--select \(s): expected KIND/NAME with KIND one of vm, network, pool, device")
            }
        }
        if paths.isEmpty {
            guard let f = fleet else {
                throw ValidationError("--fleet NAME is required without manifests (fleet: is a required manifest key)")
            }
            guard ObjectName.isValid(f) else { throw ValidationError("--fleet \(f): not a valid name") }
        }
    }

    public func run() throws {
        let name: String
        // Where to read (with --connect applied) and what the manifest declares (the manifests' own URIs in PATH mode).
        let hosts: [HostSpec]
        let declared: [HostSpec]
        if paths.isEmpty {
            name = fleet ?? ""
            hosts = try connection.hosts(for: Fleet(name: name, hosts: [Fleet.defaultHost]))
            declared = hosts
        } else {
            let loaded = try loadFleet(ManifestOptions(paths: paths))
            name = fleet ?? loaded.name
            hosts = try connection.hosts(for: loaded)
            declared = loaded.hosts
        }
        let reader = ExportReader(timeout: connection.timeout)
        var inputs: [ManifestExport.Host] = []
        var failed = false
        for h in hosts {
            switch reader.read(host: h) {
            case .success(var i):
                i.spec = declared.first { $0.name == h.name } ?? h
                inputs.append(i)
            case .failure(let e):
                printError("error: host \(h.name) (\(h.uri)): \(e)")
                failed = true
            }
        }
        if failed { throw ExitCode.failed }
        let selection = ManifestExport.Selection(select.compactMap(ObjectRef.init(parsing:)).map { ($0.kind, $0.name) })
        let schema = out == nil ? FleetSchema.id : "fleet.schema.json"
        let result = ManifestExport.export(fleet: name, hosts: inputs, selection: selection, schema: schema)
        for n in result.notFound { printError("error: --select \(n): no such object on \(hosts.map(\.name).joined(separator: ", "))") }
        if !result.notFound.isEmpty { throw ExitCode.failed }
        guard let out else {
            printOut(result.text)
            return
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        let file = (out as NSString).appendingPathComponent("fleet.yaml")
        guard !fm.fileExists(atPath: file) else {
            printError("error: \(file) exists; fleet export never overwrites a manifest (choose another --out)")
            throw ExitCode.failed
        }
        try Data(result.text.utf8).write(to: URL(fileURLWithPath: file))
        try Data(FleetSchema.json().utf8).write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("fleet.schema.json")))
        printError("wrote \(file)")
    }
}
