import Dispatch
import FleetImages
import FleetMapping
import FleetModel
import Libvirt

/// Reads hosts into `LiveState`: one bulk listing per object kind, bulk calls for every domain's state,
/// persistence, autostart, managed save and snapshot presence, and one XML read per object (two for a
/// running domain: its persistent and its live definition), a few at a time per host, hosts concurrently.
public struct StateReader: Sendable {
    /// The fleet whose ledger says what it owns; nil reads every fleet's ledger (for `fleet show`).
    public var fleet: String?
    public var timeout: Double
    /// Also read what only `fleet show` displays (DHCP leases, guest addresses).
    public var detail: Bool

    public init(fleet: String?, timeout: Double = 10, detail: Bool = false) {
        self.fleet = fleet
        self.timeout = timeout
        self.detail = detail
    }

    /// Reads every host concurrently. A host that cannot be read gets `error` set; the others are unaffected.
    public func read(hosts: [HostSpec]) -> LiveState {
        let results = ResultBox<LiveHost>(count: hosts.count)
        Parallel.run(hosts.count, width: hosts.count) { i in results.set(i, read(host: hosts[i])) }
        return LiveState(hosts: results.values.map { $0! })
    }

    public func read(host: HostSpec) -> LiveHost {
        do {
            let conn = try Connection(uri: host.uri, timeout: timeout)
            return try read(host: host, connection: conn)
        } catch {
            return LiveHost(name: host.name, uri: host.uri, error: "\(error)")
        }
    }

    public func read(host: HostSpec, connection conn: Connection) throws -> LiveHost {
        var out = LiveHost(name: host.name, uri: host.uri)
        out.info = try hostInfo(conn)

        // Domains first: the ledger among them says which networks, pools and volumes we own.
        let ledgerName = fleet.map { LedgerMapping.domainName(fleet: $0) }
        var ledger: [String: OwnerMark] = [:]
        var domains: [Domain] = []
        for d in try conn.listAllDomains() {
            let name = d.name
            if name == ledgerName || (ledgerName == nil && name.hasPrefix("fleet-ledger-")) {
                for e in try LedgerMapping.entries(fromXML: d.xmlDesc(flags: .inactive)) {
                    ledger["\(e.mark.kind.rawValue):\(e.object)"] = e.mark
                }
            } else if ObjectName.reservedPrefix(of: name) == nil {
                domains.append(d)
            }
        }
        out.domains = try readDomains(domains, conn).sorted { $0.name < $1.name }

        out.networks = try conn.listAllNetworks().compactMap { n in
            try vanishing {
                // The persistent definition; the test driver knows no INACTIVE flag for networks.
                let xml = try (try? n.xmlDesc(inactive: true)) ?? n.xmlDesc()
                let (spec, forwardDevices) = try NetworkMapping.read(fromXML: xml)
                let active = try n.isActive
                var leases: [String] = []
                if detail && active {
                    leases = ((try? n.dhcpLeases()) ?? []).map { "\($0.ip)/\($0.prefix) \($0.mac)" + ($0.hostname.map { " \($0)" } ?? "") }
                }
                return try LiveNetwork(
                    name: n.name, uuid: n.uuidString, active: active, persistent: n.isPersistent,
                    autostart: try n.autostart(), spec: spec, forwardDevices: forwardDevices,
                    owner: Self.mark(ledger["network:\(n.name)"], uuid: n.uuidString), activeLeases: leases)
            }
        }.sorted { $0.name < $1.name }

        var volumes: [LiveVolume] = []
        out.pools = try conn.listAllStoragePools().compactMap { p in
            try vanishing {
                let name = p.name
                let parsed = try PoolMapping.spec(fromXML: p.xmlDesc(inactive: false))
                let active = try p.isActive
                if active {
                    let read = try concurrently(try p.listAllVolumes()) { v in
                        try vanishing { try VolumeMapping.volume(fromXML: v.xmlDesc(), pool: name) }
                    }
                    for case var lv? in read {
                        lv.owner = ledger["volume:\(name)/\(lv.name)"] ?? ledger["image:\(name)/\(lv.name)"]
                        volumes.append(lv)
                    }
                }
                return try LivePool(
                    name: name, uuid: p.uuidString, active: active, autostart: try p.autostart(), spec: parsed.spec,
                    source: parsed.source, capacity: parsed.capacity, allocation: parsed.allocation, available: parsed.available,
                    owner: Self.mark(ledger["pool:\(name)"], uuid: p.uuidString), permissions: parsed.permissions)
            }
        }.sorted { $0.name < $1.name }
        out.volumes = volumes.sorted { ($0.pool, $0.name) < ($1.pool, $1.name) }

        // Passthrough devices present on the host; a driver that cannot list them leaves this unknown.
        if let pci = try? conn.listAllNodeDevices(capability: .pciDevice), let usb = try? conn.listAllNodeDevices(capability: .usbDevice) {
            let xmls = (pci + usb).compactMap { try? $0.xmlDesc() }
            out.nodeDevices = xmls.compactMap { try? NodeDeviceMapping.kind(fromXML: $0) }
            out.facts.pciDevices = xmls.compactMap { try? NodeDeviceMapping.pciDevice(fromXML: $0) }
        }
        // Preflight facts, one call each per host (docs/planning.md, "Preflight"); a driver without one leaves it unknown.
        // The test driver's (3 MiB free, no IOMMU) are constants that describe no machine: it gets none.
        if out.info?.hypervisor.uppercased() == "TEST" { return out }
        out.facts.freeMemory = (try? conn.freeMemoryBytes()).map { ByteSize(bytes: $0) }
        // The capabilities (QEMU's DAC label, the IOMMU) take a bigger document than the rest: read only when a check
        // needs them, when a pool's directory is closed to others or a PCI function is in no IOMMU group.
        let closedPool = out.pools.contains { $0.permissions.map { $0.mode & 0o001 == 0 } ?? false }
        let groupless = out.facts.pciDevices?.contains { $0.iommuGroup == nil } ?? false
        if closedPool || groupless, let caps = try? conn.capabilitiesXML(), let f = try? NodeDeviceMapping.hostFacts(capabilitiesXML: caps)
        {
            out.facts.iommu = f.iommu
            out.facts.qemuUser = f.qemuUser
        }
        return out
    }

    /// A ledger mark counts only for the object it was recorded for: one whose UUID differs (removed and
    /// made again by someone else under the same name) is not fleet's, whatever the ledger says.
    static func mark(_ mark: OwnerMark?, uuid: String) -> OwnerMark? {
        guard let mark else { return nil }
        if let recorded = mark.attributes["uuid"], recorded != uuid { return nil }
        return mark
    }

    /// An object removed between the listing and its read (another client at work) is simply not there.
    func vanishing<T>(_ body: () throws -> T) throws -> T? {
        do { return try body() } catch let e as LibvirtError where e.isNotFound { return nil }
    }

    /// What one bulk call per fact gives for every domain at once, instead of a round trip per domain each.
    struct DomainFacts {
        var states: [String: DomainState] = [:]
        /// The transient ones: the complement of the persistent, and usually empty, where the persistent list holds
        /// every domain.
        var transient: Set<String>?
        var autostart: Set<String>?
        var managedSave: Set<String>?
        var withSnapshots: Set<String>?

        init(_ conn: Connection) {
            // Each is optional: a driver without the call leaves the per-domain fallback in place.
            if let stats = try? conn.allDomainStats([.state]) {
                for s in stats { if let st = s.state, let u = try? s.domain.uuidString { states[u] = st } }
            }
            func uuids(_ f: DomainListFilter) -> Set<String>? {
                (try? conn.listAllDomains(f)).map { Set($0.compactMap { try? $0.uuidString }) }
            }
            transient = uuids(.transient)
            autostart = uuids(.autostart)
            managedSave = uuids(.managedSave)
            withSnapshots = uuids(.hasSnapshot)
        }
    }

    /// Reads the domains with the bulk facts: one XML read per shut-off domain, two per running one, snapshots
    /// only where there are some.
    func readDomains(_ domains: [Domain], _ conn: Connection) throws -> [LiveDomain] {
        let facts = DomainFacts(conn)
        return try concurrently(domains) { d in try vanishing { try readDomain(d, facts) } }.compactMap { $0 }
    }

    /// Requests in flight per host while reading domains and volumes.
    static let concurrentReads = 4

    /// `body` over `items`, a few requests in flight on the one connection (libvirt's remote driver multiplexes
    /// them; the daemon serves them on its worker threads), results in the order of `items`. The first error
    /// (in that order) is thrown.
    func concurrently<T: Sendable, R>(_ items: [T], _ body: @escaping @Sendable (T) throws -> R) throws -> [R] {
        let results = ResultBox<Result<R, Error>>(count: items.count)
        let workers = min(Self.concurrentReads, max(items.count, 1))
        Parallel.run(items.count, width: workers) { i in results.set(i, Result { try body(items[i]) }) }
        return try results.values.map { try $0!.get() }
    }

    func readDomain(_ d: Domain, _ facts: DomainFacts) throws -> LiveDomain {
        let uuid = try d.uuidString
        let state = Self.state(try facts.states[uuid] ?? d.info().state)
        // SECURE, so a graphics password can be compared (as a digest); a read-only connection cannot ask for it.
        let inactive = try (try? d.xmlDesc(flags: [.inactive, .secure])) ?? d.xmlDesc(flags: .inactive)
        let config = try DomainMapping.config(fromXML: inactive, passwordDigest: graphicsPasswordDigest)
        var live: DomainConfig?
        if state.isActive {
            live = try DomainMapping.config(fromXML: d.xmlDesc())
            if detail {
                // Guest addresses, for display: DHCP leases, the guest agent, ARP (each with its source).
                let addrs = GuestAddress.read(d)
                for (i, nic) in (live?.nics ?? []).enumerated() {
                    live?.nics[i].addresses = addrs.filter { $0.mac?.lowercased() == nic.mac?.description.lowercased() }.map(\.description)
                }
            }
        }
        var snapshots: [LiveSnapshot] = []
        if facts.withSnapshots?.contains(uuid) ?? true {
            snapshots = try d.listAllSnapshots().map { s -> LiveSnapshot in
                try SnapshotMapping.snapshot(fromXML: s.xmlDesc())
            }.sorted { $0.name < $1.name }
        }
        return try LiveDomain(
            name: d.name, uuid: uuid, id: d.id.map(Int.init), state: state,
            persistent: facts.transient.map { !$0.contains(uuid) } ?? d.isPersistent,
            autostart: facts.autostart.map { $0.contains(uuid) } ?? ((try? d.autostart()) ?? false),
            config: config, live: live, snapshots: snapshots,
            hasManagedSave: facts.managedSave.map { $0.contains(uuid) } ?? ((try? d.hasManagedSave) ?? false))
    }

    func hostInfo(_ conn: Connection) throws -> HostInfo {
        let n = try conn.nodeInfo()
        return HostInfo(
            hostname: try conn.hostname, cpuModel: n.model, cpus: Int(n.cpus), mhz: Int(n.mhz), sockets: Int(n.sockets),
            cores: Int(n.cores), threads: Int(n.threads), memory: .kib(n.memoryKiB),
            libvirtVersion: try conn.libVersion, hypervisor: try conn.hypervisorType,
            hypervisorVersion: try conn.hypervisorVersion)
    }

    static func state(_ s: DomainState) -> DomainRunState {
        switch s {
        case .running: return .running
        case .blocked: return .blocked
        case .paused: return .paused
        case .shutdown: return .shutdown
        case .shutoff: return .shutoff
        case .crashed: return .crashed
        case .pmSuspended: return .pmsuspended
        case .noState: return .unknown
        }
    }
}

/// Results written from `concurrentPerform` workers, each to its own slot.
final class ResultBox<T>: @unchecked Sendable {
    private let lock = DispatchQueue(label: "fleet.results")
    private var storage: [T?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.sync { storage[i] = v } }
    var values: [T?] { lock.sync { storage } }
}
