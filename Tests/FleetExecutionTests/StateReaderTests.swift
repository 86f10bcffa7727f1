import FleetModel
import FleetTestSupport
import Libvirt
import Testing

@testable import FleetExecution

/// The reader's bulk facts on libvirt's test driver (in process): each domain gets its own, whatever the others are.
@Suite struct StateReaderTests {
    static func xml(_ name: String) -> String {
        "<domain type='test'><name>\(name)</name><memory>8192</memory><os><type>hvm</type></os></domain>"
    }

    /// Persistence comes from one listing of the transient domains: a transient one reads as such, a defined one
    /// (running or not) as persistent.
    @Test func transientAndPersistentDomainsReadAsTheyAre() throws {
        let p = uniquePrefix()
        let conn = try Connection(uri: "test:///default")
        let defined = try conn.defineDomain(xml: Self.xml("\(p)defined"))
        let running = try conn.defineDomain(xml: Self.xml("\(p)running"))
        try running.create()
        let transient = try conn.createDomain(xml: Self.xml("\(p)transient"))
        defer {
            try? transient.destroy()
            try? running.destroy()
            try? running.undefine()
            try? defined.undefine()
        }
        let host = try StateReader(fleet: nil).read(host: HostSpec(name: "local", uri: "test:///default"), connection: conn)
        let mine = Dictionary(uniqueKeysWithValues: host.domains.filter { $0.name.hasPrefix(p) }.map { ($0.name, $0) })
        #expect(mine.count == 3, "\(mine.keys.sorted())")
        #expect(mine["\(p)defined"]?.persistent == true && mine["\(p)defined"]?.state == .shutoff)
        #expect(mine["\(p)running"]?.persistent == true && mine["\(p)running"]?.state == .running)
        #expect(mine["\(p)transient"]?.persistent == false && mine["\(p)transient"]?.state == .running)
    }
}
