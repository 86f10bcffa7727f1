import Dispatch
import FleetMapping
import FleetModel
import Foundation
import Libvirt

/// The fleet's ownership ledger on one host (docs/ownership.md): a defined, never-started domain whose
/// metadata lists the networks, pools and volumes fleet created. The ledger is
/// redefined with its new entries, before an object is created and after it is deleted, so a killed run
/// leaves at worst a mark without an object (planned as a create), never an object without a mark.
final class Ledger: @unchecked Sendable {
    let conn: Connection
    let fleet: String
    let hypervisor: Hypervisor
    /// The entries as last read or written: runs on one host are serialized by the host lock, so
    /// only this run changes them. Lanes of one run share this object: `lock` serializes them.
    private var cache: [LedgerEntry]?
    /// Where each entry is in `cache`, by `key`: a run of N changes looks entries up N times.
    private var cacheIndex: [String: Int] = [:]
    private let lock = NSRecursiveLock()
    /// Entries of objects already deleted, not yet written out (`removeSoon`), in order and by `key`.
    private var pendingRemovals: [(String, ObjectKind)] = []
    private var pendingKeys: Set<String> = []
    private var lastWrite: UInt64 = 0
    /// How long a deletion's entry may wait for others to share its ledger write. Rewriting the whole ledger
    /// after each of 1,000 volume deletions made teardown quadratic (57 s for 1,000 VMs through a daemon).
    static let removalBatchWindow: UInt64 = 200_000_000

    init(conn: Connection, fleet: String, hypervisor: Hypervisor) {
        self.conn = conn
        self.fleet = fleet
        self.hypervisor = hypervisor
    }

    var name: String { LedgerMapping.domainName(fleet: fleet) }

    /// The entries, without those of objects deleted in this run whose removal is not written yet.
    func entries() throws -> [LedgerEntry] {
        lock.lock()
        defer { lock.unlock() }
        return Self.without(pendingKeys, try stored())
    }

    /// The entry of `object` of `kind` (`pool/volume` for volumes and images), unless its removal is pending.
    func entry(_ object: String, _ kind: ObjectKind) throws -> LedgerEntry? {
        lock.lock()
        defer { lock.unlock() }
        let k = Self.key(object, kind)
        let all = try stored()
        guard !pendingKeys.contains(k), let i = cacheIndex[k] else { return nil }
        return all[i]
    }

    private func stored() throws -> [LedgerEntry] {
        if let cache { return cache }
        guard let d = try conn.domain(named: name) else {
            setCache([])
            return []
        }
        let read = try LedgerMapping.entries(fromXML: d.xmlDesc(flags: .inactive))
        setCache(read)
        return read
    }

    private func setCache(_ entries: [LedgerEntry]) {
        cache = entries
        cacheIndex = Dictionary(entries.enumerated().map { (Self.key($1.object, $1.mark.kind), $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func key(_ object: String, _ kind: ObjectKind) -> String { "\(kind.rawValue):\(object)" }

    private static func without(_ gone: Set<String>, _ entries: [LedgerEntry]) -> [LedgerEntry] {
        guard !gone.isEmpty else { return entries }
        return entries.filter { !gone.contains(key($0.object, $0.mark.kind)) }
    }

    func record(object: String, mark: OwnerMark) throws {
        try recordAll([LedgerEntry(object: object, mark: mark)])
    }

    /// One ledger write for many entries (e.g. every disk a run is about to create); none when nothing changes.
    func recordAll(_ new: [LedgerEntry]) throws {
        lock.lock()
        defer { lock.unlock() }
        var all = try entries()
        var changed = all.count != (try stored()).count
        var at = Dictionary(all.enumerated().map { (Self.key($1.object, $1.mark.kind), $0) }, uniquingKeysWith: { a, _ in a })
        for e in new {
            let k = Self.key(e.object, e.mark.kind)
            if let i = at[k] {
                if all[i] == e { continue }
                all[i] = e
            } else {
                at[k] = all.count
                all.append(e)
            }
            changed = true
        }
        if changed { try write(all) }
    }

    func remove(object: String, kind: ObjectKind) throws {
        try removeAll([(object, kind)])
    }

    func removeAll(_ objects: [(String, ObjectKind)]) throws {
        lock.lock()
        defer { lock.unlock() }
        let all = try stored()
        let kept = Self.without(pendingKeys.union(objects.map { Self.key($0.0, $0.1) }), all)
        if kept.count != all.count { try write(kept) }
    }

    /// Removes the entry of an object just deleted, sharing the ledger write with the deletions around it: the
    /// write happens once `removalBatchWindow` has passed since the last one, with the next record or
    /// removal, or at `flush` (the end of the host's run). A run killed before then leaves entries of objects
    /// that are gone: marks without objects, the safe side (docs/ownership.md, "Order").
    func removeSoon(object: String, kind: ObjectKind) throws {
        lock.lock()
        defer { lock.unlock() }
        pendingRemovals.append((object, kind))
        pendingKeys.insert(Self.key(object, kind))
        if DispatchTime.now().uptimeNanoseconds - lastWrite >= Self.removalBatchWindow { try flush() }
    }

    /// Writes the removals `removeSoon` is holding back.
    func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !pendingRemovals.isEmpty else { return }
        try removeAll([])
    }

    func write(_ entries: [LedgerEntry]) throws {
        lock.lock()
        defer { lock.unlock() }
        if let d = try conn.domain(named: name) {
            if entries.isEmpty {
                // Nothing left to record: the ledger goes too, leaving the host as fleet found it.
                try d.undefine()
            } else {
                // Redefining keeps the UUID and replaces the whole metadata in one call.
                _ = try conn.defineDomain(
                    xml: LedgerMapping.render(fleet: fleet, entries: entries, hypervisor: hypervisor, uuid: d.uuidString))
            }
        } else if !entries.isEmpty {
            _ = try conn.defineDomain(xml: LedgerMapping.render(fleet: fleet, entries: entries, hypervisor: hypervisor))
        }
        setCache(entries)
        pendingRemovals = []
        pendingKeys = []
        lastWrite = DispatchTime.now().uptimeNanoseconds
    }
}
