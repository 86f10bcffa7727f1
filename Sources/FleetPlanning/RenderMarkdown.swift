import FleetModel

/// Markdown rendering of a plan for pull-request comments and CI job summaries (`fleet plan --format markdown`).
/// Pure, like `PlanRenderer`, whose markers, labels and summary line it shares.
///
/// Layout: a hidden marker line (`<!-- fleet-plan -->`, so CI finds and updates its own comment), a heading, the
/// summary line; then hosts that could not be read and the changes that need attention (destructive or refused),
/// open; then every other change, one collapsed `<details>` block per host with its counts in the summary.
/// Each change is a table row; names and values are escaped so that no name breaks the table or the HTML.
/// The result stays under `limit` UTF-8 bytes (GitHub refuses comments over 65,536 characters): when the
/// full rendering is too long, the attribute lists of changes that need no attention are left out, then rows are,
/// with a note saying how many.
public struct MarkdownPlanRenderer: Sendable {
    /// The line CI looks for to find the comment it posted before.
    public static let marker = "<!-- fleet-plan -->"
    /// Room left under GitHub's 65,536-character limit for what a workflow adds around the plan.
    public static let defaultLimit = 60_000
    /// Values longer than this are cut (`…`).
    static let valueLimit = 300

    public var limit: Int
    public init(limit: Int = MarkdownPlanRenderer.defaultLimit) { self.limit = limit }

    public func render(_ plan: Plan) -> String {
        let complete = render(plan, attributesOfAll: true)
        if complete.complete { return complete.text }
        return render(plan, attributesOfAll: false).text
    }

    private func render(_ plan: Plan, attributesOfAll: Bool) -> (text: String, complete: Bool) {
        var out = Self.marker + "\n### fleet plan: <code>\(Self.escape(plan.fleet))</code>\n\n"
        let summary = PlanRenderer.summaryLine(plan.summary)
        let unreadable = plan.hosts.filter { $0.error != nil }
        if plan.isEmpty && unreadable.isEmpty {
            return (out + "**No changes.** \(summary)\n", true)
        }
        out +=
            "**\(summary)**" + (unreadable.isEmpty ? "" : ", **\(unreadable.count) host\(unreadable.count == 1 ? "" : "s") unreadable**")
            + "\n"
        // What the truncation note (and the closing of an open block) needs, kept free at every step.
        let reserve = 400
        var shown = 0
        var omitted = 0
        var full = true
        func fits(_ text: String, closing: String) -> Bool {
            full && out.utf8.count + text.utf8.count + closing.utf8.count + reserve <= limit
        }
        func emit(_ text: String) { out += text }

        if !unreadable.isEmpty {
            emit("\n#### Hosts that could not be read\n\n")
            for h in unreadable {
                let line =
                    "- host <code>\(Self.escape(h.host))</code> (<code>\(Self.escape(h.uri))</code>): \(Self.escape(h.error ?? ""))\n"
                if fits(line, closing: "") { emit(line) } else { full = false }
            }
        }
        let decisions = plan.shownPlacements
        if !decisions.isEmpty {
            emit("\n#### Placement\n\n")
            for d in decisions {
                let what = d.outcome == .refused ? "**not placed**" : Self.escape(PlanRenderer.label(d))
                let line = "- <code>vm/\(Self.escape(d.vm))</code> \(what): \(Self.escape(d.reason))\n"
                if fits(line, closing: "") { emit(line) } else { full = false }
            }
        }
        let warned = plan.hosts.filter { !($0.warnings ?? []).isEmpty }
        if !warned.isEmpty {
            emit("\n#### Preflight warnings\n\n")
            for h in warned {
                for w in h.warnings ?? [] {
                    let line = "- host <code>\(Self.escape(h.host))</code>: \(Self.escape(w))\n"
                    if fits(line, closing: "") { emit(line) } else { full = false }
                }
            }
        }
        if let rollouts = plan.rollouts, !rollouts.isEmpty {
            emit("\n#### Rollouts\n\n")
            for r in rollouts {
                let waves = r.waves.enumerated().map { i, vms in "wave \(i + 1): " + vms.map { Self.code($0) }.joined(separator: ", ") }
                let line = "- \(Self.escape(PlanRenderer.rolloutLine(r)))<br>\(waves.joined(separator: "; "))\n"
                if fits(line, closing: "") { emit(line) } else { full = false }
            }
        }
        let readable = plan.hosts.filter { $0.error == nil && !$0.changes.isEmpty }
        let attention = readable.map { h in (h, h.changes.filter(\.needsAttention)) }.filter { !$0.1.isEmpty }
        let rest = readable.map { h in (h, h.changes.filter { !$0.needsAttention }) }.filter { !$0.1.isEmpty }
        let attentionCount = attention.reduce(0) { $0 + $1.1.count }
        let restCount = rest.reduce(0) { $0 + $1.1.count }

        func section(_ title: String, _ groups: [(HostPlan, [Change])], open: Bool, attributes: Bool) {
            guard !groups.isEmpty else { return }
            let heading = "\n#### \(title)\n"
            if fits(heading, closing: "") { emit(heading) } else { full = false }
            for (h, changes) in groups {
                let head =
                    "\n<details\(open ? " open" : "")><summary>host <code>\(Self.escape(h.host))</code> "
                    + "(<code>\(Self.escape(h.uri))</code>): \(Self.counts(changes))</summary>\n\n"
                    + "| | object | action | what changes |\n|---|---|---|---|\n"
                let closing = "\n</details>\n"
                guard fits(head, closing: closing) else {
                    full = false
                    omitted += changes.count
                    continue
                }
                emit(head)
                for c in changes {
                    let row = Self.row(c, attributes: attributes || c.needsAttention)
                    if fits(row, closing: closing) {
                        emit(row)
                        shown += 1
                    } else {
                        full = false
                        omitted += 1
                    }
                }
                emit(closing)
            }
        }
        section("Destructive and refused (\(attentionCount))", attention, open: true, attributes: true)
        section(
            attentionCount == 0 ? "Changes (\(restCount))" : "Other changes (\(restCount))", rest, open: false,
            attributes: attributesOfAll)
        if !attributesOfAll || omitted > 0 {
            var note = "\n> **Shortened** to fit a pull-request comment:"
            if !attributesOfAll { note += " attribute changes are listed only for destructive and refused changes" }
            if omitted > 0 { note += (attributesOfAll ? "" : ", and") + " \(omitted) of \(shown + omitted) changes are not shown" }
            note += ". `fleet plan` prints them all (the saved plan holds every change).\n"
            emit(note)
        }
        return (out, full)
    }

    /// One table row: marker, object, action (and "destroys data"), then the reason and the attribute changes.
    static func row(_ c: Change, attributes: Bool) -> String {
        var action = PlanRenderer.label(c.action)
        if c.destructive { action += " **(destroys data)**" }
        var what = escape(c.reason)
        if attributes {
            for a in c.attributes {
                let name = escape(a.name)
                switch (a.before, a.after) {
                case (nil, _?): what += "<br>\(name): \(code(a.shownAfter))"
                case (_?, nil): what += "<br>\(name): \(code(a.shownBefore)) → (removed)"
                default: what += "<br>\(name): \(code(a.shownBefore)) → \(code(a.shownAfter))"
                }
            }
        } else if !c.attributes.isEmpty {
            what += "<br>(\(c.attributes.count) attribute\(c.attributes.count == 1 ? "" : "s"))"
        }
        return
            "| <code>\(escape(PlanRenderer.marker(c.action)))</code> | <code>\(escape(c.object.description))</code> | \(action) | \(what) |\n"
    }

    /// "3 changes: 2 create; 1 update, needs restart", in the order of `Action.allCases`.
    static func counts(_ changes: [Change]) -> String {
        let parts = Action.allCases.compactMap { a -> String? in
            let n = changes.filter { $0.action == a }.count
            return n == 0 ? nil : "\(n) \(PlanRenderer.label(a))"
        }
        return "\(changes.count) change\(changes.count == 1 ? "" : "s"): " + parts.joined(separator: "; ")
    }

    static func code(_ value: String) -> String {
        let clipped = value.count > valueLimit ? String(value.prefix(valueLimit)) + "…" : value
        return "<code>\(escape(clipped))</code>"
    }

    /// Text made inert in a table cell, an HTML block and inline markdown: HTML metacharacters, the cell separator,
    /// markdown emphasis, code, link, math and mention characters become character references (which GitHub shows as
    /// the characters themselves), and line breaks become `<br>`.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "|": out += "&#124;"
            case "\\": out += "&#92;"
            case "`": out += "&#96;"
            case "*": out += "&#42;"
            case "_": out += "&#95;"
            case "~": out += "&#126;"
            case "[": out += "&#91;"
            case "]": out += "&#93;"
            case "$": out += "&#36;"
            case "@": out += "&#64;"
            case "#": out += "&#35;"
            case "\r\n", "\n", "\r": out += "<br>"
            default: out.append(ch)
            }
        }
        return out
    }
}
