internal import CLibvirt
import Foundation

/// The raw floor for the read benchmark: the same C calls as `listAllDomains` + `xmlDesc` with no
/// Swift wrapping, so the binding's overhead can be measured against it.
public enum RawFloor {
    /// Opens `uri`, lists all domains and fetches each one's XML; returns the total XML bytes.
    public static func readAllDomainXML(uri: String) throws -> Int {
        Libvirt.initialize()
        guard let conn = virConnectOpenAuth(uri, defaultAuth, 0) else {
            throw LibvirtError.last("could not connect to \(uri)")
        }
        defer { virConnectClose(conn) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = virConnectListAllDomains(conn, &list, 0)
        if n < 0 { throw LibvirtError.last("virConnectListAllDomains failed") }
        guard let list else { return 0 }
        defer { free(list) }
        var total = 0
        var failure: LibvirtError?
        for i in 0..<Int(n) {
            guard let d = list[i] else { continue }
            if failure == nil {
                if let x = virDomainGetXMLDesc(d, 0) {
                    total += strlen(x)
                    free(x)
                } else {
                    failure = LibvirtError.last("virDomainGetXMLDesc failed")
                }
            }
            virDomainFree(d)
        }
        if let failure { throw failure }
        return total
    }
}
