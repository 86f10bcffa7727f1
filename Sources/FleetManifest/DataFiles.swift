import Foundation
import Yams

/// The local files a parsed manifest document names in a data position, found by walking the same
/// structure the decoder reads (merge keys included), never by matching text: a comment or a
/// description that happens to say `source: x.yaml` names nothing.
///
/// Data positions, in `vms.<name>` and `profiles.<name>`:
/// `cloud_init.{user_data, meta_data, network_config}`, `customize.files[].source`,
/// `customize.root_password.file`, `graphics.password.file`; in `images.<name>`: a local `source`
/// and the same `customize` keys.
enum DataReferences {
    /// Bounds the walk: merge keys (`<<`) over aliases can fan out; the decoder reports such documents.
    static let visitBudget = DecodeSession.nodeBudget

    /// Absolute, standardized paths `document` names as data, resolved against `directory`.
    static func paths(in document: Node, directory: String) -> Set<String> {
        var walker = Walker(directory: directory)
        walker.root(document)
        return walker.found
    }

    private struct Walker {
        let directory: String
        var found = Set<String>()
        var remaining = DataReferences.visitBudget

        init(directory: String) { self.directory = directory }

        mutating func visit() -> Bool {
            remaining -= 1
            return remaining >= 0
        }

        /// The pairs of a mapping with merge keys expanded, explicit keys first (as the decoder does).
        mutating func pairs(_ node: Node) -> [(String, Node)] {
            guard case .mapping(let m) = node, visit() else { return [] }
            var explicit: [(String, Node)] = []
            var merged: [(String, Node)] = []
            for (k, v) in m {
                guard case .scalar(let ks) = k else { continue }
                if ks.string == "<<" && ks.style == .plain {
                    let sources: [Node]
                    if case .sequence(let s) = v { sources = Array(s) } else { sources = [v] }
                    for src in sources { merged += pairs(src) }
                } else {
                    explicit.append((ks.string, v))
                }
            }
            var result = explicit
            for m in merged where !result.contains(where: { $0.0 == m.0 }) { result.append(m) }
            return result
        }

        mutating func value(_ node: Node, _ key: String) -> Node? {
            pairs(node).first { $0.0 == key }?.1
        }

        func value(_ pairs: [(String, Node)], _ key: String) -> Node? {
            pairs.first { $0.0 == key }?.1
        }

        mutating func file(_ node: Node?) {
            guard let node, case .scalar(let s) = node, !s.string.isEmpty else { return }
            let path = s.string.hasPrefix("/") ? s.string : directory + "/" + s.string
            found.insert(URL(fileURLWithPath: path).standardizedFileURL.path)
        }

        mutating func secret(_ node: Node?) {
            guard let node, case .mapping = node else { return }
            file(value(node, "file"))
        }

        mutating func customize(_ node: Node?) {
            guard let node, case .mapping = node else { return }
            secret(value(node, "root_password"))
            if let files = value(node, "files"), case .sequence(let items) = files {
                for item in items where visit() { file(value(item, "source")) }
            }
        }

        mutating func vm(_ node: Node) {
            let fields = pairs(node)
            if let ci = value(fields, "cloud_init"), case .mapping = ci {
                let keys = pairs(ci)
                for key in ["user_data", "meta_data", "network_config"] { file(value(keys, key)) }
            }
            customize(value(fields, "customize"))
            if let g = value(fields, "graphics"), case .mapping = g { secret(value(g, "password")) }
        }

        mutating func root(_ document: Node) {
            guard case .mapping = document else { return }
            let top = pairs(document)
            for (section, body) in top {
                switch section {
                case "vms", "profiles":
                    for (_, v) in pairs(body) { vm(v) }
                case "images":
                    for (_, img) in pairs(body) {
                        let fields = pairs(img)
                        if let src = value(fields, "source"), case .scalar(let s) = src, !s.string.contains("://") { file(src) }
                        customize(value(fields, "customize"))
                    }
                default:
                    continue
                }
            }
        }
    }
}
