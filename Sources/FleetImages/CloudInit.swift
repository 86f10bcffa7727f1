import Crypto
import FleetModel
import Foundation
import Guestfs

public enum CloudInitError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case metaDataNotAMapping(String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cloud-init file \(p) cannot be read: \(r)"
        case .metaDataNotAMapping(let p):
            return "cloud-init meta_data \(p) must be a YAML block mapping (key: value lines) so fleet can add instance-id"
        }
    }
}

/// NoCloud seeds (a small VFAT disk labelled `cidata`), as cloud-init reads them at first boot.
public enum CloudInitSeed {
    /// The three documents, read from the spec's files (absolute paths, as the manifest layer resolves them).
    struct Documents {
        var userData: [UInt8]
        var metaData: [UInt8]?
        var networkConfig: [UInt8]?
        var metaDataPath: String?
    }

    static func read(_ spec: CloudInitSpec) throws -> Documents {
        func load(_ path: String?) throws -> [UInt8]? {
            guard let path else { return nil }
            switch LocalFile.read(path) {
            case .success(let d): return Array(d)
            case .failure(let e): throw CloudInitError.unreadable(path: path, reason: e.reason)
            }
        }
        // NoCloud needs a user-data file even when there is nothing to say.
        return Documents(userData: try load(spec.userData) ?? Array("#cloud-config\n{}\n".utf8),
                         metaData: try load(spec.metaData), networkConfig: try load(spec.networkConfig),
                         metaDataPath: spec.metaData)
    }

    /// `iid-<24 hex>`: sha256 over the VM name and the three documents (length-prefixed, so moving bytes between
    /// documents changes it). A change to any of them gives a new id, which makes cloud-init run again.
    public static func instanceID(_ spec: CloudInitSpec, vmName: String) throws -> String {
        instanceID(try read(spec), vmName: vmName)
    }

    static func instanceID(_ d: Documents, vmName: String) -> String {
        var h = SHA256()
        for part in [Array(vmName.utf8), d.userData, d.metaData ?? [], d.networkConfig ?? []] {
            var n = UInt64(part.count).bigEndian
            withUnsafeBytes(of: &n) { h.update(bufferPointer: $0) }
            h.update(data: part)
        }
        return "iid-" + String(ImageSource.hex(h.finalize()).prefix(24))
    }

    /// The meta-data document: fleet's instance-id (replacing any the user wrote) and `local-hostname`
    /// (the user's wins if given, else the VM name), then the user's other keys unchanged.
    static func metaData(_ d: Documents, vmName: String) throws -> String {
        let iid = instanceID(d, vmName: vmName)
        guard let user = d.metaData else { return "instance-id: \(iid)\nlocal-hostname: \(vmName)\n" }
        let text = String(decoding: user, as: UTF8.self)
        var kept: [String] = []
        var skipping = false
        var hasHostname = false
        for line in text.components(separatedBy: "\n") {
            let isTop = line.first.map { !$0.isWhitespace && $0 != "#" } ?? false
            if line == "---" && kept.allSatisfy({ $0.hasPrefix("#") || $0.isEmpty }) { continue }
            if isTop {
                if line.hasPrefix("{") || line.hasPrefix("[") || line.hasPrefix("- ") || !line.contains(":") {
                    throw CloudInitError.metaDataNotAMapping(d.metaDataPath ?? "meta-data")
                }
                let key = line.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces)
                skipping = key == "instance-id" || key == "\"instance-id\"" || key == "'instance-id'"
                if key == "local-hostname" { hasHostname = true }
            }
            // An instance-id value continued on indented lines goes with it.
            if !skipping { kept.append(line) }
        }
        while kept.last == "" { kept.removeLast() }
        var out = "instance-id: \(iid)\n"
        if !hasHostname { out += "local-hostname: \(vmName)\n" }
        if !kept.isEmpty { out += kept.joined(separator: "\n") + "\n" }
        return out
    }

    /// Builds the seed disk at `outputPath` (raw, VFAT on the whole device, label `cidata`) holding user-data,
    /// meta-data and network-config (when given). Returns the file's sha256. The file is not byte-reproducible
    /// (mkfs picks a random volume serial, files get timestamps): compare `instanceID`, not this hash.
    public static func build(_ spec: CloudInitSpec, vmName: String, outputPath: String) throws -> String {
        let d = try read(spec)
        let meta = try metaData(d, vmName: vmName)
        let payload = d.userData.count + meta.utf8.count + (d.networkConfig?.count ?? 0)
        // FAT overhead is small; 1 MiB headroom, whole MiB, at least 2 MiB (mkfs.fat picks FAT12/16 to fit).
        let mib = 1 << 20
        let (sum, overflow) = payload.addingReportingOverflow(2 * mib - 1)
        guard !overflow else { throw CloudInitError.unreadable(path: spec.userData ?? "user-data", reason: "too large") }
        let size = Int64(max(2 * mib, sum / mib * mib))

        let partial = outputPath + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        var ok = false
        defer { if !ok { try? FileManager.default.removeItem(atPath: partial) } }
        do {
            let g = try Guestfs()
            try g.diskCreate(partial, format: "raw", size: size)
            try g.addDrive(partial, format: "raw", label: "cidata")
            try g.launch()
            guard let dev = try g.listDevices().first else {
                throw GuestfsError(operation: "list_devices", message: "the seed disk did not appear")
            }
            try g.mkfs("vfat", device: dev, label: "cidata")
            try g.mount(dev, at: "/")
            try g.write("/user-data", d.userData)
            try g.write("/meta-data", meta)
            if let n = d.networkConfig { try g.write("/network-config", n) }
            try g.sync()
            try g.umountAll()
            try g.shutdown()
        }
        guard rename(partial, outputPath) == 0 else {
            throw CloudInitError.unreadable(path: outputPath, reason: "cannot move the seed into place: \(String(cString: strerror(errno)))")
        }
        ok = true
        return try ImageSource.sha256(ofFile: outputPath)
    }
}
