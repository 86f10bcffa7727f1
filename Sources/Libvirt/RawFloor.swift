internal import CLibvirt
import Foundation

/// The raw floor for the read benchmark: the same C calls as `listAllDomains` + `xmlDesc` with no
/// Swift wrapping, so the binding's overhead can be measured against it.
public enum RawFloor {
    /// Opens `uri`, lists all domains and fetches each one's XML; returns the total XML bytes.
    public static func readAllDomainXML(uri: String) throws -> Int {
        try Libvirt.initialize()
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

    /// The floor of reading a host's state the way a plain sequential client does (as issue 12 measured it with
    /// libvirt-python): list all domains and fetch each one's inactive XML, and its live XML when it is running;
    /// list the pools with each pool's and each volume's XML; list the networks with their XML. Returns the
    /// number of objects read.
    public static func readHostState(uri: String) throws -> Int {
        try Libvirt.initialize()
        guard let conn = virConnectOpenAuth(uri, defaultAuth, 0) else {
            throw LibvirtError.last("could not connect to \(uri)")
        }
        defer { virConnectClose(conn) }
        func xml(_ x: UnsafeMutablePointer<CChar>?, _ what: String) throws {
            guard let x else { throw LibvirtError.last("\(what) failed") }
            free(x)
        }
        var objects = 0
        var domains: UnsafeMutablePointer<OpaquePointer?>?
        let nd = virConnectListAllDomains(conn, &domains, 0)
        if nd < 0 { throw LibvirtError.last("virConnectListAllDomains failed") }
        defer {
            for i in 0..<Int(max(nd, 0)) { if let d = domains?[i] { virDomainFree(d) } }
            free(domains)
        }
        for i in 0..<Int(nd) {
            guard let d = domains?[i] else { continue }
            try xml(virDomainGetXMLDesc(d, UInt32(VIR_DOMAIN_XML_INACTIVE.rawValue)), "virDomainGetXMLDesc")
            if virDomainIsActive(d) == 1 { try xml(virDomainGetXMLDesc(d, 0), "virDomainGetXMLDesc") }
            objects += 1
        }
        var pools: UnsafeMutablePointer<OpaquePointer?>?
        let np = virConnectListAllStoragePools(conn, &pools, 0)
        if np < 0 { throw LibvirtError.last("virConnectListAllStoragePools failed") }
        defer {
            for i in 0..<Int(max(np, 0)) { if let p = pools?[i] { virStoragePoolFree(p) } }
            free(pools)
        }
        for i in 0..<Int(np) {
            guard let p = pools?[i] else { continue }
            try xml(virStoragePoolGetXMLDesc(p, 0), "virStoragePoolGetXMLDesc")
            objects += 1
            var vols: UnsafeMutablePointer<OpaquePointer?>?
            let nv = virStoragePoolListAllVolumes(p, &vols, 0)
            if nv < 0 { continue }
            defer {
                for j in 0..<Int(nv) { if let v = vols?[j] { virStorageVolFree(v) } }
                free(vols)
            }
            for j in 0..<Int(nv) {
                guard let v = vols?[j] else { continue }
                try xml(virStorageVolGetXMLDesc(v, 0), "virStorageVolGetXMLDesc")
                objects += 1
            }
        }
        var nets: UnsafeMutablePointer<OpaquePointer?>?
        let nn = virConnectListAllNetworks(conn, &nets, 0)
        if nn < 0 { throw LibvirtError.last("virConnectListAllNetworks failed") }
        defer {
            for i in 0..<Int(max(nn, 0)) { if let n = nets?[i] { virNetworkFree(n) } }
            free(nets)
        }
        for i in 0..<Int(nn) {
            guard let n = nets?[i] else { continue }
            try xml(virNetworkGetXMLDesc(n, 0), "virNetworkGetXMLDesc")
            objects += 1
        }
        return objects
    }
}
