import FleetMapping
import FleetModel
import Libvirt

/// Reads what `fleet export` needs from each host: the live state (every fleet's marks, so objects another fleet
/// owns are left out) and each domain's persistent XML (to name what fleet does not manage).
public struct ExportReader: Sendable {
    public var timeout: Double
    public init(timeout: Double = 10) { self.timeout = timeout }

    /// One host's export input, or the error that kept it from being read.
    public func read(host: HostSpec) -> Result<ManifestExport.Host, Error> {
        do {
            let conn = try Connection(uri: host.uri, timeout: timeout)
            let live = try StateReader(fleet: nil, timeout: timeout).read(host: host, connection: conn)
            var xml: [String: String] = [:]
            for d in live.domains {
                // A domain that vanished since the listing has nothing to name.
                if let dom = try? conn.domain(named: d.name), let text = try? dom.xmlDesc(flags: .inactive) { xml[d.name] = text }
            }
            return .success(ManifestExport.Host(spec: host, live: live, domainXML: xml))
        } catch {
            return .failure(error)
        }
    }
}
