import AsyncHTTPClient
import Foundation
import NIOCore
@testable import Proxy
import Testing
import TestSupport

/// The catalogue of hostile requests and answers (docs/hostile-catalogue.md lists every case):
/// each case is sent through the real listener to the in-process upstream, and each asserts
/// what reached the upstream and what the client got. Two invariants hold for every case:
/// the upstream never receives the raw personal data of the prompt, and the client never
/// receives the blocked promise or raw personal data — read as a client would, with a
/// stream's string pieces joined per member.
@Suite(.serialized) struct HostileCatalogueTests {
    /// Personal data that must never reach the model raw, and a promise that must never reach
    /// the client (shipped lexicons: `pii.mobile` masks, finance blocks on output).
    static let phone = "13812345678"
    static let promise = "稳赚不赔"
    static let answerText = "这款产品稳赚不赔。"

    enum Send: Sendable {
        /// A JSON body to a path through the HTTP client.
        case post(String, String)
        case get(String, query: String = "")
        /// A request line written as it is (no client would send it), with this body.
        case raw(String, String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let id: String
        let summary: String
        let send: Send
        /// What the upstream answers (a clean chat answer unless the case is about answers).
        var answer: UpstreamScript = .json(chatAnswer("好的"))
        /// Statuses the client may get.
        let status: Set<Int>
        /// Nothing may reach the upstream.
        var upstreamGetsNothing = false
        /// A string the upstream must receive (a masked value), when it receives the request.
        var upstreamGets: String?
        /// A string the client must receive (a near miss is not refused).
        var clientGets: String?
        var testDescription: String { "\(id): \(summary)" }
    }

    // MARK: Requests

    static func chat(_ content: String, extra: String = "", stream: Bool = false) -> String {
        #"{"model":"m","stream":\#(stream),"messages":[{"role":"user","content":\#(json(content))}]\#(extra)}"#
    }

    static func json(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes]), as: UTF8.self).dropFirst().dropLast().description
    }

    static let phonePrompt = chat("我的手机是\(phone)，请记下")

    static let targets: [Case] = [
        Case(id: "T01", summary: "fragment after a screened path (HTTP/1.1)", send: .raw("POST /v1/chat/completions# HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
        Case(id: "T02", summary: "fragment with text", send: .raw("POST /v1/chat/completions#x HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
        Case(id: "T03", summary: "query then fragment", send: .raw("POST /v1/chat/completions?a=1#b HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
        Case(id: "T04", summary: "encoded fragment %23", send: .raw("POST /v1/chat/completions%23 HTTP/1.1", phonePrompt), status: [400, 403], upstreamGetsNothing: true),
        Case(id: "T05", summary: "backslash in the path", send: .raw("POST /v1\\chat/completions HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
        Case(id: "T06", summary: "absolute-form target (the HTTP layer keeps only its path)", send: .raw("POST http://127.0.0.1:1/v1/chat/completions HTTP/1.1", phonePrompt), status: [200, 400], upstreamGets: "138****5678"),
        Case(id: "T07", summary: "double slash is routed as the chat route", send: .raw("POST //v1/chat/completions HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T08", summary: "trailing slash", send: .raw("POST /v1/chat/completions/ HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T09", summary: ";parameters", send: .raw("POST /v1/chat/completions;v=1 HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T10", summary: "upper case path", send: .raw("POST /V1/CHAT/COMPLETIONS HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T11", summary: "percent-encoded letter", send: .raw("POST /v1/chat/%63ompletions HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T12", summary: "double-encoded letter", send: .raw("POST /v1/chat/%2563ompletions HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T13", summary: "dot segments", send: .raw("POST /v1/x/../chat/./completions HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T14", summary: "encoded slash", send: .raw("POST /v1/chat%2Fcompletions HTTP/1.1", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "T15", summary: "encoded NUL", send: .raw("POST /v1/chat/completions%00 HTTP/1.1", phonePrompt), status: [400, 403], upstreamGetsNothing: true),
        Case(id: "T16", summary: "malformed percent-escape", send: .raw("POST /v1/chat/completions%G1 HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
        Case(id: "T17", summary: "non-ASCII in the target", send: .raw("POST /v1/chat/completions/稳 HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
        Case(id: "T18", summary: "asterisk form", send: .raw("OPTIONS * HTTP/1.1", ""), status: [400], upstreamGetsNothing: true),
        Case(id: "T19", summary: "CONNECT gets a complete 405", send: .raw("CONNECT 127.0.0.1:80 HTTP/1.1", ""), status: [405], upstreamGetsNothing: true),
        Case(id: "T20", summary: "lower-case method on the chat route", send: .raw("post /v1/chat/completions HTTP/1.1", phonePrompt), status: [200, 400], upstreamGets: "138****5678"),
        Case(id: "T21", summary: "pipe and braces in the query", send: .raw("POST /v1/chat/completions?x={a|b} HTTP/1.1", phonePrompt), status: [400], upstreamGetsNothing: true),
    ]

    static let paths: [Case] = [
        Case(id: "P01", summary: "SageMaker /invocations", send: .post("/invocations", phonePrompt), status: [403], upstreamGetsNothing: true),
        Case(id: "P02", summary: "TGI POST /", send: .post("/", #"{"inputs":"\#(phone)"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P03", summary: "Azure chat deployment path is screened", send: .post("/openai/deployments/gpt4/chat/completions?api-version=2024-10-21", phonePrompt), status: [200], upstreamGets: "138****5678"),
        Case(id: "P04", summary: "Azure completions deployment path is screened", send: .post("/openai/deployments/gpt4/completions?api-version=2024-10-21", #"{"model":"m","prompt":"电话\#(phone)"}"#),
             answer: .json(#"{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"好","finish_reason":"stop"}]}"#),
             status: [200], upstreamGets: "138****5678"),
        Case(id: "P05", summary: "engines completions", send: .post("/engines/davinci/completions", #"{"prompt":"\#(phone)"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P06", summary: "files upload", send: .post("/v1/files", #"{"purpose":"batch","file":"\#(phone)"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P07", summary: "batches", send: .post("/v1/batches", #"{"input_file_id":"f"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P08", summary: "audio transcriptions", send: .post("/v1/audio/transcriptions", "{}"), status: [403], upstreamGetsNothing: true),
        Case(id: "P09", summary: "embeddings input is screened", send: .post("/v1/embeddings", #"{"model":"e","input":"电话\#(phone)"}"#),
             answer: .json(#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}]}"#), status: [200], upstreamGets: "138****5678"),
        Case(id: "P10", summary: "embeddings as token ids", send: .post("/v1/embeddings", #"{"model":"e","input":[1,2,3]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "P11", summary: "Ollama /api/embed input is screened", send: .post("/api/embed", #"{"model":"e","input":["电话\#(phone)"]}"#),
             answer: .json(#"{"embeddings":[[0.1]]}"#), status: [200], upstreamGets: "138****5678"),
        Case(id: "P12", summary: "model list passes", send: .get("/v1/models"), answer: .json(#"{"object":"list","data":[]}"#), status: [200]),
        Case(id: "P22", summary: "a pass-through answer carrying the promise", send: .get("/v1/models"), answer: .json(#"{"object":"list","data":[{"id":"\#(promise)"}]}"#), status: [502]),
        Case(id: "P23", summary: "a pass-through answer carrying a phone number", send: .get("/api/tags"), answer: .json(#"{"models":[{"name":"\#(phone)"}]}"#), status: [502]),
        Case(id: "P13", summary: "vLLM tokenize", send: .post("/tokenize", #"{"prompt":"\#(phone)"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P14", summary: "vLLM detokenize", send: .post("/detokenize", #"{"tokens":[1,2]}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P15", summary: "Responses API (refused, not screened yet)", send: .post("/v1/responses", #"{"input":"\#(phone)"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P16", summary: "Anthropic Messages (refused, not screened yet)", send: .post("/v1/messages", phonePrompt), status: [403], upstreamGetsNothing: true),
        Case(id: "P17", summary: "SGLang/TGI /generate", send: .post("/generate", #"{"text":"\#(phone)"}"#), status: [403], upstreamGetsNothing: true),
        Case(id: "P18", summary: "an unknown path", send: .post("/v2/anything", phonePrompt), status: [403], upstreamGetsNothing: true),
        Case(id: "P19", summary: "GET with a body to a screened route", send: .raw("GET /v1/chat/completions HTTP/1.1", phonePrompt), status: [403], upstreamGetsNothing: true),
        Case(id: "P20", summary: "prompt_logprobs", send: .post("/v1/chat/completions", chat("好", extra: #","prompt_logprobs":1"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "P21", summary: "return_token_ids", send: .post("/v1/chat/completions", chat("好", extra: #","return_token_ids":true"#)), status: [400], upstreamGetsNothing: true),
    ]

    static let structure: [Case] = [
        Case(id: "S01", summary: "role value carrying a phone number", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"手机\#(phone)","content":"hi"}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S02", summary: "role that is not a string", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":["user"],"content":"hi"}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S03", summary: "tool schema property key", send: .post("/v1/chat/completions", chat("hi", extra: #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"手机\#(phone)":{"type":"string"}}}}}]"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S04", summary: "tool schema enum number", send: .post("/v1/chat/completions", chat("hi", extra: #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"n":{"type":"integer","enum":[\#(phone)]}}}}}]"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S05", summary: "tool schema default number", send: .post("/v1/chat/completions", chat("hi", extra: #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"n":{"type":"integer","default":\#(phone)}}}}}]"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S06", summary: "response_format schema key", send: .post("/v1/chat/completions", chat("hi", extra: #","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"properties":{"电话\#(phone)":{}}}}}"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S07", summary: "a protocol-named value inside a tool schema", send: .post("/v1/chat/completions", chat("hi", extra: #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"string","format":"手机\#(phone)"}}}}}]"#)), status: [200], upstreamGets: "138****5678"),
        Case(id: "S08", summary: "functions (legacy) schema key", send: .post("/v1/chat/completions", chat("hi", extra: #","functions":[{"name":"f","parameters":{"properties":{"\#(phone)":{}}}}]"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S09", summary: "documents title", send: .post("/v1/chat/completions", chat("hi", extra: #","documents":[{"title":"电话\#(phone)","text":"x"}]"#)), status: [200], upstreamGets: "138****5678"),
        Case(id: "S10", summary: "a top-level key", send: .post("/v1/chat/completions", chat("hi", extra: #","手机\#(phone)":true"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S11", summary: "unknown message member key", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"user","content":"hi","手机\#(phone)":1}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S12", summary: "number inside chat_template_kwargs", send: .post("/v1/chat/completions", chat("hi", extra: #","chat_template_kwargs":{"x":\#(phone)}"#)), status: [400], upstreamGetsNothing: true),
        Case(id: "S13", summary: "content parts split a phone number", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"手机138123"},{"type":"text","text":"45678"}]}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S14", summary: "three parts split a phone number", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"手机138"},{"type":"text","text":"1234"},{"type":"text","text":"5678"}]}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S15", summary: "parts split around an image", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"手机138123"},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"45678"}]}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S16", summary: "escaped phone in a tool result", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"tool","tool_call_id":"t","content":"{\"p\":\"\\u0031\\u0033\\u0038\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038\"}"}]}"#), status: [200, 400], upstreamGets: nil),
        Case(id: "S17", summary: "phone in stop sequences", send: .post("/v1/chat/completions", chat("hi", extra: #","stop":["\#(phone)"]"#)), status: [200], upstreamGets: "138****5678"),
        Case(id: "S18", summary: "phone in user field", send: .post("/v1/chat/completions", chat("hi", extra: #","user":"\#(phone)""#)), status: [200], upstreamGets: "138****5678"),
        Case(id: "S21", summary: "phone in the query string", send: .post("/v1/chat/completions?note=" + phone, chat("hi")), status: [400], upstreamGetsNothing: true),
        Case(id: "S22", summary: "percent-encoded phone in the query string", send: .post("/v1/chat/completions?note=%31%33%38%31%32%33%34%35%36%37%38", chat("hi")), status: [400], upstreamGetsNothing: true),
        Case(id: "S23", summary: "phone as a number in tool-call arguments given as an object", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":{"phone":\#(phone)}}}]}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S24", summary: "near miss: a 10-digit schema limit is a quantity", send: .post("/v1/chat/completions", chat("hi", extra: #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"n":{"type":"integer","maximum":2147483647}}}}}]"#)), status: [200], clientGets: "好的"),
        Case(id: "S25", summary: "near miss: digits inside a tool-call id", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"tool","tool_call_id":"chatcmpl-tool-2345678901abcdef","content":"ok"}]}"#), status: [200], clientGets: "好的"),
        Case(id: "S19", summary: "phone in the model name", send: .post("/v1/chat/completions", #"{"model":"m-\#(phone)","messages":[{"role":"user","content":"hi"}]}"#), status: [400], upstreamGetsNothing: true),
        Case(id: "S20", summary: "phone in a tool_call_id", send: .post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"tool","tool_call_id":"\#(phone)","content":"ok"}]}"#), status: [400], upstreamGetsNothing: true),
    ]

    // MARK: Answers

    static func answer(_ message: String, extra: String = "", choiceExtra: String = "") -> UpstreamScript {
        .json(#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":\#(message),"finish_reason":"stop"\#(choiceExtra)}]\#(extra)}"#)
    }

    static func stream(_ chunks: [String], raw: Bool = false) -> UpstreamScript {
        let body = raw ? chunks.joined() : chunks.map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
        // Split every 7 bytes: inside UTF-8 sequences, field names and JSON strings.
        let bytes = Array(body.utf8)
        return .stream(stride(from: 0, to: bytes.count, by: 7).map { Array(bytes[$0..<min($0 + 7, bytes.count)]) })
    }

    static func delta(_ delta: String, finish: String = "null", extra: String = "") -> String {
        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish)}]\#(extra)}"#
    }

    static let clean = chat("你好")
    static let cleanStream = chat("你好", stream: true)

    static let answers: [Case] = [
        Case(id: "A01", summary: "tool-call function name", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"\#(promise)","arguments":"{}"}}]}"#), status: [200]),
        Case(id: "A02", summary: "legacy function_call name", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":null,"function_call":{"name":"\#(promise)","arguments":"{}"}}"#), status: [200]),
        Case(id: "A03", summary: "LiteLLM thinking_blocks", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好","thinking_blocks":[{"type":"thinking","thinking":"\#(answerText)"}]}"#), status: [502]),
        Case(id: "A04", summary: "citation title in annotations", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好","annotations":[{"type":"url_citation","url_citation":{"title":"\#(answerText)","url":"https://x.example"}}]}"#), status: [200]),
        Case(id: "A05", summary: "phone in a citation URL", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好","annotations":[{"type":"url_citation","url_citation":{"title":"t","url":"https://x.example/?p=\#(phone)"}}]}"#), status: [200]),
        Case(id: "A06", summary: "a delta inside a whole answer", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好"}"#, choiceExtra: #","delta":{"content":"\#(answerText)"}"#), status: [502]),
        Case(id: "A07", summary: "the model's name", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"id":"c1","object":"chat.completion","created":1,"model":"\#(promise)","choices":[{"index":0,"message":{"role":"assistant","content":"好"},"finish_reason":"stop"}]}"#), status: [200]),
        Case(id: "A08", summary: "an unknown top-level member", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好"}"#, extra: #","note":"\#(answerText)""#), status: [200]),
        Case(id: "A09", summary: "finish_reason text", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"好"},"finish_reason":"\#(promise)"}]}"#), status: [200]),
        Case(id: "A10", summary: "message name", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","name":"\#(promise)","content":"好"}"#), status: [200]),
        Case(id: "A11", summary: "token ids beside the text", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好"}"#, choiceExtra: #","token_ids":[1,2,3]"#), status: [502]),
        Case(id: "A12", summary: "reasoning_details object", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好","reasoning_details":[{"text":"\#(answerText)"}]}"#), status: [502]),
        Case(id: "A13", summary: "a model server error echoing the promise", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"error":{"message":"\#(answerText)"}}"#, status: 500), status: [502]),
        Case(id: "A14", summary: "a model server error echoing a phone number", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"error":{"message":"bad number \#(phone)"}}"#, status: 400), status: [502]),
        Case(id: "A15", summary: "tool-call id", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":null,"tool_calls":[{"id":"\#(promise)","type":"function","function":{"name":"f","arguments":"{}"}}]}"#), status: [200]),
        Case(id: "A16", summary: "content as parts", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":[{"type":"text","text":"\#(answerText)"}]}"#), status: [502]),
        Case(id: "A17", summary: "function object with an extra text member", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}","description":"\#(answerText)"}}]}"#), status: [502]),
        Case(id: "A18", summary: "system_fingerprint", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好"}"#, extra: #","system_fingerprint":"\#(promise)""#), status: [200]),
        Case(id: "A19", summary: "promise in a key", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好"}"#, extra: #","usage":{"\#(promise)":1}"#), status: [200]),
        Case(id: "A21", summary: "a response header carrying the promise", send: .post("/v1/chat/completions", clean),
             answer: .json(chatAnswer("好"), headers: [("x-note", promise)]), status: [200]),
        Case(id: "A22", summary: "log probabilities nobody asked for spelling the promise", send: .post("/v1/chat/completions", clean),
             answer: answer(#"{"role":"assistant","content":"好"}"#, choiceExtra: #","logprobs":{"content":[{"token":"稳赚","logprob":0},{"token":"不赔","logprob":0}]}"#), status: [502]),
        Case(id: "A23", summary: "an error body with the promise as JSON escapes", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"error":{"message":"\u7a33\u8d5a\u4e0d\u8d54"}}"#, status: 500), status: [502]),
        Case(id: "A24", summary: "an embeddings answer carrying the promise", send: .post("/v1/embeddings", #"{"model":"e","input":"hi"}"#),
             answer: .json(#"{"object":"list","model":"\u7a33\u8d5a\u4e0d\u8d54","data":[{"object":"embedding","index":0,"embedding":[0.1]}]}"#), status: [502]),
        Case(id: "A25", summary: "near miss: an answer id that looks like a phone number", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"id":"demo-2345678901","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"好的"},"finish_reason":"stop"}]}"#), status: [200], clientGets: "好的"),
        Case(id: "A26", summary: "the promise in an answer id", send: .post("/v1/chat/completions", clean),
             answer: .json(#"{"id":"\#(promise)","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"好的"},"finish_reason":"stop"}]}"#), status: [200]),
        Case(id: "A27", summary: "an SSE error stream with the promise as JSON escapes", send: .post("/v1/chat/completions", cleanStream),
             answer: .json("data: {\"error\":{\"message\":\"\\u7a33\\u8d5a\\u4e0d\\u8d54\"}}\n\n", status: 500, headers: [("content-type", "text/event-stream")]), status: [502]),
        Case(id: "A28", summary: "a member name starting with U+FEFF (Foundation drops it)", send: .post("/v1/chat/completions", clean),
             answer: .json("{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"好\"},\"finish_reason\":\"stop\",\"\u{FEFF}message\":{\"content\":\"\(answerText)\"}}]}"), status: [502]),
        Case(id: "A20", summary: "compressed error body", send: .post("/v1/chat/completions", clean),
             answer: .encoded("\u{1F}\u{8B}binary", encoding: "gzip"), status: [502]),
    ]

    static let streams: [Case] = [
        Case(id: "R01", summary: "tool name split across chunks", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"role":"assistant","tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"稳赚","arguments":""}}]}"#),
                             delta(#"{"tool_calls":[{"index":0,"function":{"name":"不赔","arguments":"{}"}}]}"#),
                             delta("{}", finish: #""tool_calls""#)]), status: [200]),
        Case(id: "R02", summary: "a message inside a chunk", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"message":{"content":"\#(answerText)"},"finish_reason":null}]}"#]), status: [200]),
        Case(id: "R03", summary: "an error object mid-stream", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"好"}"#), #"{"error":{"message":"\#(answerText)"}}"#]), status: [200]),
        Case(id: "R04", summary: "the model's name in a chunk", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"\#(promise)","choices":[{"index":0,"delta":{"content":"好"},"finish_reason":null}]}"#]), status: [200]),
        Case(id: "R05", summary: "annotations in a delta", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"好","annotations":[{"type":"url_citation","url_citation":{"title":"\#(answerText)"}}]}"#)]), status: [200]),
        Case(id: "R06", summary: "thinking_blocks in a delta", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"thinking_blocks":[{"thinking":"稳赚"}]}"#), delta(#"{"thinking_blocks":[{"thinking":"不赔"}]}"#)]), status: [200]),
        Case(id: "R07", summary: "promise split across content deltas", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"这款产品稳"}"#), delta(#"{"content":"赚不赔。"}"#)]), status: [200]),
        Case(id: "R08", summary: "phone split across content deltas", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"电话13812"}"#), delta(#"{"content":"345678。"}"#)]), status: [200]),
        Case(id: "R09", summary: "tool arguments escaped", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":\"\\u7a33\\u8d5a"}}]}"#),
                             delta(#"{"tool_calls":[{"index":0,"function":{"arguments":"\\u4e0d\\u8d54\"}"}}]}"#)]), status: [200]),
        Case(id: "R10", summary: "finish reason text", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"好"}"#, finish: #""\#(promise)""#)]), status: [200]),
        Case(id: "R11", summary: "text after the choice's finish", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"好"}"#, finish: #""stop""#), delta(#"{"content":"\#(answerText)"}"#)]), status: [200]),
        Case(id: "R13", summary: "log probabilities in a chunk nobody asked for", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([delta(#"{"content":"好"}"#, extra: ""), #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":{"content":[{"token":"稳赚不赔","logprob":0}]},"finish_reason":null}]}"#]), status: [200]),
        Case(id: "R12", summary: "a choice index beyond the limit", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":99,"delta":{"content":"\#(answerText)"},"finish_reason":null}]}"#]), status: [200]),
    ]

    static let framing: [Case] = [
        Case(id: "F01", summary: "BOM before the first field", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["\u{FEFF}data: " + delta(#"{"content":"\#(answerText)"}"#) + "\n\n", "data: [DONE]\n\n"], raw: true), status: [200]),
        Case(id: "F02", summary: "field name in other case", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["Data: " + delta(#"{"content":"\#(answerText)"}"#) + "\n\n", "data: [DONE]\n\n"], raw: true), status: [200]),
        Case(id: "F03", summary: "upper-case field name", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["DATA:" + delta(#"{"content":"\#(answerText)"}"#) + "\n\n"], raw: true), status: [200]),
        Case(id: "F04", summary: "a JSON answer under text/event-stream", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"\#(answerText)"},"finish_reason":"stop"}]}"#], raw: true), status: [200]),
        Case(id: "F05", summary: "a comment carrying the promise", send: .post("/v1/chat/completions", cleanStream),
             answer: stream([": \(answerText)\n\n", "data: " + delta(#"{"content":"好"}"#) + "\n\n", "data: [DONE]\n\n"], raw: true), status: [200]),
        Case(id: "F06", summary: "an event name carrying the promise", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["event: \(promise)\ndata: " + delta(#"{"content":"好"}"#) + "\n\n"], raw: true), status: [200]),
        Case(id: "F07", summary: "an id carrying the promise", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["id: \(promise)\ndata: " + delta(#"{"content":"好"}"#) + "\n\n"], raw: true), status: [200]),
        Case(id: "F08", summary: "a line without a colon", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["\(answerText)\n\n"], raw: true), status: [200]),
        Case(id: "F09", summary: "CR line endings", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["data: " + delta(#"{"content":"\#(answerText)"}"#) + "\r\r", "data: [DONE]\r\r"], raw: true), status: [200]),
        Case(id: "F10", summary: "a retry that is not a number", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["retry: \(promise)\n\n", "data: " + delta(#"{"content":"好"}"#) + "\n\n"], raw: true), status: [200]),
        Case(id: "F11", summary: "data split over two data lines", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["data: " + #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"#
                             + "\ndata: " + #""delta":{"content":"\#(answerText)"},"finish_reason":null}]}"# + "\n\n"], raw: true), status: [200]),
        Case(id: "F12", summary: "two BOMs", send: .post("/v1/chat/completions", cleanStream),
             answer: stream(["\u{FEFF}\u{FEFF}data: " + delta(#"{"content":"\#(answerText)"}"#) + "\n\n"], raw: true), status: [200]),
    ]

    static let all = targets + paths + structure + answers + streams + framing

    // MARK: Running

    /// Every case of one group through one Menshen.
    func run(_ cases: [Case], configure: @escaping (inout SidecarConfiguration) -> Void = { _ in }) async throws {
        let h = try await SidecarHarness.start(configure: configure)
        defer { Task { await h.stop() } }
        for c in cases {
            h.upstream.script(c.answer)
            let before = h.upstream.received.count
            let status: Int, body: String
            switch c.send {
            case .post(let path, let json):
                let reply = try await h.post(path, Array(json.utf8))
                (status, body) = (reply.status, reply.text)
            case .get(let path, let query):
                let reply = try await h.get(path + query)
                (status, body) = (reply.status, reply.text)
            case .raw(let line, let json):
                let reply = try await Task.detached { try RawHTTP.exchange(port: h.port, head: line, body: Array(json.utf8)) }.value
                (status, body) = (reply.status, reply.text)
                // NIO frames every answer to CONNECT without a body (RFC 9112 §6.3 for a 2xx);
                // the 405 is complete because Menshen closes the connection after it.
                if c.status == [405] { #expect(reply.text.lowercased().contains("connection: close"), "\(c.id): the answer ends the connection") }
            }
            #expect(c.status.contains(status), "\(c.id) \(c.summary): status \(status), body \(body.prefix(300))")
            let received = h.upstream.received.dropFirst(before)
            if c.upstreamGetsNothing { #expect(received.isEmpty, "\(c.id) \(c.summary): the upstream got \(received.count) request(s)") }
            for r in received {
                let sent = String(decoding: r.body, as: UTF8.self) + r.path
                #expect(!Self.reveals(sent, Self.phone), "\(c.id) \(c.summary): the raw phone number reached the upstream")
            }
            if let expected = c.upstreamGets, status == 200 {
                #expect(received.contains { String(decoding: $0.body, as: UTF8.self).contains(expected) }, "\(c.id) \(c.summary): the upstream did not get \(expected)")
            }
            if let expected = c.clientGets { #expect(body.contains(expected), "\(c.id) \(c.summary): the client did not get \(expected)") }
            for needle in [Self.promise, Self.phone] {
                #expect(!Self.reveals(body, needle), "\(c.id) \(c.summary): the client got \(needle)")
            }
        }
    }

    /// Whether `text` shows `needle` as a client would read it: in the raw bytes, or in the
    /// JSON strings of the body or its SSE events, decoded, with each member's pieces joined
    /// across events (as SDKs accumulate streamed deltas).
    static func reveals(_ text: String, _ needle: String) -> Bool {
        if text.contains(needle) { return true }
        var joined: [String: String] = [:]
        var payloads: [String] = [text]
        if let split = text.range(of: "\r\n\r\n") { payloads = [String(text[split.upperBound...])] }
        payloads += text.components(separatedBy: "\n").compactMap { line in
            let l = line.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            guard let colon = l.firstIndex(of: ":") else { return nil }
            return String(l[l.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        for payload in payloads {
            guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8), options: [.fragmentsAllowed]) else { continue }
            accumulate(object, path: "", into: &joined)
        }
        return joined.values.contains { $0.contains(needle) } || joined.keys.contains { $0.contains(needle) }
    }

    private static func accumulate(_ value: Any, path: String, into joined: inout [String: String]) {
        switch value {
        case let s as String: joined[path, default: ""] += s
        case let a as [Any]:
            for (i, e) in a.enumerated() {
                // Stream deltas name their item by `index`, not by their place in the array.
                let key = ((e as? [String: Any])?["index"] as? Int).map(String.init) ?? String(i)
                accumulate(e, path: path + "[" + key + "]", into: &joined)
            }
        case let o as [String: Any]:
            for (k, v) in o { accumulate(v, path: path + "." + k, into: &joined) }
        default: break
        }
    }

    @Test func targetsAreReadOnce() async throws { try await run(Self.targets) }
    @Test func pathsAreDeniedByDefault() async throws { try await run(Self.paths) }
    @Test func textOutsideStringValuesIsScreened() async throws { try await run(Self.structure) }
    @Test func everyAnswerStringIsScreened() async throws { try await run(Self.answers) }
    @Test func everyStreamedStringIsScreened() async throws { try await run(Self.streams) }
    @Test func sseFramingFailsClosed() async throws { try await run(Self.framing) }

    @Test func theCatalogueIsDocumented() throws {
        let doc = try String(contentsOfFile: repositoryRoot + "/docs/hostile-catalogue.md", encoding: .utf8)
        for c in Self.all { #expect(doc.contains("| \(c.id) |"), "docs/hostile-catalogue.md lacks \(c.id)") }
        #expect(Set(Self.all.map(\.id)).count == Self.all.count, "case ids are unique")
    }
}

