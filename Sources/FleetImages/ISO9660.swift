import Foundation

public enum ISO9660Error: Error, CustomStringConvertible, Equatable, Sendable {
    case badName(String)
    case duplicateName(String)
    case badVolumeID(String)
    case tooLarge

    public var description: String {
        switch self {
        case .badName(let n): return "ISO 9660 file name \"\(n)\" must be 1-64 UTF-8 bytes without / or NUL"
        case .duplicateName(let n): return "ISO 9660 file \"\(n)\" is given twice, or its short name collides with another file's"
        case .badVolumeID(let v): return "ISO 9660 volume id \"\(v)\" must be 1-16 ASCII letters, digits, - or _"
        case .tooLarge: return "ISO 9660 image would exceed 4 GiB"
        }
    }
}

/// A minimal ISO 9660 writer: one root directory holding regular files, with Rock Ridge (POSIX names and
/// modes, which Linux prefers) and Joliet (UCS-2 names, which Windows reads). Enough for a cloud-init
/// NoCloud seed (`cidata`), and nothing more: no subdirectories, no boot record, no multi-extent files.
///
/// Layout (2048-byte sectors): 0-15 system area, 16 primary descriptor, 17 Joliet descriptor,
/// 18 terminator, 19-22 path tables (L and M, primary then Joliet), 23 primary root, 24 Joliet root,
/// then each file's data on its own sectors, then 150 sectors of padding (as genisoimage pads, so a
/// drive's read-ahead past the last file never fails).
public struct ISO9660Image {
    public struct File: Sendable {
        public var name: String
        public var data: [UInt8]
        public init(name: String, data: [UInt8]) {
            self.name = name
            self.data = data
        }
    }

    static let sector = 2048

    public var volumeID: String
    public var files: [File]
    /// Recording time of every descriptor and record; fixed, the image is byte-reproducible.
    public var date: Date

    public init(volumeID: String, files: [File], date: Date = Date()) {
        self.volumeID = volumeID
        self.files = files
        self.date = date
    }

    /// The level-1 name (`USER_DAT.;1`): upper-case d-characters, 8.3, for readers that ignore both extensions.
    static func shortName(_ name: String) -> String {
        func dchars(_ s: Substring, _ max: Int) -> String {
            String(
                s.uppercased().unicodeScalars.prefix(max).map { c -> Character in
                    (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") ? Character(c) : "_"
                })
        }
        let dot = name.lastIndex(of: ".")
        let base = dot.map { name[..<$0] } ?? Substring(name)
        let ext = dot.map { name[name.index(after: $0)...] } ?? ""
        return dchars(base, 8) + "." + dchars(ext, 3) + ";1"
    }

    public func bytes() throws -> [UInt8] {
        guard (1...16).contains(volumeID.count),
            volumeID.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_")
            })
        else { throw ISO9660Error.badVolumeID(volumeID) }
        var seenShort = Set<String>()
        var seenLong = Set<String>()
        for f in files {
            guard (1...64).contains(f.name.utf8.count), !f.name.contains("/"), !f.name.contains("\0"),
                f.name != ".", f.name != "..", f.name.unicodeScalars.allSatisfy({ $0.value <= 0xFFFF })
            else { throw ISO9660Error.badName(f.name) }
            guard seenLong.insert(f.name).inserted, seenShort.insert(Self.shortName(f.name)).inserted else {
                throw ISO9660Error.duplicateName(f.name)
            }
        }
        let s = Self.sector
        let rootPrimary = 23
        let rootJoliet = 24
        // Each file's first sector, in the given order.
        var extents: [Int] = []
        var next = 25
        for f in files {
            extents.append(next)
            next += max(1, (f.data.count + s - 1) / s)
        }
        let total = next + 150
        guard total * s < Int(UInt32.max) else { throw ISO9660Error.tooLarge }

        let primaryEntries = files.indices.sorted {
            Array(Self.shortName(files[$0].name).utf8).lexicographicallyPrecedes(Array(Self.shortName(files[$1].name).utf8))
        }
        let jolietEntries = files.indices.sorted { Self.ucs2(files[$0].name).lexicographicallyPrecedes(Self.ucs2(files[$1].name)) }

        // Root directories.
        var primaryRoot: [UInt8] = []
        // "." carries SUSP's SP (Rock Ridge is here, no bytes skipped) and ER naming RRIP 1.10 (Linux checks both).
        let er: [UInt8] = {
            let id = Array("RRIP_1991A".utf8)
            let des = Array("THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS".utf8)
            // Shorter than genisoimage's source text, so "." fits one record without a continuation area.
            let src = Array("IEEE P1282, RRIP 1.10".utf8)
            return [
                UInt8(ascii: "E"), UInt8(ascii: "R"), UInt8(8 + id.count + des.count + src.count), 1,
                UInt8(id.count), UInt8(des.count), UInt8(src.count), 1
            ] + id + des + src
        }()
        let sp: [UInt8] = [UInt8(ascii: "S"), UInt8(ascii: "P"), 7, 1, 0xBE, 0xEF, 0]
        primaryRoot += record(
            id: [0], extent: rootPrimary, size: s, directory: true,
            systemUse: sp + Self.px(mode: 0o040500, links: 2) + er)
        primaryRoot += record(id: [1], extent: rootPrimary, size: s, directory: true, systemUse: Self.px(mode: 0o040500, links: 2))
        for i in primaryEntries {
            let f = files[i]
            let nm = Array(f.name.utf8)
            let rr = Self.px(mode: 0o100400, links: 1) + [UInt8(ascii: "N"), UInt8(ascii: "M"), UInt8(5 + nm.count), 1, 0] + nm
            primaryRoot += record(
                id: Array(Self.shortName(f.name).utf8), extent: extents[i], size: f.data.count, directory: false, systemUse: rr)
        }
        var jolietRoot: [UInt8] = []
        jolietRoot += record(id: [0], extent: rootJoliet, size: s, directory: true, systemUse: [])
        jolietRoot += record(id: [1], extent: rootJoliet, size: s, directory: true, systemUse: [])
        for i in jolietEntries {
            jolietRoot += record(
                id: Self.ucs2(files[i].name), extent: extents[i], size: files[i].data.count, directory: false, systemUse: [])
        }
        // One sector each: records never cross a sector boundary, and 64-character names times a handful
        // of files fit; more is refused rather than written wrong.
        guard primaryRoot.count <= s, jolietRoot.count <= s else { throw ISO9660Error.tooLarge }

        var out = [UInt8](repeating: 0, count: total * s)
        func put(_ bytes: [UInt8], at offset: Int) { out.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }

        put(descriptor(type: 1, total: total, pathTable: (19, 20), root: rootPrimary), at: 16 * s)
        put(descriptor(type: 2, total: total, pathTable: (21, 22), root: rootJoliet), at: 17 * s)
        put([255] + Array("CD001".utf8) + [1], at: 18 * s)
        put(pathTable(root: rootPrimary, bigEndian: false), at: 19 * s)
        put(pathTable(root: rootPrimary, bigEndian: true), at: 20 * s)
        put(pathTable(root: rootJoliet, bigEndian: false), at: 21 * s)
        put(pathTable(root: rootJoliet, bigEndian: true), at: 22 * s)
        put(primaryRoot, at: rootPrimary * s)
        put(jolietRoot, at: rootJoliet * s)
        for (i, f) in files.enumerated() where !f.data.isEmpty { put(f.data, at: extents[i] * s) }
        return out
    }

    // MARK: Pieces

    static func ucs2(_ s: String) -> [UInt8] { s.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
    static func both16(_ v: Int) -> [UInt8] {
        let x = UInt16(v)
        return [UInt8(x & 0xFF), UInt8(x >> 8), UInt8(x >> 8), UInt8(x & 0xFF)]
    }
    static func le32(_ v: Int) -> [UInt8] {
        let x = UInt32(v)
        return (0..<4).map { UInt8((x >> (8 * $0)) & 0xFF) }
    }
    static func be32(_ v: Int) -> [UInt8] { Array(le32(v).reversed()) }
    static func both32(_ v: Int) -> [UInt8] { le32(v) + be32(v) }

    /// RRIP 1.10 PX: mode, links, uid 0, gid 0.
    static func px(mode: Int, links: Int) -> [UInt8] {
        [UInt8(ascii: "P"), UInt8(ascii: "X"), 36, 1] + both32(mode) + both32(links) + both32(0) + both32(0)
    }

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC") ?? c.timeZone
        return c
    }

    /// 7-byte directory record time (UTC).
    var recordDate: [UInt8] {
        let d = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return [
            UInt8(clamping: (d.year ?? 1970) - 1900), UInt8(clamping: d.month ?? 1), UInt8(clamping: d.day ?? 1),
            UInt8(clamping: d.hour ?? 0), UInt8(clamping: d.minute ?? 0), UInt8(clamping: d.second ?? 0), 0
        ]
    }

    /// 17-byte descriptor time (`YYYYMMDDHHMMSScc` and a zero UTC offset).
    var descriptorDate: [UInt8] {
        let d = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func n(_ v: Int?, _ w: Int) -> String {
            let s = String(max(0, v ?? 0))
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return Array((n(d.year, 4) + n(d.month, 2) + n(d.day, 2) + n(d.hour, 2) + n(d.minute, 2) + n(d.second, 2) + "00").utf8) + [0]
    }

    func record(id: [UInt8], extent: Int, size: Int, directory: Bool, systemUse: [UInt8]) -> [UInt8] {
        var r: [UInt8] = [0, 0] + Self.both32(extent) + Self.both32(size) + recordDate
        r += [directory ? 2 : 0, 0, 0] + Self.both16(1) + [UInt8(id.count)] + id
        if id.count % 2 == 0 { r.append(0) }  // the system use area starts at an even offset
        r += systemUse
        if r.count % 2 == 1 { r.append(0) }
        r[0] = UInt8(r.count)
        return r
    }

    func descriptor(type: UInt8, total: Int, pathTable: (Int, Int), root: Int) -> [UInt8] {
        let joliet = type == 2
        func text(_ s: String, _ width: Int) -> [UInt8] {
            if joliet {
                var u = Self.ucs2(s)
                while u.count + 2 <= width { u += [0, 0x20] }
                return Array(u.prefix(width)) + [UInt8](repeating: 0x20, count: max(0, width - u.count))
            }
            let a = Array(s.utf8.prefix(width))
            return a + [UInt8](repeating: 0x20, count: width - a.count)
        }
        var d = [UInt8](repeating: 0, count: Self.sector)
        func put(_ bytes: [UInt8], _ at: Int) { d.replaceSubrange(at..<(at + bytes.count), with: bytes) }
        put([type] + Array("CD001".utf8) + [1], 0)
        put(text("", 32), 8)  // system identifier
        put(text(volumeID, 32), 40)  // volume identifier
        put(Self.both32(total), 80)  // volume space size
        if joliet { put(Array("%/E".utf8), 88) }  // UCS-2 level 3
        put(Self.both16(1), 120)  // volume set size
        put(Self.both16(1), 124)  // volume sequence number
        put(Self.both16(Self.sector), 128)  // logical block size
        put(Self.both32(10), 132)  // path table size: the root's entry
        put(Self.le32(pathTable.0), 140)
        put(Self.be32(pathTable.1), 148)
        put(record(id: [0], extent: root, size: Self.sector, directory: true, systemUse: []), 156)
        put(text("", 128), 190)  // volume set
        put(text("", 128), 318)  // publisher
        put(text("", 128), 446)  // data preparer
        put(text("FLEET", 128), 574)  // application
        put(text("", 37), 702)
        put(text("", 37), 739)
        put(text("", 37), 776)
        put(descriptorDate, 813)  // created
        put(descriptorDate, 830)  // modified
        put(Array("0000000000000000".utf8) + [0], 847)  // expires: never
        put(Array("0000000000000000".utf8) + [0], 864)  // effective: at once
        d[881] = 1  // file structure version
        return d
    }

    func pathTable(root: Int, bigEndian: Bool) -> [UInt8] {
        [1, 0] + (bigEndian ? Self.be32(root) : Self.le32(root)) + (bigEndian ? [0, 1] : [1, 0]) + [0, 0]
    }
}
