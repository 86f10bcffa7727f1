import Foundation

/// Reading a small local input file (a secret, a cloud-init document), with the reason it failed
/// in words an operator acts on; callers wrap it in their own error type.
enum LocalFile {
    struct Unreadable: Error { let reason: String }

    static func read(_ path: String) -> Result<Data, Unreadable> {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return .failure(Unreadable(reason: "no such file")) }
        guard !isDir.boolValue else { return .failure(Unreadable(reason: "it is a directory")) }
        guard let d = FileManager.default.contents(atPath: path) else {
            return .failure(Unreadable(reason: "permission denied or I/O error"))
        }
        return .success(d)
    }
}
