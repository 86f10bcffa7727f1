import FleetModel
import Foundation
import Testing

@testable import FleetPlanning

/// `MarkdownPlanRenderer` on plans built by hand: escaping, order, and the size limit of a pull-request comment.
/// (The CLI goldens in FleetCLITests/Golden/plan/plan-markdown-*.golden show whole renderings.)
@Suite struct MarkdownRenderTests {
    static func plan(_ hosts: [HostPlan]) -> Plan { Plan(fleet: "big", hosts: hosts, desired: Fleet(name: "big")) }

    /// The table rows of a rendering: lines starting with `| ` after the header's separator.
    static func rows(_ md: String) -> [Substring] {
        md.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| | object") }
    }

    /// Names and values full of markup stay inside their cell: every row has exactly the table's five separators,
    /// no raw `<`, and nothing that GitHub would read as emphasis, code, a link or a mention.
    @Test func hostileTextIsInert() {
        let hostile = "<b>|x</b> *a* _b_ `c` [d](e) @f $g$ \\h ~i~ #j\nk"
        let change = Change(
            ObjectRef(.vm, hostile), .update, attributes: [AttributeChange(hostile, before: hostile, after: "</details>|")],
            reason: hostile)
        let md = MarkdownPlanRenderer().render(Self.plan([HostPlan(host: hostile, uri: "test:///|<x>", changes: [change])]))
        let rows = Self.rows(md)
        #expect(rows.count == 1, "\(md)")
        for row in rows {
            #expect(row.filter { $0 == "|" }.count == 5, "\(row)")
            let text = row.replacingOccurrences(of: "<code>", with: "").replacingOccurrences(of: "</code>", with: "")
                .replacingOccurrences(of: "<br>", with: "")
            for bad in ["<", ">", "*", "_", "`", "[", "]", "@", "$", "\\", "~", "#j", "\n"] {
                #expect(!text.contains(bad), "\(bad) left raw in \(row)")
            }
        }
        // The summary of the host's block, an HTML line, holds the host's name escaped too.
        let summary = md.split(separator: "\n").first { $0.hasPrefix("<details") } ?? ""
        #expect(summary.contains("&lt;b&gt;&#124;x&lt;/b&gt;") && !summary.contains("<b>"), "\(summary)")
        #expect(md.components(separatedBy: "<details").count == md.components(separatedBy: "</details>").count)
    }

    /// Destructive and refused changes come first, in an open block; the rest after, collapsed.
    @Test func attentionFirst() {
        let changes = [
            Change(ObjectRef(.vm, "a-create"), .create, reason: "VM does not exist"),
            Change(ObjectRef(.vm, "b-delete"), .delete, reason: "not declared", destructive: true),
            Change(ObjectRef(.network, "c-refused"), .refused, reason: "not ours"),
            Change(ObjectRef(.vm, "d-update"), .update, reason: "live")
        ]
        let md = MarkdownPlanRenderer().render(Self.plan([HostPlan(host: "h", uri: "test:///default", changes: changes)]))
        #expect(md.hasPrefix(MarkdownPlanRenderer.marker + "\n"))
        let order = ["b-delete", "c-refused", "a-create", "d-update"].map { md.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order.map { $0! } == order.map { $0! }.sorted(), "\(md)")
        #expect(md.contains("<details open><summary>host <code>h</code>"), "\(md)")
        #expect(md.contains("Destructive and refused (2)") && md.contains("Other changes (2)"), "\(md)")
        #expect(md.contains("delete **(destroys data)**"), "\(md)")
    }

    /// 1,000 changes with many attributes each stay under GitHub's limit: collapsed per host with counts, the
    /// attribute lists of harmless changes left out first, then rows, and a note says how many are not shown.
    @Test(arguments: [10, 1_000, 20_000])
    func largePlansFitAComment(_ count: Int) {
        let attributes = (0..<8).map { AttributeChange("attribute-\($0)", before: String(repeating: "b", count: 40), after: "after") }
        let hosts = (0..<4).map { h in
            HostPlan(
                host: "host-\(h)", uri: "qemu+ssh://host-\(h)/system",
                changes: (0..<count / 4).map { i in
                    Change(
                        ObjectRef(.vm, "vm-\(h)-\(i)"), i % 100 == 0 ? .delete : .updateRestart, attributes: attributes,
                        reason: "takes effect at the next boot", destructive: i % 100 == 0)
                })
        }
        let md = MarkdownPlanRenderer().render(Self.plan(hosts))
        #expect(md.utf8.count <= MarkdownPlanRenderer.defaultLimit, "\(md.utf8.count)")
        #expect(md.components(separatedBy: "<details").count == md.components(separatedBy: "</details>").count)
        let rows = Self.rows(md).count
        if count == 10 {
            #expect(rows == 8 && !md.contains("Shortened"), "\(md)")
        } else {
            #expect(md.contains("**Shortened** to fit a pull-request comment"), "\(md.suffix(500))")
            // Every destructive change is listed, with its attributes.
            let destructive = hosts.flatMap(\.changes).filter(\.destructive).count
            #expect(md.components(separatedBy: "delete **(destroys data)**").count - 1 == min(destructive, rows), "\(rows)")
            #expect(md.contains("\(count - destructive) need restart"), "the summary counts every change")
            if rows < hosts.count * (count / 4) {
                #expect(
                    md.contains("\(hosts.count * (count / 4) - rows) of \(hosts.count * (count / 4)) changes are not shown"),
                    "\(md.suffix(400))")
            }
        }
    }

    @Test func emptyPlan() {
        let md = MarkdownPlanRenderer().render(Self.plan([HostPlan(host: "h", uri: "test:///default")]))
        #expect(md.contains("**No changes.**") && Self.rows(md).isEmpty, "\(md)")
    }
}
