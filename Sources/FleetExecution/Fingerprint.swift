import FleetModel
import Foundation

extension LiveState {
    /// A fingerprint of everything a plan depends on, so `fleet apply PLANFILE` can refuse a plan
    /// computed from a world that has changed since. Counters that move on their own (allocation,
    /// leases handed out, guest addresses) are left out: they never change a plan.
    public var fingerprint: String {
        var copy = self
        for h in copy.hosts.indices {
            copy.hosts[h].info = nil
            copy.hosts[h].facts.freeMemory = nil
            for i in copy.hosts[h].pools.indices {
                copy.hosts[h].pools[i].allocation = .init(bytes: 0)
                copy.hosts[h].pools[i].available = .init(bytes: 0)
                copy.hosts[h].pools[i].capacity = .init(bytes: 0)
            }
            for i in copy.hosts[h].volumes.indices { copy.hosts[h].volumes[i].allocation = .init(bytes: 0) }
            for i in copy.hosts[h].networks.indices { copy.hosts[h].networks[i].activeLeases = [] }
            for i in copy.hosts[h].domains.indices {
                for n in (copy.hosts[h].domains[i].live?.nics ?? []).indices { copy.hosts[h].domains[i].live?.nics[n].addresses = [] }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(copy)) ?? Data()
        // Two independent FNV-1a passes over the bytes, forwards and backwards: a record of what the plan saw, not a
        // security boundary (a saved plan is recomputed and compared change for change before it is applied).
        return hex(StableHash.fnv1a64(bytes: bytes)) + hex(StableHash.fnv1a64(bytes: bytes.reversed()))
    }
}

private func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
