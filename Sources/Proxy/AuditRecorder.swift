import Audit
import Foundation
import Hooks
import HTTPTypes
import Screening

/// Turns screening decisions into audit events: one per (screened text, action), with rule ids,
/// categories, severities, offsets, the SHA-256 of the text and an excerpt in which every match
/// is masked — never the raw text, unless the policy switch `audit.raw_excerpts` says so.
struct AuditRecorder: Sendable {
    let log: AuditLog?
    let settings: SidecarConfiguration.AuditSettings
    let metrics: SidecarMetrics

    /// The log cannot write and its policy is fail_closed.
    var failingClosed: Bool {
        guard let log, log.failure != nil else { return false }
        return log.configuration.onWriteFailure == .failClosed
    }

    /// Who made the request, from the configured headers.
    func client(_ headers: HTTPFields) -> [String: String] {
        var out: [String: String] = [:]
        for name in settings.clientHeaders {
            if let n = HTTPField.Name(name), let v = headers[n] { out[name] = String(v.prefix(256)) }
        }
        return out
    }

    struct Context: Sendable {
        let requestID: String
        let route: String
        let model: String?
        let upstream: String?
        let client: [String: String]
        let started: ContinuousClock.Instant
    }

    /// Events for one screened text.
    func events(text: String, matches: [Match], direction: Direction, snapshot: Snapshot, context: Context) -> [AuditEvent] {
        guard !matches.isEmpty else { return [] }
        let rules = snapshot.lexicons.rules
        var byAction: [Action: [Match]] = [:]
        for m in matches { byAction[snapshot.actions.action(for: m, lexicons: snapshot.lexicons, direction: direction), default: []].append(m) }
        let bytes = Array(text.utf8)
        let hash = AuditEvent.sha256(text)
        // The excerpt masks every match a whole-text scan finds, in both directions, not only
        // the matches that fired: a stream blocked while a phone number was still unsettled (its
        // regex not yet complete) has that number in its text, and the log must not hold it raw.
        let masking = settings.rawExcerpts ? matches
            : matches + snapshot.lexicons.screen(text, direction: .input, policy: snapshot.actions).matches
                      + snapshot.lexicons.screen(text, direction: .output, policy: snapshot.actions).matches
        let latency = Double((ContinuousClock.now - context.started).nanoseconds) / 1e6
        return byAction.keys.sorted().reversed().map { action in
            let group = byAction[action]!.sorted()
            var e = AuditEvent(requestID: context.requestID, action: AuditEvent.Action(rawValue: action.rawValue), route: context.route,
                               model: context.model, upstream: context.upstream,
                               direction: direction == .input ? .input : .output)
            e.ruleIDs = Array(Set(group.map { rules[$0.rule].id })).sorted()
            e.categories = Array(Set(group.map { rules[$0.rule].category })).sorted()
            e.severities = Array(Set(group.map { rules[$0.rule].severity.rawValue })).sorted()
            e.lexiconVersion = snapshot.version
            e.matchOffsets = group.map(\.range)
            // A context clause that changed the action (block → flag) is named, so an analyst
            // reading a flag knows why it was not a block.
            let contexts = Set(group.compactMap { snapshot.lexicons.context(of: $0)?.name }).sorted()
            if !contexts.isEmpty { e.detail = "context: " + contexts.joined(separator: ", ") }
            e.textSHA256 = hash
            e.excerpt = excerpt(bytes, around: group, all: masking)
            e.client = context.client
            e.latencyMs = latency
            return e
        }
    }

    /// Events for classifier hooks: one per hook verdict that fired, one per hook failure.
    func events(hooks outcome: HookOutcome, direction: Direction, snapshot: Snapshot, context: Context) -> [AuditEvent] {
        let auditDirection: AuditEvent.Direction = direction == .input ? .input : .output
        var events: [AuditEvent] = outcome.matches.map { m in
            var e = AuditEvent(requestID: context.requestID, action: AuditEvent.Action(rawValue: m.action.rawValue), route: context.route,
                               model: context.model, upstream: context.upstream, direction: auditDirection)
            e.ruleIDs = ["hook:" + m.hook]
            e.categories = [m.category]
            e.lexiconVersion = snapshot.version
            e.client = context.client
            e.detail = m.score.map { "score \($0)" }
            return e
        }
        for failure in outcome.failures {
            var e = AuditEvent(requestID: context.requestID, kind: .classifierFailure, action: nil, route: context.route,
                               model: context.model, upstream: context.upstream, direction: auditDirection)
            e.ruleIDs = ["hook:" + failure.hook]
            e.lexiconVersion = snapshot.version
            e.client = context.client
            e.detail = "\(failure.failure)"
            events.append(e)
        }
        return events
    }

    /// The event for an answer refused because it could not be screened (a block: written
    /// durably before the refusal leaves). `problem` describes the shape, never the text.
    func unscreenableAnswer(_ problem: String, snapshot: Snapshot, context: Context) -> AuditEvent {
        var e = AuditEvent(requestID: context.requestID, kind: .unscreenableAnswer, action: .block, route: context.route,
                           model: context.model, upstream: context.upstream, direction: .output)
        e.lexiconVersion = snapshot.version
        e.client = context.client
        e.detail = problem
        return e
    }

    /// Up to `maxExcerptCharacters` around the first match, every match masked.
    private func excerpt(_ bytes: [UInt8], around group: [Match], all: [Match]) -> String {
        let masked = settings.rawExcerpts ? bytes : Self.maskingUnion(bytes, all.map(\.range))
        let text = String(decoding: masked, as: UTF8.self)
        let limit = log?.configuration.maxExcerptCharacters ?? 200
        guard text.count > limit else { return text }
        // Centre on the first match (offsets shift little: masking keeps lengths in scalars).
        let prefixChars = String(decoding: bytes[0..<min(group[0].range.lowerBound, bytes.count)], as: UTF8.self).count
        let start = max(0, prefixChars - limit / 3)
        let slice = text.dropFirst(start).prefix(limit)
        return (start > 0 ? "…" : "") + slice + (start + limit < text.count ? "…" : "")
    }

    /// `bytes` with every byte any range covers replaced, one `*` per scalar. Ranges are merged
    /// first: a mask must cover the union of overlapping matches (a term inside a phone number
    /// must not leave the number's tail raw), which picking non-overlapping matches would not.
    static func maskingUnion(_ bytes: [UInt8], _ ranges: [Range<Int>]) -> [UInt8] {
        guard !ranges.isEmpty else { return bytes }
        var merged: [Range<Int>] = []
        for r in ranges.map({ max(0, $0.lowerBound)..<min(bytes.count, $0.upperBound) }).filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var cursor = 0
        for r in merged {
            out.append(contentsOf: bytes[cursor..<r.lowerBound])
            // One star per scalar: continuation bytes (10xxxxxx) start no scalar.
            for b in bytes[r] where b & 0xC0 != 0x80 { out.append(UInt8(ascii: "*")) }
            cursor = r.upperBound
        }
        out.append(contentsOf: bytes[cursor...])
        return out
    }

    /// Writes events; blocks are durable (on disk before the response completes). With
    /// `on_write_failure: fail_closed`, a log that cannot write makes the request fail (503).
    ///
    /// Blocks are written last: the log's single writer keeps queue order, so the fsync of a
    /// block also covers the other events of the same call (the mask of a phone number in a
    /// blocked prompt is on disk with the block, for one fsync).
    func record(_ events: [AuditEvent]) async throws(OpenAIError) {
        guard let log, !events.isEmpty else { return }
        for e in events.filter({ $0.action != .block }) + events.filter({ $0.action == .block }) {
            do {
                if e.action == .block { try await log.recordDurably(e) } else { try await log.record(e) }
                metrics.auditEvent(action: e.action?.rawValue ?? e.kind.rawValue)
            } catch {
                metrics.auditWriteError()
                if error.kind == .unavailable || error.kind == .closed {
                    throw OpenAIError.unavailable("the audit log cannot be written; refusing to serve unaudited decisions", code: "audit_unavailable")
                }
            }
        }
    }
}
