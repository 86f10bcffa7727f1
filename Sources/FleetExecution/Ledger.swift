import FleetMapping
import FleetModel
import Libvirt

/// The fleet's ownership ledger on one host (docs/ownership.md): a defined, never-started domain whose
/// metadata lists the networks, pools and volumes fleet created. The ledger is
/// redefined with its new entries, before an object is created and after it is deleted, so a killed run
/// leaves at worst a mark without an object (planned as a create), never an object without a mark.
struct Ledger {
    let conn: Connection
    let fleet: String
    let hypervisor: Hypervisor

    var name: String { LedgerMapping.domainName(fleet: fleet) }

    func entries() throws -> [LedgerEntry] {
        guard let d = try conn.domain(named: name) else { return [] }
        return try LedgerMapping.entries(fromXML: d.xmlDesc(flags: .inactive))
    }

    func record(object: String, mark: OwnerMark) throws {
        var all = try entries().filter { !($0.object == object && $0.mark.kind == mark.kind) }
        all.append(LedgerEntry(object: object, mark: mark))
        try write(all)
    }

    func remove(object: String, kind: ObjectKind) throws {
        let all = try entries()
        let kept = all.filter { !($0.object == object && $0.mark.kind == kind) }
        if kept.count != all.count { try write(kept) }
    }

    func write(_ entries: [LedgerEntry]) throws {
        if let d = try conn.domain(named: name) {
            if entries.isEmpty {
                // Nothing left to record: the ledger goes too, leaving the host as fleet found it.
                try d.undefine()
                return
            }
            // Redefining keeps the UUID and replaces the whole metadata in one call.
            _ = try conn.defineDomain(xml: LedgerMapping.render(fleet: fleet, entries: entries, hypervisor: hypervisor, uuid: d.uuidString))
        } else if !entries.isEmpty {
            _ = try conn.defineDomain(xml: LedgerMapping.render(fleet: fleet, entries: entries, hypervisor: hypervisor))
        }
    }
}
