import AsyncHTTPClient
import Foundation
import Hooks
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import Screening

/// The sidecar's request handling. The main flow, for a chat completion:
/// screen the prompt → forward it → screen the answer (streamed or not) → deliver.
/// Every other path passes through untouched.
struct SidecarResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let store: SnapshotStore
    let client: HTTPClient
    let pool: UpstreamPool
    let configuration: SidecarConfiguration
    let health: HealthState
    let metrics: SidecarMetrics
    let audit: AuditRecorder
    /// GB 45438 labels for answers (nil when `labels.enabled` is false).
    let labeling: AnswerLabeling?
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        let requestID = RequestIDs.accepting(request.headers[.menshenRequestID])
        let response: Response
        let label: String
        // Read the target once: the route is decided on it, and exactly it is forwarded.
        switch Self.readTarget(request) {
        case .failure(let error):
            response = error.response(requestID: requestID, extraHeaders: error.status == .methodNotAllowed
                                      ? [.allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", .connection: "close"] : [:])
            label = "refused"
        case .success(let target):
            response = try await route(request, target: target, requestID: requestID)
            label = ScreenedRoute(path: target.routing)?.rawValue
                ?? (Self.ownPaths.first { $0 == target.path } ?? "passthrough")
        }
        metrics.request(route: label, status: response.status.code)
        return response
    }

    /// Paths Menshen answers itself (their own metric label).
    static let ownPaths = ["/healthz", "/readyz", "/v1/moderations", "/v1/screen"]

    /// The request's target, or the error it is refused with: `CONNECT` (Menshen is no tunnel)
    /// gets a complete 405, a target that could be read two ways a 400.
    static func readTarget(_ request: Request) -> Result<RequestTarget, OpenAIError> {
        if request.method == .connect || request.method.rawValue.uppercased() == "CONNECT" {
            return .failure(OpenAIError(status: .methodNotAllowed, message: "CONNECT is not supported: Menshen is not a tunnel",
                                        type: "invalid_request_error", code: "method_not_allowed"))
        }
        do {
            return .success(try RequestTarget.parse(request.uri.description))
        } catch {
            return .failure(.badRequest("invalid request target: \(error.reason)", code: "invalid_request_target"))
        }
    }

    private func route(_ request: Request, target: RequestTarget, requestID: String) async throws -> Response {
        let routing = target.routing
        let path = target.path
        do {
            switch (request.method, path) {
            case (.get, "/healthz"):
                return json(["status": "ok"], requestID: requestID)
            case (.get, "/readyz"):
                // Not ready while draining, or while a fail-closed audit log cannot write (every
                // audited request would get 503): load balancers should send traffic elsewhere.
                let ready = health.isReady && !audit.failingClosed
                return json(["status": ready ? "ready" : "draining", "lexicon_version": store.snapshot.version],
                            status: ready ? .ok : .serviceUnavailable, requestID: requestID)
            case (.post, "/v1/moderations"):
                return try await moderations(request, requestID: requestID)
            case (.post, "/v1/screen"):
                return try await screen(request, requestID: requestID)
            default:
                // Methods are case-sensitive, but a server that folds case would run `post` as POST.
                if request.method.rawValue.uppercased() == "POST", let route = ScreenedRoute(path: routing) {
                    return try await screenedCompletion(request, target: target, route: route, requestID: requestID)
                }
                // Refused paths are kept in canonical form (see ScreeningPolicy.refusedPaths).
                if store.snapshot.policy.refusedPaths.contains(where: { RoutingPath.isUnder(routing, $0) }) {
                    // A generation endpoint Menshen cannot screen must not become a way around it.
                    throw OpenAIError(status: .forbidden, message: "this path is not screened by Menshen and is refused; use /v1/chat/completions or /v1/completions",
                                      type: "invalid_request_error", code: "endpoint_not_screened")
                }
                if !store.snapshot.policy.passthroughPaths.contains(where: { RoutingPath.isUnder(routing, $0) }) {
                    throw OpenAIError(status: .forbidden, message: "this path is not screened by Menshen and not among the paths passed through (screening.passthrough_paths)",
                                      type: "invalid_request_error", code: "endpoint_not_screened")
                }
                return try await passThrough(request, target: target, requestID: requestID)
            }
        } catch let error as OpenAIError {
            return error.response(requestID: requestID)
        }
    }

    // MARK: The main flow

    private func screenedCompletion(_ request: Request, target: RequestTarget, route: ScreenedRoute, requestID: String) async throws -> Response {
        let snapshot = store.snapshot                 // kept to the end of this request and its stream
        // 1. Read and screen the prompt.
        let body = try await collectBody(request)
        let input: InputOutcome
        let scanStart = ContinuousClock.now
        // Reversible placeholders for what may leave the data centre; the map lives as long as this request.
        let pseudonyms = PseudonymMap()
        let needsExternal = configuration.desensitization.pseudonymizeInternal || pool.upstreams.contains { $0.trust == .external }
        let external = needsExternal ? PayloadScreening.ExternalPolicy(map: pseudonyms, c3: configuration.desensitization.c3External,
                                                                        pseudonymizeInternal: configuration.desensitization.pseudonymizeInternal) : nil
        // The texts that reach the model; a request that would carry text past screening is
        // refused here, before any of it goes to a classifier.
        let document: JSONDocument
        var prompt: PayloadScreening.PromptTexts
        do {
            document = try PayloadScreening.parseDocument(body)
            prompt = try PayloadScreening.promptSites(document, route: route, roles: snapshot.policy.inputRoles,
                                                      refusedFields: snapshot.policy.refusedRequestFields)
        } catch PayloadError.invalidUTF8 {
            throw OpenAIError.badRequest("request body is not valid UTF-8", code: "invalid_utf8")
        } catch PayloadError.notJSON(let message) {
            throw OpenAIError.badRequest(message, code: "invalid_json")
        } catch PayloadError.unscreenable(let message, let code) {
            throw OpenAIError.badRequest(message, code: code)
        }
        if !snapshot.policy.allowLogprobs && PayloadScreening.asksForLogprobs(document) {
            throw OpenAIError.badRequest("log probabilities would carry the answer's tokens past screening; they are refused by Menshen (screening.allow_logprobs)",
                                         code: "logprobs_not_screenable")
        }
        if PayloadScreening.asksForTokenIDs(document) {
            throw OpenAIError.badRequest("token ids in the answer would carry its text past screening; they are refused by Menshen",
                                         code: "token_ids_not_screenable")
        }
        // The query reaches the model server too (an external one included): screened with the
        // structure, decoded as a server decodes it.
        if let query = target.query, !query.isEmpty {
            prompt.noteStructure((query.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(query)))
        }
        let sites = prompt.sites
        // Classifier hooks run concurrently with the lexicon scan; the request is forwarded only
        // after both have answered.
        let hooks = snapshot.hooks
        let lexiconSignal = LexiconSignal()
        let hookInputs = hooks.map { runner in PayloadScreening.hookInputs(sites, requestID: requestID)
            .filter { runner.screens(direction: .input, role: $0.role) } } ?? []
        async let hookOutcome: HookOutcome = hookInputs.isEmpty ? .empty : hooks!.evaluate(hookInputs, lexicon: lexiconSignal)
        defer { lexiconSignal.fulfill(LexiconSummary(decision: .allow, categories: [])) }
        input = PayloadScreening.screenInput(body, document: document, sites: sites, structure: prompt.structure, snapshot: snapshot, external: external)
        // The prompt's screening alone (this used to be deferred to the end of the request,
        // so it measured the model's answer time as well).
        metrics.scanTime(direction: "input", ContinuousClock.now - scanStart)
        record(input.matches, direction: .input, snapshot: snapshot)
        lexiconSignal.fulfill(LexiconSummary(decision: input.decision, categories: Array(Set(input.matches.map { snapshot.lexicons.rules[$0.rule].category })).sorted()))
        let auditContext = AuditRecorder.Context(requestID: requestID, route: route.rawValue, model: input.model, upstream: nil,
                                                 client: audit.client(request.headers), started: scanStart)
        let inputHooks = await hookOutcome
        try await audit.record(audit.events(hooks: inputHooks, direction: .input, snapshot: snapshot, context: auditContext))
        if inputHooks.decision == .block {
            var error = OpenAIError(status: .badRequest, message: snapshot.policy.inputRefusal, type: "invalid_request_error", code: "content_filter")
            error.details["content_filter_result"] = JSONFragment(HookDetails.object(inputHooks))
            error.details["lexicon_version"] = JSONFragment(snapshot.version)
            return error.response(requestID: requestID, extraHeaders: menshenHeaders(snapshot, decision: .block))
        }
        // The block's event is on disk before the refusal leaves; other decisions are queued.
        try await audit.record(input.texts.flatMap { audit.events(text: $0.text, matches: $0.result.matches, direction: .input,
                                                                   snapshot: snapshot, context: auditContext) })
        if input.decision == .block {
            var error = OpenAIError(status: .badRequest, message: snapshot.policy.inputRefusal, type: "invalid_request_error", code: "content_filter")
            error.details["content_filter_result"] = JSONFragment(ContentFilterDetails.object(
                for: input.matches, lexicons: snapshot.lexicons, policy: snapshot.actions, direction: .input))
            error.details["lexicon_version"] = JSONFragment(snapshot.version)
            logger.debug("prompt blocked", metadata: ["request_id": "\(requestID)"])
            return error.response(requestID: requestID, extraHeaders: menshenHeaders(snapshot, decision: .block))
        }
        // Each choice of a streamed answer keeps scanners and held text of its own.
        let maxChoices = configuration.limits.maxChoices
        guard let n = input.choices, n <= maxChoices else {
            throw OpenAIError.badRequest("'n' must be a whole number no larger than \(maxChoices) (limits.max_choices)", code: "too_many_choices")
        }
        // 2. Forward it: the primary serves while it has capacity; otherwise overflow in order.
        let routed = try await dispatch(request, target: target, input: input, route: route, requestID: requestID, pseudonyms: pseudonyms)
        // 3. Screen the answer (placeholders are restored after screening, on released text only).
        let restore = routed.lease.upstream.trust == .external || configuration.desensitization.pseudonymizeInternal
        let context = AnswerContext(snapshot: snapshot, route: route, inputDecision: input.decision, requestID: requestID,
                                    started: scanStart, lease: routed.lease, pool: pool, pseudonyms: restore && !pseudonyms.isEmpty ? pseudonyms : nil,
                                    audit: AuditRecorder.Context(requestID: requestID, route: route.rawValue, model: input.model,
                                                                 upstream: routed.lease.upstream.name, client: auditContext.client, started: scanStart))
        if routed.response.status.code / 100 == 2, let encoding = routed.response.headers.first(name: "content-encoding"),
           encoding.trimmingCharacters(in: .whitespaces).lowercased() != "identity" {
            // Asked for identity, got compressed bytes anyway: they cannot be screened.
            pool.release(routed.lease, .success)
            try await refuseUnscreenable("the answer is compressed (Content-Encoding is not identity)", context: context)
        }
        if route == .embeddings {
            defer { pool.release(routed.lease, routed.response.status.code >= 500 ? .failure : .success) }
            return try await embeddingsAnswer(routed.response, context: context)
        }
        let isEventStream = routed.response.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
        if isEventStream && routed.response.status.code / 100 == 2 {
            return streamedAnswer(routed.response, context: context)
        }
        defer { pool.release(routed.lease, routed.response.status.code >= 500 ? .failure : .success) }
        return try await bufferedAnswer(routed.response, context: context)
    }

    /// What an answer needs from its request.
    struct AnswerContext: Sendable {
        let snapshot: Snapshot
        let route: ScreenedRoute
        let inputDecision: Decision
        let requestID: String
        let started: ContinuousClock.Instant
        let lease: UpstreamPool.Lease
        let pool: UpstreamPool
        /// Set when the prompt went out with placeholders: the answer gets the values back.
        let pseudonyms: PseudonymMap?
        let audit: AuditRecorder.Context
    }

    /// Picks an upstream and sends the body *built for its trust level*: an external upstream
    /// only ever gets the desensitized body, on the first try, on overflow after a failed
    /// attempt, and on every error path — the original body is not in scope there.
    private func dispatch(_ request: Request, target: RequestTarget, input: InputOutcome, route: ScreenedRoute, requestID: String,
                       pseudonyms: PseudonymMap) async throws -> (response: HTTPClientResponse, lease: UpstreamPool.Lease) {
        var excluded = Set<Int>()
        var lastError: OpenAIError?
        while let lease = await pool.acquire(excluding: excluded) {
            let upstream = lease.upstream
            let body: Data
            switch upstream.trust {
            case .external:
                if input.externalC3 && configuration.desensitization.c3External == .block {
                    pool.release(lease, .success)
                    var error = OpenAIError(status: .badRequest, message: "The prompt carries C3 data (passwords, card security codes or one-time codes), which may not leave the data centre.",
                                            type: "invalid_request_error", code: "content_filter")
                    error.details["reason"] = JSONFragment("sensitive_data_external")
                    throw error
                }
                guard let externalBody = input.externalBody else { pool.release(lease, .success); throw OpenAIError.unavailable("no desensitized body", code: "internal_error") }
                body = externalBody
                for (type, count) in pseudonyms.countsByType { metrics.desensitized(upstream: upstream.name, type: type, count: count) }
            case .internal:
                body = input.forwardBody
            }
            let upstreamStart = ContinuousClock.now
            do {
                let response = try await forward(request, target: target, to: upstream, body: ModelMap.apply(upstream.modelMap, to: body), requestID: requestID)
                metrics.upstreamTime(route: route.rawValue, ContinuousClock.now - upstreamStart)
                metrics.upstreamRequest(upstream: upstream.name, trust: upstream.trust.rawValue)
                return (response, lease)
            } catch let error as OpenAIError where error.code == "upstream_unreachable" {
                // Nothing reached the model: overflow to the next upstream.
                pool.release(lease, .failure)
                excluded.insert(lease.index)
                lastError = error
                logger.debug("upstream unreachable, overflowing", metadata: ["upstream": "\(upstream.name)", "request_id": "\(requestID)"])
            } catch {
                pool.release(lease, .failure)
                throw error
            }
        }
        throw lastError ?? OpenAIError.unavailable("every upstream is saturated or unhealthy", code: "upstream_unavailable")
    }

    /// A whole answer body, bounded by `limits.max_response_bytes` (502 beyond it).
    private func readAnswer(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        let limit = configuration.limits.maxResponseBytes
        do {
            return try await response.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.badGateway("the model server's answer exceeds limits.max_response_bytes (\(limit) bytes)", code: "upstream_answer_too_large")
        } catch {
            throw upstreamError(error)
        }
    }

    /// A non-streamed answer: buffered (bounded), screened whole, delivered.
    private func bufferedAnswer(_ response: HTTPClientResponse, context: AnswerContext) async throws -> Response {
        let route = context.route, snapshot = context.snapshot, inputDecision = context.inputDecision, requestID = context.requestID
        var buffer = try await readAnswer(response)
        let data = Data(buffer.readableBytesView)
        // The model server's own errors are screened whole; any success status carries an
        // answer, which is screened (or refused) whatever its exact code.
        guard response.status.code / 100 == 2 else {
            return try await upstreamErrorAnswer(response, body: data, context: context)
        }
        let document: JSONDocument
        switch AnswerShape.read(Array(data), route: route, streamed: false, allowLogprobs: snapshot.policy.allowLogprobs) {
        case .success(let d): document = d
        case .failure(let unscreenable): try await refuseUnscreenable(unscreenable.problem, context: context)
        }
        let scanStart = ContinuousClock.now
        // Every string outside the text slots (ids, model, citations, errors) is screened whole.
        let structure = AnswerStructure.screen(AnswerStructure.texts(of: document, route: route), snapshot: snapshot)
        for finding in structure.findings {
            record(finding.matches, direction: .output, snapshot: snapshot)
            try await audit.record(audit.events(text: finding.text, matches: finding.matches, direction: .output,
                                                snapshot: snapshot, context: context.audit))
        }
        if structure.decision == .block {
            let details = ContentFilterDetails.object(for: structure.findings.flatMap(\.matches), lexicons: snapshot.lexicons,
                                                      policy: snapshot.actions, direction: .output)
            let body = PayloadScreening.blockedAnswer(route: route, choices: document.root["choices"]?.elements?.count ?? 1,
                                                      refusal: snapshot.policy.outputRefusal, details: details, requestID: requestID)
            var headers = screenedHeaders(response.headers, requestID: requestID, snapshot: snapshot, bodyChanged: true)
            headers[.menshenDecision] = Decision.block.rawValue
            headers[.menshenUpstream] = context.lease.upstream.name
            headers[.contentLength] = nil
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
        }
        var screened = PayloadScreening.screenOutput(data, document: document, route: route, snapshot: snapshot)
        var parsed = screened.document             // the parse of `screened.body`, while it is unchanged
        metrics.scanTime(direction: "output", ContinuousClock.now - scanStart)
        try await audit.record(screened.texts.flatMap { audit.events(text: $0.text, matches: $0.result.matches, direction: .output,
                                                                       snapshot: snapshot, context: context.audit) })
        if let hooks = snapshot.hooks, screened.decision != .block, hooks.screens(direction: .output, role: "assistant") {
            let answer = PayloadScreening.answerTexts(screened.body, route: route, fields: snapshot.policy.outputFields).joined(separator: "\n")
            if !answer.isEmpty {
                let outcome = await hooks.evaluate(HookInput(text: answer, direction: .output, role: "assistant", requestID: requestID),
                                                   lexicon: LexiconSummary(decision: screened.decision, categories: []))
                try await audit.record(audit.events(hooks: outcome, direction: .output, snapshot: snapshot, context: context.audit))
                if outcome.decision == .block {
                    screened.body = PayloadScreening.refuseAll(screened.body, route: route, refusal: snapshot.policy.outputRefusal,
                                                               details: HookDetails.object(outcome))
                    parsed = nil
                    screened.decision = .block
                } else {
                    screened.decision = max(screened.decision, outcome.decision)
                }
            }
        }
        if let pseudonyms = context.pseudonyms {
            screened.body = PayloadScreening.restorePlaceholders(in: screened.body, route: route, map: pseudonyms)
            parsed = nil
        }
        var aigcHeader: String?
        if let labeling {
            (screened.body, aigcHeader) = labeling.label(body: screened.body, route: route, document: parsed)
        }
        record(screened.texts.flatMap(\.result.matches), direction: .output, snapshot: snapshot)
        var headers = screenedHeaders(response.headers, requestID: requestID, snapshot: snapshot, bodyChanged: screened.body != data)
        headers[.menshenDecision] = max(inputDecision, screened.decision).rawValue
        headers[.menshenUpstream] = context.lease.upstream.name
        if let aigcHeader { headers[.aigcLabel] = aigcHeader }
        buffer = ByteBuffer(data: screened.body)
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: buffer))
    }

    /// The model server's own error (a status other than 2xx) on a screened route: its body is
    /// text a client shows — a server may echo the prompt in it, a hostile one may write
    /// anything — so it is screened whole (``wholeAnswer(_:status:upstreamHeaders:snapshot:audit:requestID:)``).
    private func upstreamErrorAnswer(_ response: HTTPClientResponse, body data: Data, context: AnswerContext) async throws -> Response {
        try await wholeAnswer(data, status: .init(code: Int(response.status.code)), upstreamHeaders: response.headers,
                              snapshot: context.snapshot, audit: context.audit, requestID: context.requestID)
    }

    /// An answer Menshen does not parse (an error, a pass-through answer), screened as one text:
    /// passed as it came when clean, replaced by Menshen's own 502 when it holds anything to
    /// mask or block (a mask cannot be placed in a body Menshen does not parse), refused when
    /// it is not UTF-8 text (it cannot be screened).
    /// `parsed`: `data` already read as JSON by the caller.
    private func wholeAnswer(_ data: Data, parsed: JSONDocument? = nil, status: HTTPResponse.Status, upstreamHeaders: HTTPHeaders, snapshot: Snapshot,
                             audit auditContext: AuditRecorder.Context, requestID: String) async throws -> Response {
        guard let text = String(data: data, encoding: .utf8) else {
            try await audit.record([audit.unscreenableAnswer("an answer that is not UTF-8 text", snapshot: snapshot, context: auditContext)])
            throw OpenAIError.unscreenableAnswer("the answer is not UTF-8 text")
        }
        // A JSON body is read as a client reads it: its strings and keys decoded (`\u7a33\u8d5a`
        // is 稳赚 to every JSON parser), protocol values (ids, model) for block terms only, the
        // vectors of an embeddings answer left out; any other text is screened as it is.
        let decision: Decision
        let findings: [(text: String, matches: [Match])]
        if let document = parsed ?? (try? JSONDocument(bytes: Array(data))) {
            (decision, findings) = AnswerStructure.screen(AnswerStructure.allTexts(of: document, skipping: ["embedding", "embeddings"]), snapshot: snapshot)
        } else {
            // Not one JSON document (an SSE error stream, plain text): JSON escapes inside it are
            // still read as their characters by the client that parses its events.
            let unescaped = JSONUnicodeUnescaper.decode(text)
            let screened = unescaped == text ? text : text + "\n" + unescaped
            let result = snapshot.lexicons.screen(screened, direction: .output, policy: snapshot.actions)
            decision = result.decision
            findings = result.matches.isEmpty ? [] : [(screened, result.matches)]
        }
        for finding in findings {
            record(finding.matches, direction: .output, snapshot: snapshot)
            try await audit.record(audit.events(text: finding.text, matches: finding.matches, direction: .output, snapshot: snapshot, context: auditContext))
        }
        if decision == .block || decision == .mask {
            var error = OpenAIError.badGateway("the model server's answer (status \(status.code)) was withheld by the content filter",
                                               code: "upstream_answer_withheld")
            error.details["lexicon_version"] = JSONFragment(snapshot.version)
            return error.response(requestID: requestID, extraHeaders: menshenHeaders(snapshot, decision: .block))
        }
        var headers = screenedHeaders(upstreamHeaders, requestID: requestID, snapshot: snapshot, bodyChanged: false)
        headers[.contentLength] = "\(data.count)"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// An embeddings answer: vectors, passed on as they come once they are read (bounded) and
    /// found to be JSON. Errors are screened like any model server's error.
    private func embeddingsAnswer(_ response: HTTPClientResponse, context: AnswerContext) async throws -> Response {
        let data = Data(try await readAnswer(response).readableBytesView)
        guard response.status.code / 100 == 2 else { return try await upstreamErrorAnswer(response, body: data, context: context) }
        guard let document = try? JSONDocument(bytes: Array(data)), document.root.isObject else {
            try await refuseUnscreenable("the embeddings answer is not a JSON object", context: context)
        }
        // Its strings (model, ids, anything a hostile server adds) are screened whole.
        var answer = try await wholeAnswer(data, parsed: document, status: .init(code: Int(response.status.code)), upstreamHeaders: response.headers,
                                           snapshot: context.snapshot, audit: context.audit, requestID: context.requestID)
        if answer.status.code / 100 == 2 {
            answer.headers[.menshenDecision] = context.inputDecision.rawValue
            answer.headers[.menshenUpstream] = context.lease.upstream.name
        }
        return answer
    }

    /// Refuses an answer that cannot be screened: a durable audit event, a log warning, then 502.
    private func refuseUnscreenable(_ problem: String, context: AnswerContext) async throws -> Never {
        logger.warning("answer refused: it cannot be screened", metadata: ["request_id": "\(context.requestID)", "problem": "\(problem)"])
        try await audit.record([audit.unscreenableAnswer(problem, snapshot: context.snapshot, context: context.audit)])
        throw OpenAIError.unscreenableAnswer(problem)
    }

    /// A streamed answer: each upstream event re-emitted with only its settled text.
    private func streamedAnswer(_ response: HTTPClientResponse, context: AnswerContext) -> Response {
        let route = context.route, snapshot = context.snapshot, requestID = context.requestID, started = context.started
        var headers = screenedHeaders(response.headers, requestID: requestID, snapshot: snapshot, bodyChanged: true)
        headers[.menshenUpstream] = context.lease.upstream.name
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        let upstreamBody = response.body
        let limits = configuration.limits
        let streamTotal = configuration.timeouts.streamTotal
        let logger = self.logger
        let metrics = self.metrics
        let audit = self.audit
        let labeling = self.labeling
        let hooks = snapshot.hooks
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var screener = StreamScreener(snapshot: snapshot, route: route, pseudonyms: context.pseudonyms, maxChoices: limits.maxChoices)
            var labeler = labeling.map { StreamLabeler(labeler: $0.labeler, route: route) }
            var gate = hooks.flatMap { $0.screens(direction: .output, role: "assistant") ? StreamHookGate(runner: $0, route: route, requestID: requestID, fields: snapshot.policy.outputFields) : nil }
            var gateStopped = false
            var audited = false
            /// Audit events of the stream: written before the final events leave (durably for a block).
            func auditStream() async {
                guard !audited else { return }
                audited = true
                let events = screener.auditTexts.flatMap { audit.events(text: $0.text, matches: $0.matches, direction: .output, snapshot: snapshot, context: context.audit) }
                do { try await audit.record(events) } catch {
                    logger.error("audit write failed for a streamed answer", metadata: ["request_id": "\(requestID)"])
                }
            }
            var firstDelivered = false
            var failed = false
            defer { context.pool.release(context.lease, failed ? .failure : .success) }
            defer { Self.record(screener.matches.map(\.match), direction: .output, snapshot: snapshot, metrics: metrics) }
            var parser = SSEParser(maximumLineBytes: limits.maxEventBytes)
            let deadline = ContinuousClock.now + streamTotal
            func send(_ screenedEvents: [SSEParser.Event], _ writer: inout any ResponseBodyWriter) async throws {
                if screener.state == .blocked { await auditStream() }
                guard !gateStopped else { return }
                var screened = screenedEvents
                if var g = gate {
                    let gated = await g.process(screened)
                    gate = g
                    screened = gated.events
                    if gated.stop {
                        gateStopped = true
                        try? await audit.record(audit.events(hooks: HookOutcome(matches: g.outcomes.flatMap(\.matches), calls: g.outcomes.flatMap(\.calls)),
                                                             direction: .output, snapshot: snapshot, context: context.audit))
                    }
                }
                let events = labeler.map { l -> [SSEParser.Event] in var l = l; defer { labeler = l }; return l.process(screened) } ?? screened
                guard !events.isEmpty else { return }
                var out = ByteBuffer()
                for e in events { out.writeBytes(e.serialized()) }
                try await writer.write(out)
            }
            var upstreamFailure: OpenAIError?
            do {
                // Leaving this loop early (block, client gone) drops the body iterator, which
                // cancels the upstream request so the model stops generating.
                reading: for try await chunk in upstreamBody {
                    if ContinuousClock.now > deadline { upstreamFailure = .streamFailure("answer exceeded the stream time limit"); break }
                    for event in try parser.feed(chunk.readableBytesView) {
                        let output = screener.process(event)
                        if let refusal = output.refusal {
                            logger.warning("streamed answer refused: it cannot be screened", metadata: ["request_id": "\(requestID)", "problem": "\(refusal)"])
                            upstreamFailure = OpenAIError.unscreenableAnswer(refusal)
                            do { try await audit.record([audit.unscreenableAnswer(refusal, snapshot: snapshot, context: context.audit)]) } catch {
                                logger.error("audit write failed for a refused stream", metadata: ["request_id": "\(requestID)"])
                            }
                        }
                        try await send(output.events, &writer)
                        metrics.holdBack(bytes: screener.heldBytes)
                        if !firstDelivered && screener.deliveredText {
                            firstDelivered = true
                            metrics.timeToFirstDeliveredToken(ContinuousClock.now - started)
                        }
                        if output.stop || gateStopped { break reading }
                    }
                }
            } catch where error is SSEParser.LineTooLong || error is SSEParser.EventTooLarge {
                upstreamFailure = .streamFailure("upstream event exceeds \(limits.maxEventBytes) bytes")
            } catch let error where !(error is CancellationError) && screener.state == .streaming {
                // Either the upstream failed mid-stream or the client left; if the client left,
                // the next write fails too and ends this closure.
                upstreamFailure = .streamFailure("upstream connection failed: \(type(of: error))")
                failed = true
                logger.debug("upstream stream error", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
            }
            if screener.state == .streaming {
                for event in parser.finish() {
                    let output = screener.process(event)
                    try await send(output.events, &writer)
                }
                try await send(screener.finish().events, &writer)
            }
            await auditStream()
            if let error = upstreamFailure, screener.state != .blocked {
                let data = try JSONSerialization.data(withJSONObject: error.jsonObject, options: [.sortedKeys])
                try await send([.data(String(decoding: data, as: UTF8.self)), .data("[DONE]")], &writer)
            } else if var l = labeler {
                // An answer that ended without [DONE] still gets its implicit label.
                let tail = l.finish()
                labeler = l
                if !tail.isEmpty {
                    var out = ByteBuffer()
                    for e in tail { out.writeBytes(e.serialized()) }
                    try await writer.write(out)
                }
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Screening without a model

    /// `POST /v1/moderations`, OpenAI-compatible: `input` string or array.
    private func moderations(_ request: Request, requestID: String) async throws -> Response {
        let snapshot = store.snapshot
        let object = try parse(try await collectBody(request))
        let inputs: [String]
        if let s = object["input"] as? String { inputs = [s] }
        else if let a = object["input"] as? [Any] { inputs = a.compactMap { $0 as? String ?? (($0 as? [String: Any])?["text"] as? String) } }
        else { throw OpenAIError.badRequest("'input' must be a string or an array of strings", code: "invalid_input") }
        let categories = Set(snapshot.lexicons.rules.map(\.category)).sorted()
        let results: [[String: Any]] = inputs.map { text in
            let r = snapshot.lexicons.screen(text, direction: .input, policy: snapshot.actions)
            let hit = Set(r.matches.filter { snapshot.actions.action(for: $0, lexicons: snapshot.lexicons, direction: .input) != .shadow }
                .map { snapshot.lexicons.rules[$0.rule].category })
            return ["flagged": !hit.isEmpty,
                    "categories": Dictionary(uniqueKeysWithValues: categories.map { ($0, hit.contains($0)) }),
                    "category_scores": Dictionary(uniqueKeysWithValues: categories.map { ($0, hit.contains($0) ? 1.0 : 0.0) })]
        }
        return json(["id": "modr-\(requestID)", "model": "menshen-lexicon-\(snapshot.version)", "results": results], requestID: requestID)
    }

    /// `POST /v1/screen`: `{"text": …, "direction": "input"|"output"}` → Menshen's own report.
    private func screen(_ request: Request, requestID: String) async throws -> Response {
        let snapshot = store.snapshot
        let object = try parse(try await collectBody(request))
        guard let text = object["text"] as? String else { throw OpenAIError.badRequest("'text' is required", code: "invalid_input") }
        let direction = (object["direction"] as? String).flatMap(Direction.init(rawValue:)) ?? .input
        if let d = object["direction"] as? String, Direction(rawValue: d) == nil {
            throw OpenAIError.badRequest("'direction' must be input or output", code: "invalid_input")
        }
        let result = snapshot.lexicons.screen(text, direction: direction, policy: snapshot.actions)
        let report = ScreeningReport(result: result, text: text, direction: direction, lexicons: snapshot.lexicons)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = menshenHeaders(snapshot, decision: result.decision)
        headers[.contentType] = "application/json"
        headers[.menshenRequestID] = requestID
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(report))))
    }

    // MARK: Pass-through

    /// Other paths go to the primary upstream only — never overflowed to an external one, since
    /// their bodies (embeddings inputs, say) are not screened.
    private func passThrough(_ request: Request, target: RequestTarget, requestID: String) async throws -> Response {
        guard let primary = pool.upstreams.first else { throw OpenAIError.unavailable("no upstream configured", code: "upstream_unavailable") }
        let requestLength = request.headers[.contentLength].flatMap(Int.init)
        // GET and HEAD bodies are never forwarded; any other method's body is (an h2c body
        // needs no header to announce it).
        let sendsBody = request.method != .get && request.method != .head
        if primary.trust == .external && (sendsBody || target.query != nil) {
            // Nothing unscreened leaves the data centre: a pass-through body or query is text
            // Menshen has not read.
            throw OpenAIError(status: .forbidden, message: "the upstream is outside the data centre: requests passed through unscreened may only be GET or HEAD, without a query",
                              type: "invalid_request_error", code: "external_passthrough_refused")
        }
        let limit = configuration.limits.maxRequestBytes
        if let requestLength, requestLength > limit { throw OpenAIError.tooLarge(limit: limit) }
        var upstreamRequest = HTTPClientRequest(url: try Self.upstreamURL(target, primary))
        upstreamRequest.method = HTTPMethod(rawValue: request.method.rawValue)
        upstreamRequest.headers = forwardHeaders(request.headers, requestID: requestID, to: primary)
        var upload: ReclaimableRequestBody?
        if sendsBody {
            let body = ReclaimableRequestBody(request.body, limit: limit)
            upload = body
            upstreamRequest.body = .stream(body, length: requestLength.map { .known(Int64($0)) } ?? .unknown)
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstreamRequest, timeout: TimeAmount(configuration.timeouts.responseHead))
        } catch {
            await upload?.stopUpload()     // the error answer must not race the upload either
            if error is ReclaimableRequestBody.TooLarge || upload?.exceededLimit == true { throw OpenAIError.tooLarge(limit: limit) }
            throw upstreamError(error)
        }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        if request.method == .head {
            await upload?.stopUpload()
            var headers = screenedHeaders(response.headers, requestID: requestID, snapshot: nil, bodyChanged: false)
            if let length = response.headers.first(name: "content-length") { headers[.contentLength] = length }
            return Response(status: status, headers: headers, body: .init())
        }
        // A pass-through answer is text a client shows too (a model list, a server's metadata):
        // it is read whole (bounded), screened whole, and sent with its head in one write.
        let answerLimit = configuration.limits.maxResponseBytes
        let body: ByteBuffer
        do {
            if let declared = response.headers.first(name: "content-length").flatMap(Int.init), declared > answerLimit {
                throw NIOTooManyBytesError(maxBytes: answerLimit)
            }
            body = try await response.body.collect(upTo: answerLimit)
        } catch {
            // The model server may have answered before reading all of the request: the upload
            // ends before the next request's body is read.
            await upload?.stopUpload()
            if error is NIOTooManyBytesError {
                throw OpenAIError.badGateway("the model server's answer exceeds limits.max_response_bytes (\(answerLimit) bytes)", code: "upstream_answer_too_large")
            }
            if Self.isTimeout(error) { throw OpenAIError.gatewayTimeout("the model server did not finish its answer in time") }
            throw OpenAIError.badGateway("the model server's answer ended before its end", code: "upstream_answer_incomplete")
        }
        await upload?.stopUpload()
        let snapshot = store.snapshot
        let context = AuditRecorder.Context(requestID: requestID, route: "passthrough", model: nil, upstream: primary.name,
                                            client: audit.client(request.headers), started: ContinuousClock.now)
        return try await wholeAnswer(Data(body.readableBytesView), status: status, upstreamHeaders: response.headers,
                                     snapshot: snapshot, audit: context, requestID: requestID)
    }

    // MARK: Helpers

    /// The upstream URL for a target, refused (400) when the upstream client would read it to
    /// another path than the one routed.
    static func upstreamURL(_ target: RequestTarget, _ upstream: UpstreamConfiguration) throws(OpenAIError) -> String {
        do { return try target.upstreamURL(base: upstream.url) } catch {
            throw OpenAIError.badRequest("invalid request target: \(error.reason)", code: "invalid_request_target")
        }
    }

    static func isTimeout(_ error: any Error) -> Bool {
        guard let e = error as? HTTPClientError else { return false }
        return e == .deadlineExceeded || e == .readTimeout
    }


    private func collectBody(_ request: Request) async throws -> Data {
        let limit = configuration.limits.maxRequestBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw OpenAIError.tooLarge(limit: limit)      // refuse before reading a byte of it
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.tooLarge(limit: limit)
        }
    }

    private func parse(_ body: Data) throws -> [String: Any] {
        do { return try PayloadScreening.parseObject(body) } catch PayloadError.invalidUTF8 {
            throw OpenAIError.badRequest("request body is not valid UTF-8", code: "invalid_utf8")
        } catch PayloadError.notJSON(let message) {
            throw OpenAIError.badRequest(message, code: "invalid_json")
        }
    }

    private func forward(_ request: Request, target: RequestTarget, to upstream: UpstreamConfiguration, body: Data, requestID: String) async throws -> HTTPClientResponse {
        let body = ByteBuffer(data: body)
        var upstreamRequest = HTTPClientRequest(url: try Self.upstreamURL(target, upstream))
        upstreamRequest.method = .POST
        upstreamRequest.headers = forwardHeaders(request.headers, requestID: requestID, to: upstream)
        upstreamRequest.headers.replaceOrAdd(name: "content-type", value: "application/json")
        upstreamRequest.headers.replaceOrAdd(name: "content-length", value: "\(body.readableBytes)")
        // The answer must be screened, so it must come as text: a client's `gzip, br` would let
        // the server (OpenAI's API, a gateway with compression on) send bytes Menshen cannot read.
        upstreamRequest.headers.replaceOrAdd(name: "accept-encoding", value: "identity")
        upstreamRequest.body = .bytes(body)
        do {
            return try await client.execute(upstreamRequest, timeout: TimeAmount(configuration.timeouts.responseHead))
        } catch {
            throw upstreamError(error)
        }
    }

    /// Maps a client error to what the caller is told: 504 for timeouts, 502 otherwise (and
    /// `upstream_unreachable` only when nothing can have reached the model).
    private func upstreamError(_ error: any Error) -> OpenAIError {
        if Self.isTimeout(error) { return .gatewayTimeout("the model server did not answer in time") }
        if error is CancellationError { return .gatewayTimeout("request cancelled") }
        return .badGateway("the model server cannot be reached")
    }

    /// RFC 9110 §7.6.1: connection-specific headers are not forwarded, nor the ones `Connection` names.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                        "upgrade", "proxy-authenticate", "proxy-authorization", "host", "content-length"]

    /// The request headers an upstream gets: hop-by-hop ones dropped (RFC 9110 §7.6.1), and
    /// credentials by trust. An upstream with its own API key gets that key instead of the
    /// client's; an external one without a key gets no client credentials at all — the key a
    /// client holds for the model in the data centre must not travel to a cloud provider.
    private func forwardHeaders(_ fields: HTTPFields, requestID: String, to upstream: UpstreamConfiguration) -> HTTPHeaders {
        let named = Set(fields[values: .connection].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } })
        let replaceCredentials = upstream.apiKey != nil || upstream.trust == .external
        var kept: [(name: String, value: String)] = []
        for field in fields {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || named.contains(name) || name == "x-request-id" { continue }
            if replaceCredentials && Self.credentialHeaders.contains(name) { continue }
            kept.append((field.name.rawName, field.value))
        }
        // Nothing unscreened leaves the data centre, headers included: a header with personal
        // data (or anything else to mask or block) is not sent to an external upstream.
        if upstream.trust == .external { kept = withoutFindings(kept, direction: .input, snapshot: store.snapshot) }
        var headers = HTTPHeaders()
        for (name, value) in kept { headers.add(name: name, value: value) }
        if let key = upstream.apiKey { headers.add(name: "authorization", value: "Bearer \(key)") }
        headers.add(name: "x-request-id", value: requestID)
        return headers
    }

    /// Headers that carry a client's credentials (OpenAI, Azure OpenAI, Anthropic-style, cookies).
    static let credentialHeaders: Set<String> = ["authorization", "api-key", "x-api-key", "cookie"]

    /// The model server's response headers as the client gets them: hop-by-hop ones dropped,
    /// Menshen's own set, and every value screened — a header is bytes that reach the user too,
    /// and a hostile server can write anything there. A header with anything to mask or block
    /// is dropped (it cannot be rewritten meaningfully). Clean headers cost one scan of their
    /// values joined.
    private func screenedHeaders(_ upstream: HTTPHeaders, requestID: String, snapshot: Snapshot?, bodyChanged: Bool) -> HTTPFields {
        let snapshot = snapshot ?? store.snapshot
        let named = Set(upstream["connection"].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } })
        var kept: [(name: String, value: String)] = []
        for (name, value) in upstream {
            let lower = name.lowercased()
            if Self.hopByHop.contains(lower) || named.contains(lower) || lower == "x-request-id" || lower.hasPrefix("x-menshen-") { continue }
            if bodyChanged && (lower == "content-encoding" || lower == "etag") { continue }
            kept.append((name, value))
        }
        kept = withoutFindings(kept, direction: .output, snapshot: snapshot)
        var fields = HTTPFields()
        for (name, value) in kept { if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) } }
        fields[.menshenRequestID] = requestID
        fields[.menshenLexiconVersion] = snapshot.version
        return fields
    }

    /// Headers less those with anything to mask or block. Clean headers (nearly always) cost one
    /// scan of all of them joined; only then is each screened on its own.
    private func withoutFindings(_ headers: [(name: String, value: String)], direction: Direction, snapshot: Snapshot) -> [(name: String, value: String)] {
        func withholds(_ text: String) -> Bool {
            let decision = snapshot.lexicons.screen(text, direction: direction, policy: snapshot.actions).decision
            return decision == .block || decision == .mask
        }
        let joined = headers.map { $0.name + ": " + $0.value }.joined(separator: "\n")
        guard !joined.isEmpty, withholds(joined) else { return headers }
        return headers.filter { !withholds($0.name + ": " + $0.value) }
    }

    /// Counts every match that fired, by direction, action (under the policy), category and rule.
    private func record(_ matches: [Match], direction: Direction, snapshot: Snapshot) {
        Self.record(matches, direction: direction, snapshot: snapshot, metrics: metrics)
    }

    static func record(_ matches: [Match], direction: Direction, snapshot: Snapshot, metrics: SidecarMetrics) {
        for m in matches {
            let rule = snapshot.lexicons.rules[m.rule]
            metrics.decision(direction: direction.rawValue, action: snapshot.actions.action(for: m, lexicons: snapshot.lexicons, direction: direction).rawValue,
                             category: rule.category, rule: rule.id)
        }
    }

    private func menshenHeaders(_ snapshot: Snapshot, decision: Decision) -> HTTPFields {
        [.menshenLexiconVersion: snapshot.version, .menshenDecision: decision.rawValue]
    }

    private func json(_ object: [String: Any], status: HTTPResponse.Status = .ok, requestID: String) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json", .menshenRequestID: requestID],
                        body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

/// Readiness, flipped off when shutdown starts so load balancers stop sending traffic.
final class HealthState: Sendable {
    private let draining = NIOLockedValueBox(false)
    var isReady: Bool { !draining.withLockedValue { $0 } }
    func startDraining() { draining.withLockedValue { $0 = true } }
}

import NIOConcurrencyHelpers

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
