import Foundation

/// Which manifest tree a fleet was loaded from, so two trees that chose the same `fleet:` name are told apart
/// (docs/ownership.md, "Manifest trees"). Stable across clones and machines where it can be: inside a git
/// repository with an `origin` remote it is the remote's URL and the path within the repository; elsewhere the
/// machine's name and the absolute path.
public enum ManifestTree {
    public static func identity(of paths: [String]) -> String {
        let dirs = (paths.isEmpty ? ["."] : paths).map { p -> String in
            let abs = URL(fileURLWithPath: p).standardizedFileURL
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: abs.path, isDirectory: &isDir)
            return isDir.boolValue ? abs.path : abs.deletingLastPathComponent().path
        }
        return Array(Set(dirs.map(identity(ofDirectory:)))).sorted().joined(separator: ",")
    }

    static func identity(ofDirectory dir: String) -> String {
        var root = URL(fileURLWithPath: dir)
        while true {
            let git = root.appendingPathComponent(".git")
            if FileManager.default.fileExists(atPath: git.path) {
                if let origin = originURL(gitDir: git) {
                    let rel = String(dir.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                    return "git:\(origin)#\(rel.isEmpty ? "." : rel)"
                }
                break
            }
            let parent = root.deletingLastPathComponent()
            if parent.path == root.path { break }
            root = parent
        }
        return "path:\(ProcessInfo.processInfo.hostName):\(dir)"
    }

    /// `[remote "origin"] url = …` from a repository's config (a `.git` directory, or a `.git` file naming one).
    static func originURL(gitDir: URL) -> String? {
        var dir = gitDir
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: gitDir.path, isDirectory: &isDir)
        if !isDir.boolValue {
            guard let text = try? String(contentsOf: gitDir, encoding: .utf8), let line = text.split(separator: "\n").first,
                line.hasPrefix("gitdir:")
            else { return nil }
            let target = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
            dir = target.hasPrefix("/") ? URL(fileURLWithPath: target) : gitDir.deletingLastPathComponent().appendingPathComponent(target)
            // A worktree's gitdir points into <repo>/.git/worktrees/<name>; the config is the main one's.
            if dir.deletingLastPathComponent().lastPathComponent == "worktrees" {
                dir = dir.deletingLastPathComponent().deletingLastPathComponent()
            }
        }
        guard let config = try? String(contentsOf: dir.appendingPathComponent("config"), encoding: .utf8) else { return nil }
        var inOrigin = false
        for raw in config.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                inOrigin = line == "[remote \"origin\"]"
                continue
            }
            if inOrigin, line.hasPrefix("url") {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { return parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return nil
    }
}
