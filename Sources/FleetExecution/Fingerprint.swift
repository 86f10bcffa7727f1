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
        let text = (try? encoder.encode(copy)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        // Two independent FNV-1a passes: a staleness check, not a security boundary.
        let a = StableHash.fnv1a64(text)
        let b = StableHash.fnv1a64(String(text.reversed()))
        return hex(a) + hex(b)
    }
}

private func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
