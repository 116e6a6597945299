import Foundation

/// A small document model so the Markdown and the HTML say exactly the same things.
enum ReportBlock {
    case heading(Int, String)
    case paragraph(String)
    /// A sentence that must stand out (bold / `<strong>`).
    case emphasis(String)
    case bullets([String])
    case table(header: [String], rows: [[String]], numeric: Set<Int>)
}

extension CoverageReport {
    public func markdown() -> String { Self.markdown(blocks()) }
    public func html() -> String { Self.html(blocks(), title: "Lexicon coverage — TC260-003 / GB/T 45654-2025 Appendix A") }

    func blocks() -> [ReportBlock] {
        var b: [ReportBlock] = []
        let day = DateFormatter.day
        b.append(.heading(1, "Lexicon coverage against TC260-003 / GB/T 45654-2025 Appendix A"))
        b.append(.paragraph("Lexicon directory \(lexicons), version \(version), report generated \(day.string(from: generated)) by menshen coverage. A keyword is one term of a term list; exceptions are not counted and a term is counted once after normalization. Regex rules are listed separately: a pattern is not a keyword."))

        // Plain statement first: what a compliance officer must not miss.
        let a1 = risks.filter { $0.risk.group == "A.1" }, a2 = risks.filter { $0.risk.group == "A.2" }
        let a1Met = a1.filter { $0.status == .meetsMinimum }.count, a2Met = a2.filter { $0.status == .meetsMinimum }.count
        let staleFiles = files.filter(\.stale)
        b.append(.heading(2, "Summary"))
        if meetsKeywordMinimums && uncoveredRisks.isEmpty {
            b.append(.emphasis("These lexicons name all 31 Appendix A risks and meet the keyword minimums of the standard."))
        } else {
            b.append(.emphasis("These lexicons do not meet the keyword-library requirements of TC260-003 / GB/T 45654-2025: \(uncoveredRisks.count) of the 31 Appendix A risks have no rule at all, the library holds \(totalKeywords) keywords against the ≥ \(grouped(totalKeywordMinimum)) expected, and \(a1Met) of 8 A.1 risks and \(a2Met) of 9 A.2 risks reach their keyword minimum. They must not be presented as the service's keyword library; a deployment needs other lexicons or measures for the uncovered risks."))
        }
        var bullets: [String] = []
        bullets.append("Keywords in all: \(totalKeywords) (standard: at least \(grouped(totalKeywordMinimum)); \(String(format: "%.1f", Double(totalKeywords) * 100 / Double(totalKeywordMinimum)))%).")
        bullets.append("Risks with at least one rule: \(coveredRisks.count) of 31" + (coveredRisks.isEmpty ? "." : " (" + coveredRisks.map(\.risk.code).joined(separator: ", ") + ")."))
        bullets.append("A.1 risks (minimum 200 keywords each): \(a1Met) of 8 meet it; \(a1.filter { $0.status == .none }.count) have no rule.")
        bullets.append("A.2 risks (minimum 100 keywords each): \(a2Met) of 9 meet it; \(a2.filter { $0.status == .none }.count) have no rule.")
        bullets.append("Files not changed within \(staleAfterDays) days (the standard expects the keyword library to be updated at least weekly): \(staleFiles.count) of \(files.count)" + (staleFiles.isEmpty ? "." : ": " + staleFiles.map(\.path).joined(separator: ", ") + "."))
        if !unmapped.isEmpty {
            bullets.append("Rules that name no Appendix A risk: \(unmapped.count) (" + Set(unmapped.map(\.category)).sorted().joined(separator: ", ") + "). They do not count towards any risk.")
        }
        if !unknownCodes.isEmpty {
            bullets.append("Risk codes used by lexicons that are not among the 31: " + unknownCodes.joined(separator: ", ") + ".")
        }
        b.append(.bullets(bullets))

        b.append(.heading(2, "Risks"))
        b.append(.paragraph("Covered means that at least one rule names the risk, not that the risk is screened in full: read what each rule covers (Lexicons/README.md lists what each shipped lexicon does and does not cover)."))
        b.append(.table(
            header: ["Code", "风险", "Risk", "Rules", "Keywords", "Regex rules", "Keyword minimum", "Status"],
            rows: risks.map { r in
                [r.risk.code, r.risk.chinese, r.risk.english, r.rules.isEmpty ? "—" : r.rules.joined(separator: ", "),
                 String(r.keywords), String(r.regexRules), r.keywordMinimum.map(String.init) ?? "—",
                 r.status == .belowMinimum ? "below minimum (\(r.keywords) of \(r.keywordMinimum!))" : r.status.rawValue]
            },
            numeric: [4, 5, 6]))

        b.append(.heading(2, "Uncovered risks"))
        if uncoveredRisks.isEmpty {
            b.append(.paragraph("None."))
        } else {
            b.append(.paragraph("No rule in these lexicons names the following \(uncoveredRisks.count) risks; nothing here screens for them:"))
            b.append(.bullets(uncoveredRisks.map { "\($0.risk.code) \($0.risk.chinese) — \($0.risk.english)" }))
        }

        b.append(.heading(2, "Files"))
        b.append(.table(
            header: ["File", "Rules", "Keywords", "Regex rules", "Risks", "Last change", "Date from", "Age (days)", "Weekly update"],
            rows: files.map { f in
                [f.path, f.rules.count == 1 ? f.rules[0] : "\(f.rules.count) rules", String(f.keywords), String(f.regexRules),
                 f.risks.isEmpty ? "—" : f.risks.joined(separator: ", "),
                 f.lastChange.map { day.string(from: $0) } ?? "unknown", f.dateSource?.rawValue ?? "—",
                 f.ageDays.map { String(format: "%.0f", max(0, $0)) } ?? "—", f.stale ? "STALE (> \(staleAfterDays) days)" : "ok"]
            },
            numeric: [2, 3, 7]))

        if !unmapped.isEmpty {
            b.append(.heading(2, "Rules not mapped to Appendix A"))
            b.append(.paragraph("These rules set no risk code. Prompt injection and leaked credentials are attacks on, or failures of, the service rather than Appendix A content risks; they are covered by the standard's model-security and security-measure requirements, not by its keyword library."))
            b.append(.table(header: ["Rule", "Category", "Kind", "Keywords", "Defined at"],
                            rows: unmapped.map { [$0.rule, $0.category, $0.isRegex ? "regex" : "term list", $0.isRegex ? "—" : String($0.keywords), $0.source] },
                            numeric: [3]))
        }
        b.append(.paragraph("Risk names are short paraphrases written for Menshen; the standard's own wording governs. Keyword counts measure size, not quality: run menshen eval on a labelled corpus to measure what the lexicons catch."))
        return b
    }

    static func markdown(_ blocks: [ReportBlock]) -> String {
        var out: [String] = []
        for block in blocks {
            switch block {
            case .heading(let level, let text): out.append(String(repeating: "#", count: level) + " " + text)
            case .paragraph(let text): out.append(text)
            case .emphasis(let text): out.append("**" + text + "**")
            case .bullets(let items): out.append(items.map { "- " + $0 }.joined(separator: "\n"))
            case .table(let header, let rows, let numeric):
                var lines = ["| " + header.map(cell).joined(separator: " | ") + " |"]
                lines.append("|" + header.indices.map { numeric.contains($0) ? " ---: |" : " --- |" }.joined())
                for row in rows { lines.append("| " + row.map(cell).joined(separator: " | ") + " |") }
                out.append(lines.joined(separator: "\n"))
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    static func html(_ blocks: [ReportBlock], title: String) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var out = ["<!DOCTYPE html>", "<html lang=\"zh-CN\">", "<head>", "<meta charset=\"utf-8\">", "<title>\(esc(title))</title>",
                   "<style>body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
                   + "table{border-collapse:collapse;margin:1em 0;font-size:90%}th,td{border:1px solid #bbb;padding:4px 8px;vertical-align:top}"
                   + "th{background:#eee}td.n{text-align:right}strong{color:#a00}tr.none td{background:#fdeaea}@media print{body{margin:0}}</style>",
                   "</head>", "<body>"]
        for block in blocks {
            switch block {
            case .heading(let level, let text): out.append("<h\(level)>\(esc(text))</h\(level)>")
            case .paragraph(let text): out.append("<p>\(esc(text))</p>")
            case .emphasis(let text): out.append("<p><strong>\(esc(text))</strong></p>")
            case .bullets(let items): out.append("<ul>" + items.map { "<li>\(esc($0))</li>" }.joined() + "</ul>")
            case .table(let header, let rows, let numeric):
                out.append("<table>")
                out.append("<tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>")
                for row in rows {
                    let uncovered = row.last == Status.none.rawValue
                    out.append((uncovered ? "<tr class=\"none\">" : "<tr>")
                               + row.enumerated().map { numeric.contains($0.offset) ? "<td class=\"n\">\(esc($0.element))</td>" : "<td>\(esc($0.element))</td>" }.joined()
                               + "</tr>")
                }
                out.append("</table>")
            }
        }
        out += ["</body>", "</html>"]
        return out.joined(separator: "\n") + "\n"
    }

    /// The report as JSON (for dashboards).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}

/// `10,000`.
func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}

extension DateFormatter {
    /// `2025-06-01` in UTC.
    static var day: DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f
    }
}
