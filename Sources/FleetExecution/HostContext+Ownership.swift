import FleetImages
import FleetMapping
import FleetModel
import FleetPlanning
import Foundation
import Libvirt

/// Ownership checked at the moment of change, and what a failed create leaves behind (docs/ownership.md).
extension HostContext {
    // MARK: Ownership at the moment of change

    /// Checks, right before the first call that changes anything, that the object is still the one the change
    /// was planned against: absent for a create; otherwise the same UUID, and fleet's mark (for an adoption: no
    /// mark at all). Anything else fails the change, so nothing of its branch runs.
    func verifyOwnership(_ c: Change) throws {
        let name = c.object.name
        func refuse(_ why: String) -> ExecutionError { .ownership(c.object, why) }
        func check(exists: Bool, uuid: String?, owned: @autoclosure () throws -> Bool) throws {
            if c.action == .create {
                if exists { throw refuse("was created by someone else") }
                return
            }
            if c.action == .migrate && !exists { return }
            guard exists else { throw refuse("no longer exists") }
            if let want = c.uuid, let uuid, want != uuid {
                throw refuse("was replaced by another object of the same name (UUID \(uuid), planned against \(want))")
            }
            let mine = try owned()
            if c.action == .adopt {
                if mine { throw refuse("was taken under management by this fleet") }
            } else if !mine {
                throw refuse("no longer carries fleet \(fleet.name)'s ownership mark")
            }
        }
        switch c.object.kind {
        case .vm:
            let d = try conn.domain(named: name)
            if c.action == .adopt {
                // Unmarked, or marked by nobody we know: an adoption writes the first mark.
                let mark = try d.flatMap { try $0.metadata(uri: OwnerXML.namespace, flags: .config) }.flatMap(OwnerXML.parse)
                if mark != nil { throw refuse("was marked by fleet \(mark!.fleet)") }
                try check(exists: d != nil, uuid: d?.uuidString, owned: false)
                return
            }
            try check(
                exists: d != nil, uuid: d?.uuidString,
                owned: try d.flatMap { try $0.metadata(uri: OwnerXML.namespace, flags: .config) }
                    .flatMap(OwnerXML.parse)?.fleet == fleet.name)
        case .network:
            let n = try conn.network(named: name)
            try check(exists: n != nil, uuid: n?.uuidString, owned: try ledgerOwns(name, .network, uuid: n?.uuidString))
        case .pool:
            let p = try conn.storagePool(named: name)
            try check(exists: p != nil, uuid: p?.uuidString, owned: try ledgerOwns(name, .pool, uuid: p?.uuidString))
        case .volume, .image:
            // Volumes have no UUID: their ledger entry is the mark. A declared image's version is named by its content.
            if c.steps.contains(.createVolume) || c.steps.contains(.createSeed) || c.steps.contains(.createIgnition)
                || c.steps.contains(.uploadImage),
                !c.steps.contains(.deleteVolume)
            {
                let (poolName, volName) = try volumeRef(c)
                if let p = try conn.storagePool(named: poolName), try p.volume(named: volName) != nil {
                    // A volume this fleet recorded (an image left in a pool's directory by an earlier run) is its own:
                    // the step decides whether it can be reused. Anyone else's is never touched.
                    let kind: ObjectKind = c.object.kind == .image ? .image : .volume
                    let recorded = try ledger.entry("\(poolName)/\(volName)", kind) != nil
                    if !recorded { throw refuse("was created by someone else") }
                }
            } else if c.action != .adopt {
                let (poolName, volName) = try volumeRef(c)
                let kind: ObjectKind = c.object.kind == .image ? .image : .volume
                guard try ledger.entry("\(poolName)/\(volName)", kind) != nil else {
                    throw refuse("is no longer recorded in fleet \(fleet.name)'s ledger")
                }
            }
        default:
            break
        }
    }

    /// Whether this fleet's ledger records `name` of `kind` (and, when it recorded a UUID, this very object).
    func ledgerOwns(_ name: String, _ kind: ObjectKind, uuid: String?) throws -> Bool {
        guard let e = try ledger.entry(name, kind) else { return false }
        if let recorded = e.mark.attributes["uuid"], let uuid, recorded != uuid { return false }
        return true
    }

    /// A failed create leaves nothing behind: not a half-made object, not a ledger entry that a later run could
    /// take for ownership of somebody else's object of the same name.
    func rollBackCreate(_ c: Change) {
        let name = c.object.name
        switch c.object.kind {
        case .pool:
            // Only the pool this change defined: the one whose UUID the ledger recorded after the define.
            if let p = try? conn.storagePool(named: name), (try? ledgerOwns(name, .pool, uuid: p.uuidString)) == true,
                (try? ledger.entry(name, .pool)?.mark.attributes["uuid"]) != nil
            {
                if (try? p.isActive) == true { try? p.destroy() }
                try? p.undefine()
            }
            try? ledger.remove(object: name, kind: .pool)
        case .network:
            if let n = try? conn.network(named: name), (try? ledgerOwns(name, .network, uuid: n.uuidString)) == true,
                (try? ledger.entry(name, .network)?.mark.attributes["uuid"]) != nil
            {
                if (try? n.isActive) == true { try? n.destroy() }
                try? n.undefine()
            }
            try? ledger.remove(object: name, kind: .network)
        case .volume, .image:
            guard let (poolName, volName) = try? volumeRef(c) else { return }
            let exists = (try? conn.storagePool(named: poolName)?.volume(named: volName)) != nil
            if !exists { try? ledger.remove(object: "\(poolName)/\(volName)", kind: c.object.kind == .image ? .image : .volume) }
        default:
            break
        }
    }
}
