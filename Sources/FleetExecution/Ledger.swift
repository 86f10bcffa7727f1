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
    private let lock = NSRecursiveLock()
    /// Entries of objects already deleted, not yet written out (`removeSoon`).
    private var pendingRemovals: [(String, ObjectKind)] = []
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
        return Self.without(pendingRemovals, try stored())
    }

    private func stored() throws -> [LedgerEntry] {
        if let cache { return cache }
        guard let d = try conn.domain(named: name) else {
            cache = []
            return []
        }
        let read = try LedgerMapping.entries(fromXML: d.xmlDesc(flags: .inactive))
        cache = read
        return read
    }

    private static func without(_ objects: [(String, ObjectKind)], _ entries: [LedgerEntry]) -> [LedgerEntry] {
        guard !objects.isEmpty else { return entries }
        let gone = Set(objects.map { "\($0.1.rawValue):\($0.0)" })
        return entries.filter { !gone.contains("\($0.mark.kind.rawValue):\($0.object)") }
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
        for e in new where !all.contains(e) {
            all.removeAll { $0.object == e.object && $0.mark.kind == e.mark.kind }
            all.append(e)
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
        let kept = Self.without(pendingRemovals + objects, all)
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
        cache = entries
        pendingRemovals = []
        lastWrite = DispatchTime.now().uptimeNanoseconds
    }
}
