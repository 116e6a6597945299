#!/usr/bin/env python3
"""A stand-in for a streaming LLM server (vLLM's OpenAI-compatible SSE framing), for the
proxy benchmark (Benchmarks/proxy/run.sh).

Every POST (any path) is answered with `text/event-stream`, HTTP/1.1 chunked, keep-alive:

    data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":…,"model":…,
           "choices":[{"index":0,"delta":{"role":"assistant","content":""},…}],"bench":{…}}\n\n
    … DELTAS chunks, each with 1–3 characters of clean Chinese/English text in delta.content …
    data: {… "choices":[{"index":0,"delta":{},"finish_reason":"stop"}], "bench":{"done":…}}\n\n
    data: [DONE]\n\n

with a fixed GAP_MS sleep between deltas. Each chunk carries an extra top-level key
`"bench": {"i": <delta number>, "t": <time.time_ns() just before the write>, "end": <length of
the answer so far, in code points>}` so a client on the same machine can tell, per delta, how
long it took from the upstream's write to its own read, even when a proxy re-cuts the text
(Menshen keeps unknown top-level keys of a chunk). The final chunk's `bench` has
`{"done": true, "chars": N, "sha256": …}` of the whole answer text, so the client can check
that the proxy delivered it unchanged. The answer text is the same for every request
(deterministic: --seed).

GET (any path) answers 200 `{"status":"ok"}` (readiness probe). Nothing is recorded or logged.
Standard library only; loopback by default.

    python3 stream_upstream.py [--host 127.0.0.1] [--port 18083] [--deltas 500] [--gap-ms 2]
    python3 stream_upstream.py --print-text      # the answer text, to check it with `menshen check`
"""

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time

# Clean text (no lexicon term, no PII, nothing that looks like a secret): what a bank's or an
# operations team's assistant says every day. Mixed Chinese / English, full-width punctuation.
SENTENCES = [
    "好的，下面是关于如何在生产环境中部署大语言模型的简要说明。",
    "首先，根据峰值并发和平均输出长度估算所需的显卡数量，并预留一定的余量。",
    "Then measure the latency of the first token and of the whole answer under realistic load.",
    "其次，在模型输出返回给用户之前，对内容进行检查，必要时进行替换或拦截。",
    "Keep the configuration in version control and review every change before it goes live.",
    "第三，记录请求的延迟分布和错误率，并为异常情况设置告警。",
    "If a node fails, the load balancer should stop sending traffic to it within a few seconds.",
    "日志中不要保存用户的原始输入，只保留必要的统计信息。",
    "A short checklist helps: capacity, safety, monitoring, rollback, and documentation.",
    "上线之前，请在预发布环境中完整地演练一次回滚流程。",
    "The weather today is mild, so the team decided to walk to the lunch place nearby.",
    "如果还有其他问题，欢迎随时告诉我，我会尽量给出清楚的解释。",
]


def answer_pieces(deltas, seed):
    """`deltas` pieces of 1–3 characters cut from SENTENCES (repeated as needed)."""
    rng = random.Random(seed)
    text = ""
    i = 0
    while len(text) < 3 * deltas + 3:
        text += SENTENCES[i % len(SENTENCES)]
        i += 1
    pieces, pos = [], 0
    for _ in range(deltas):
        n = rng.randint(1, 3)
        pieces.append(text[pos:pos + n])
        pos += n
    return pieces


def chunk(obj):
    data = "data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n\n"
    raw = data.encode("utf-8")
    return b"%x\r\n%s\r\n" % (len(raw), raw)


class Upstream:
    def __init__(self, deltas, gap_ms, seed, model):
        self.pieces = answer_pieces(deltas, seed)
        self.text = "".join(self.pieces)
        self.sha = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        self.gap = gap_ms / 1000.0
        self.model = model
        self.counter = 0

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method = lines[0].split(" ", 1)[0].upper()
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                # Read (and ignore) the request body.
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                        await reader.readexactly(size + 2)
                        if size == 0:
                            break
                else:
                    n = int(headers.get("content-length", "0") or 0)
                    if n:
                        await reader.readexactly(n)
                close = headers.get("connection", "").lower() == "close"
                if method == "POST":
                    await self.stream(writer)
                else:
                    body = b'{"status":"ok"}'
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
                    await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def stream(self, writer):
        self.counter += 1
        cid = "chatcmpl-bench%08d" % self.counter
        created = int(time.time())
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                     b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")

        def base(delta, finish=None):
            return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": self.model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        first = base({"role": "assistant", "content": ""})
        first["bench"] = {"i": -1, "t": time.time_ns(), "end": 0}
        writer.write(chunk(first))
        await writer.drain()
        end = 0
        for i, piece in enumerate(self.pieces):
            await asyncio.sleep(self.gap)
            end += len(piece)
            c = base({"content": piece})
            c["bench"] = {"i": i, "t": 0, "end": end}
            c["bench"]["t"] = time.time_ns()
            writer.write(chunk(c))
            await writer.drain()
        await asyncio.sleep(self.gap)
        last = base({}, "stop")
        last["bench"] = {"done": True, "chars": len(self.text), "sha256": self.sha, "t": time.time_ns()}
        writer.write(chunk(last))
        done = b"data: [DONE]\n\n"
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
        await writer.drain()


async def main_async(args):
    up = Upstream(args.deltas, args.gap_ms, args.seed, args.model)
    server = await asyncio.start_server(up.handle, args.host, args.port, backlog=1024)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18083)
    ap.add_argument("--deltas", type=int, default=500, help="content deltas per answer (default 500)")
    ap.add_argument("--gap-ms", type=float, default=2.0, help="sleep between deltas, ms (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default="bench-stream-model")
    ap.add_argument("--print-text", action="store_true", help="print the answer text and exit")
    args = ap.parse_args()
    if not 1 <= args.deltas <= 100000 or not 0 <= args.gap_ms <= 1000:
        sys.exit("stream_upstream.py: --deltas 1..100000, --gap-ms 0..1000")
    if args.print_text:
        sys.stdout.write("".join(answer_pieces(args.deltas, args.seed)) + "\n")
        return
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
