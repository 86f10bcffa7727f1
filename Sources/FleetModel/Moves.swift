/// Moves between hosts (`host:` changed): the rules the planner and the executor share.
extension LiveVolume {
    /// The destination already shows this very volume: the same pool, name and path on both hosts (a shared
    /// pool: NFS, a cluster filesystem, or one directory both daemons see). Its disk is not copied.
    public func isSameStorage(as other: LiveVolume) -> Bool {
        pool == other.pool && name == other.name && normalised(path) == normalised(other.path)
    }

    private func normalised(_ p: String) -> String {
        var s = p
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        return s
    }
}

extension ByteSize {
    /// `1.3 GiB`, rounded up to a tenth: the size of a disk copy, for plans and progress lines.
    public var gibText: String {
        let tenths = (bytes * 10 + (1 << 30) - 1) >> 30
        return "\(tenths / 10).\(tenths % 10) GiB"
    }
}
