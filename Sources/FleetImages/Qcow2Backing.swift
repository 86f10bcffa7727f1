import Foundation

/// Points a qcow2 file at another backing file by rewriting the name in its header, as `qemu-img rebase -u` does:
/// an overlay copied to another host must name that host's copy of its image. Only the name changes (the
/// backing-format header extension stays valid); the new name must fit in the header's first cluster.
public enum Qcow2Backing {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The backing file name recorded in the qcow2 header, nil when it has none (or the file is no qcow2).
    public static func backingFile(ofFile path: String) throws -> String? {
        let fh = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? fh.close() }
        guard let h = try header(fh), h.offset > 0, h.size > 0 else { return nil }
        try fh.seek(toOffset: h.offset)
        return String(decoding: try fh.read(upToCount: Int(h.size)) ?? Data(), as: UTF8.self)
    }

    public static func setBackingFile(ofFile path: String, to name: String) throws {
        let fh = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? fh.close() }
        guard let h = try header(fh), h.offset > 0 else { throw Failure(description: "\(path) is no qcow2 overlay") }
        let bytes = Data(name.utf8)
        guard h.offset + UInt64(bytes.count) <= h.clusterSize else {
            throw Failure(description: "backing file name \(name) does not fit in the qcow2 header of \(path)")
        }
        try fh.seek(toOffset: h.offset)
        try fh.write(contentsOf: bytes)
        try fh.seek(toOffset: 16)
        var size = UInt32(bytes.count).bigEndian
        try fh.write(contentsOf: Data(bytes: &size, count: 4))
        try fh.synchronize()
    }

    struct Header {
        var offset: UInt64
        var size: UInt32
        var clusterSize: UInt64
    }

    static func header(_ fh: FileHandle) throws -> Header? {
        try fh.seek(toOffset: 0)
        guard let d = try fh.read(upToCount: 24), d.count == 24, d.prefix(4) == Data([0x51, 0x46, 0x49, 0xfb]) else { return nil }
        func be(_ at: Int, _ n: Int) -> UInt64 { d[at..<(at + n)].reduce(0) { $0 << 8 | UInt64($1) } }
        let bits = be(20, 4)
        guard (9...21).contains(bits) else { return nil }
        return Header(offset: be(8, 8), size: UInt32(be(16, 4)), clusterSize: 1 << bits)
    }
}
