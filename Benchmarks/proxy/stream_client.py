#!/usr/bin/env python3
"""Streamed-answer client for the proxy benchmark (Benchmarks/proxy/run.sh).

POSTs a chat request with "stream": true to URL, REQUESTS times (CONCURRENCY at once, one new
connection per request), reads the SSE answer of stream_upstream.py — directly or through a
proxy — and measures per request:

  ttft    request written → first read that carries non-empty delta.content
  total   request written → `data: [DONE]` read
  delay   per upstream delta: upstream's write (time.time_ns() in the chunk's `bench.t`) → the
          client's read that completes that delta's text (the answer's running length reaches
          the delta's `bench.end`). A proxy that holds text back and releases it with a later
          chunk shows up here as a longer delay; `held` counts the deltas whose text did not
          arrive in the same event as their own chunk (`held_lag_events`: how many events
          later it came).

Both sides run on one machine, so time.time_ns() is one clock. Reads are timestamped as soon
as recv returns, before parsing. The upstream's text must arrive unchanged (checked against the
final chunk's sha256; text a proxy adds before or after it, such as Menshen's AIGC label, is
reported as `added_text`), with HTTP 200 and a `[DONE]`; anything else counts as an error.

    python3 stream_client.py URL [--requests 10] [--concurrency 1] [--label menshen]
                                 [--json out.json] [--timeout 60]

Prints one summary line; --json writes every request's figures (delays in µs). Exit 1 if any
request failed. Standard library only.
"""

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import time
import urllib.parse

PROMPT = {
    "model": "bench-stream-model",
    "stream": True,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant. 请用中文回答，必要时附上英文说明。"},
        {"role": "user", "content": "请简要说明如何在生产环境中部署大语言模型，包括容量规划、内容检查和监控。Please keep it practical."},
    ],
}


class Response:
    """Incremental HTTP/1.1 response parser (head, then chunked / length / close-delimited body),
    feeding the body into an SSE splitter. `feed` returns the complete SSE events' data strings."""

    def __init__(self):
        self.buf = b""
        self.status = None
        self.headers = {}
        self.mode = None          # "chunked", "length", "close"
        self.remaining = 0
        self.data_left = 0      # chunked: data bytes left in the current chunk
        self.crlf_left = 0      # chunked: bytes of the CRLF after the chunk's data left to skip
        self.body_done = False
        self.sse = b""

    def feed(self, data):
        self.buf += data
        body = b""
        if self.status is None:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return []
            head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4:]
            lines = head.split("\r\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                self.mode = "chunked"
            elif "content-length" in self.headers:
                self.mode, self.remaining = "length", int(self.headers["content-length"])
            else:
                self.mode = "close"
        if self.mode == "chunked":
            while not self.body_done:
                if self.data_left:
                    take = self.buf[:self.data_left]
                    self.buf = self.buf[len(take):]
                    self.data_left -= len(take)
                    body += take
                    if self.data_left:
                        break
                    self.crlf_left = 2
                if self.crlf_left:
                    skip = min(self.crlf_left, len(self.buf))
                    self.buf = self.buf[skip:]
                    self.crlf_left -= skip
                    if self.crlf_left:
                        break
                i = self.buf.find(b"\r\n")
                if i < 0:
                    break
                size = int(self.buf[:i].split(b";")[0].strip() or b"0", 16)
                self.buf = self.buf[i + 2:]
                if size == 0:
                    self.body_done = True
                    break
                self.data_left = size
        elif self.mode == "length":
            take = self.buf[:self.remaining]
            self.buf = self.buf[len(take):]
            self.remaining -= len(take)
            body = take
            self.body_done = self.remaining == 0
        else:
            body, self.buf = self.buf, b""
        return self._events(body)

    def _events(self, body):
        self.sse += body
        out = []
        while True:
            cut = [(i, n) for i, n in ((self.sse.find(b"\n\n"), 2), (self.sse.find(b"\r\n\r\n"), 4)) if i >= 0]
            if not cut:
                return out
            i, n = min(cut)
            raw, self.sse = self.sse[:i], self.sse[i + n:]
            data = [line[5:].lstrip(b" ") for line in raw.replace(b"\r\n", b"\n").split(b"\n") if line.startswith(b"data:")]
            if data:
                out.append(b"\n".join(data).decode("utf-8"))


async def one_request(host, port, path, body, timeout):
    r = {"ok": False, "error": None}
    reader = writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        req = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, host, port, len(body))).encode("latin-1") + body
        t0 = time.time_ns()
        writer.write(req)
        resp = Response()
        text = []
        chars = 0
        sends = {}              # delta number → (upstream write time, running end, event index)
        arrivals = []           # (read time, running length after the event, event index) for content events
        ttft = done_t = final = None
        events = 0
        deadline = time.monotonic() + timeout
        while done_t is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError()
            data = await asyncio.wait_for(reader.read(65536), left)
            t = time.time_ns()
            if not data:
                break
            for ev in resp.feed(data):
                events += 1
                if ev.strip() == "[DONE]":
                    done_t = t
                    continue
                obj = json.loads(ev)
                bench = obj.get("bench") or {}
                content = ""
                for ch in obj.get("choices") or []:
                    content += (ch.get("delta") or {}).get("content") or ""
                if content:
                    text.append(content)
                    chars += len(content)
                    arrivals.append((t, chars, events))
                    if ttft is None:
                        ttft = t - t0
                if "i" in bench and bench["i"] >= 0:
                    sends[bench["i"]] = (bench["t"], bench["end"], events)
                if bench.get("done"):
                    final = bench
            if resp.status is not None and resp.status != 200:
                r["error"] = "HTTP %d" % resp.status
                return r
        if resp.status != 200:
            r["error"] = "HTTP %s" % resp.status
            return r
        full = "".join(text)
        # The upstream's text must arrive unchanged; a proxy may add text before or after it
        # (Menshen's explicit AIGC label, by default at the end): find it, measure from there.
        shift, intact = 0, False
        if final is not None:
            n = final.get("chars", 0)
            for off in sorted({0, max(0, len(full) - n)}):
                if hashlib.sha256(full[off:off + n].encode("utf-8")).hexdigest() == final.get("sha256"):
                    shift, intact = off, True
                    break
        added = full[:shift] + full[shift + (final or {}).get("chars", 0):] if intact else ""
        delays, held, lags, own_delays = [], 0, [], []
        j = 0
        for i in sorted(sends):
            ts, end, own = sends[i]
            while j < len(arrivals) and arrivals[j][1] < end + shift:
                j += 1
            if j == len(arrivals):
                break
            delays.append((arrivals[j][0] - ts) / 1000.0)
            if arrivals[j][2] != own:
                held += 1
                lags.append(arrivals[j][2] - own)     # how many events later its text came
            else:
                own_delays.append((arrivals[j][0] - ts) / 1000.0)
        r.update({"ttft_us": ttft / 1000.0 if ttft is not None else None,
                  "total_us": (done_t - t0) / 1000.0 if done_t else None,
                  "deltas": len(delays), "chunks_with_timestamp": len(sends), "held": held,
                  "events": events, "chars": chars, "delays_us": [round(d, 1) for d in delays],
                  "held_lag_events": lags, "own_delays_us": [round(d, 1) for d in own_delays],
                  "added_text": added[:300], "added_before": shift})
        problems = []
        if done_t is None:
            problems.append("no [DONE]")
        if final is None:
            problems.append("no final chunk with bench.done")
        elif not intact:
            problems.append("answer text changed (%d chars received, %s sent)" % (chars, final.get("chars")))
        if final is not None and len(delays) != len(sends):
            problems.append("%d of %d deltas never completed" % (len(sends) - len(delays), len(sends)))
        r["error"] = "; ".join(problems) or None
        r["ok"] = not problems
        r["headers"] = resp.headers
        return r
    except (asyncio.TimeoutError, TimeoutError):
        r["error"] = "timeout after %.0f s" % timeout
        return r
    except (OSError, ValueError, KeyError, TypeError) as e:
        r["error"] = "%s: %s" % (type(e).__name__, e)
        return r
    finally:
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


async def run(args):
    u = urllib.parse.urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    body = json.dumps(PROMPT, ensure_ascii=False).encode("utf-8")
    results = []
    queue = list(range(args.requests))

    async def worker():
        while queue:
            queue.pop()
            results.append(await one_request(host, port, path, body, args.timeout))

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(min(args.concurrency, args.requests))))
    return results, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="per request, seconds (default 60)")
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args()
    if not 1 <= args.requests <= 100000 or not 1 <= args.concurrency <= 1000:
        sys.exit("stream_client.py: --requests 1..100000, --concurrency 1..1000")
    results, wall = asyncio.run(run(args))
    ok = [r for r in results if r["ok"]]
    delays = [d for r in ok for d in r["delays_us"]]
    ttft = [r["ttft_us"] for r in ok if r["ttft_us"] is not None]
    total = [r["total_us"] for r in ok if r["total_us"] is not None]
    held = sum(r["held"] for r in ok)
    n = sum(r["deltas"] for r in ok)
    errors = [r["error"] for r in results if not r["ok"]]
    line = ("%s%d/%d ok, c=%d: delta delay p50 %s p99 %s max %s µs, held %d/%d; ttft p50 %s µs; total p50 %s ms"
            % (args.label + ": " if args.label else "", len(ok), len(results), args.concurrency,
               "%.0f" % pct(delays, 50) if delays else "–", "%.0f" % pct(delays, 99) if delays else "–",
               "%.0f" % max(delays) if delays else "–", held, n,
               "%.0f" % statistics.median(ttft) if ttft else "–", "%.1f" % (statistics.median(total) / 1000) if total else "–"))
    if errors:
        line += "; errors: %s" % "; ".join(sorted(set(e or "?" for e in errors)))[:500]
    print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"label": args.label, "url": args.url, "requests": args.requests, "concurrency": args.concurrency,
                       "wall_s": wall, "results": results}, f)
    sys.exit(0 if not errors else 1)


if __name__ == "__main__":
    main()
