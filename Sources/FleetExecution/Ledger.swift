import FleetMapping
import Foundation
import FleetModel
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

    init(conn: Connection, fleet: String, hypervisor: Hypervisor) {
        self.conn = conn; self.fleet = fleet; self.hypervisor = hypervisor
    }

    var name: String { LedgerMapping.domainName(fleet: fleet) }

    func entries() throws -> [LedgerEntry] {
        lock.lock(); defer { lock.unlock() }
        if let cache { return cache }
        guard let d = try conn.domain(named: name) else { cache = []; return [] }
        let read = try LedgerMapping.entries(fromXML: d.xmlDesc(flags: .inactive))
        cache = read
        return read
    }

    func record(object: String, mark: OwnerMark) throws {
        try recordAll([LedgerEntry(object: object, mark: mark)])
    }

    /// One ledger write for many entries (e.g. every disk a run is about to create); none when nothing changes.
    func recordAll(_ new: [LedgerEntry]) throws {
        lock.lock(); defer { lock.unlock() }
        var all = try entries()
        var changed = false
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
        lock.lock(); defer { lock.unlock() }
        let all = try entries()
        let kept = all.filter { e in !objects.contains { $0.0 == e.object && $0.1 == e.mark.kind } }
        if kept.count != all.count { try write(kept) }
    }

    func write(_ entries: [LedgerEntry]) throws {
        if let d = try conn.domain(named: name) {
            if entries.isEmpty {
                // Nothing left to record: the ledger goes too, leaving the host as fleet found it.
                try d.undefine()
            } else {
                // Redefining keeps the UUID and replaces the whole metadata in one call.
                _ = try conn.defineDomain(xml: LedgerMapping.render(fleet: fleet, entries: entries, hypervisor: hypervisor, uuid: d.uuidString))
            }
        } else if !entries.isEmpty {
            _ = try conn.defineDomain(xml: LedgerMapping.render(fleet: fleet, entries: entries, hypervisor: hypervisor))
        }
        cache = entries
    }
}
