#!/usr/bin/env python3
"""Writes the proxy section of BENCHMARKS.md from one Benchmarks/proxy/run.sh run.

Usage:  python3 Benchmarks/proxy/report.py [RUN_DIR] [--output BENCHMARKS.md] [--stdout]

RUN_DIR (default bench-out/proxy-latest) holds what run.sh wrote:
  raw/wrk_c<conns>_<target>_r<round>.txt      wrk --latency output (non-streamed, ~4 KB POST)
  raw/h2load_c<conns>_<target>_r<round>.txt   h2load --h1 output (same request)
  raw/stream_c<conc>_<target>_r<round>.json   stream_client.py figures (streamed answer)
  raw/floor_c64_<target>_r<round>.txt         wrk --latency output (GET /v1/models, unscreened)
  metrics-menshen.txt   Menshen's /metrics after the run (menshen_scan_seconds)
  cpu.tsv     CPU ticks of the proxy and the upstream process during each cell
  load.tsv    `uptime` before every cell
  rss.tsv     servers' resident memory after the run
  sanity.txt, headers-<target>.txt, answer-<target>.json   the checks before measuring
  run.env     options, commit, versions

Targets: direct (the upstream itself), nginx (proxy_pass, keep-alive upstream), menshen.
Only the part of BENCHMARKS.md between `<!-- proxy:begin -->` and `<!-- proxy:end -->` is
rewritten (appended if missing). Every missed goal gets a "Why:" block between
`<!-- why:<goal-id>:begin -->` / `<!-- why:<goal-id>:end -->`; what engineers write there is
kept when the section is regenerated (moved to "Notes kept from earlier runs" if the goal is
met now or was not measured). Goal ids: proxy-p99-c64, proxy-throughput-c64,
proxy-throughput-c4, proxy-stream-c1.

Only the Python standard library is used.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from reportlib import WHY_RE, cpu_model, existing_whys, mem_total_gib, read_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BEGIN, END = "<!-- proxy:begin -->", "<!-- proxy:end -->"
WHY_PLACEHOLDER = ("_Not explained yet. Engineers: replace this line with the reason (and the plan); "
                   "`Benchmarks/proxy/report.py` keeps whatever is written between these two markers._")
TARGETS = ["direct", "nginx", "menshen"]
LABEL = {"direct": "direct (no proxy)", "nginx": "nginx `proxy_pass`", "menshen": "**Menshen**"}
UNIT_US = {"us": 1.0, "ms": 1000.0, "s": 1e6}


# ----------------------------------------------------------------------------- parsing

def to_us(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return None
    if m.group(2) == "m":
        return float(m.group(1)) * 60e6
    return float(m.group(1)) * UNIT_US[m.group(2)]


def parse_wrk(text):
    r = {}
    for p in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s(?:\.0+)?%%\s+(\S+)" % p, text, re.M)
        r["p%s" % p] = to_us(m.group(1)) if m else None
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        return None
    r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    r["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"), m.groups())} if m else {}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    return r


def parse_h2load(text):
    m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", text)
    if not m:
        return None
    r = {"rps": float(m.group(1))}
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        r.update(zip(("requests", "done", "succeeded", "failed", "errored", "timeout"), map(int, m.groups())))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        r["non2xx"] = sum(int(x) for x in m.groups()[1:])
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text)
    if m:
        r["min"], r["max"], r["mean"], r["sd"] = (to_us(x) for x in m.groups())
    return r


def read_load(path):
    rows = []
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            m = re.search(r"load averages?:\s*([\d.,]+)[,\s]+([\d.,]+)[,\s]+([\d.,]+)", parts[2])
            la = tuple(float(x.replace(",", ".").rstrip(".")) for x in m.groups()) if m else None
            rows.append((parts[0], parts[1], la))
    return rows


def load_cells(run_dir):
    """{(tool, conns, target, round): parsed} for wrk and h2load."""
    cells = {}
    for path in glob.glob(os.path.join(run_dir, "raw", "*.txt")):
        m = re.match(r"(wrk|h2load|floor|self)_c(\d+)_(\w+)_r(\d+)\.txt$", os.path.basename(path))
        if not m:
            continue
        tool, c, target, r = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        text = open(path, encoding="utf-8", errors="replace").read()
        parsed = parse_h2load(text) if tool == "h2load" else parse_wrk(text)
        cells[(tool, c, target, r)] = parsed if parsed else {"failed_to_parse": text.strip()[-300:]}
    return cells


def load_streams(run_dir):
    """{(conc, target, round): stream_client.py JSON}."""
    out = {}
    for path in glob.glob(os.path.join(run_dir, "raw", "stream_c*_*_r*.json")):
        m = re.match(r"stream_c(\d+)_(\w+)_r(\d+)\.json$", os.path.basename(path))
        if m:
            out[(int(m.group(1)), m.group(2), int(m.group(3)))] = json.load(open(path, encoding="utf-8"))
    return out


def load_scan_times(run_dir):
    """{direction: (mean µs, count)} from Menshen's menshen_scan_seconds histogram."""
    path = os.path.join(run_dir, "metrics-menshen.txt")
    if not os.path.exists(path):
        return {}
    sums, counts = {}, {}
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r'menshen_scan_seconds_(sum|count)\{direction="(\w+)"\}\s+([0-9.eE+-]+)', line)
        if m:
            (sums if m.group(1) == "sum" else counts)[m.group(2)] = float(m.group(3))
    return {d: (sums[d] / counts[d] * 1e6, int(counts[d])) for d in counts if counts[d] and d in sums}


def load_cpu(run_dir):
    cpu = {}
    path = os.path.join(run_dir, "cpu.tsv")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8").read().splitlines()[1:]:
            f = line.split("\t")
            if len(f) >= 7:
                hz = float(f[6]) or 100.0
                cpu[(f[0], int(f[1]), f[2], int(f[3]))] = (int(f[4]) / hz, int(f[5]) / hz)
    return cpu


# ----------------------------------------------------------------------------- numbers

def proxy_cpu_per_request(cells, cpu, tool, c, target, rounds):
    """The proxy process's CPU µs per request in each round of a cell (none for direct)."""
    out = []
    for r in rounds:
        x = cells.get((tool, c, target, r)) or {}
        cc = cpu.get((tool, c, target, r))
        if target != "direct" and cc and x.get("requests"):
            out.append(cc[0] / x["requests"] * 1e6)
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def ms(us, digits=None):
    if us is None:
        return "–"
    v = us / 1000.0
    if digits is not None:
        return "%.*f" % (digits, v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def signed_ms(us):
    return "–" if us is None else ("+" if us >= 0 else "−") + ms(abs(us))


def num(x):
    return "–" if x is None else "{:,.0f}".format(x)


def spread(xs, f):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    if len(xs) == 1:
        return f(xs[0])
    return "%s (%s–%s)" % (f(med(xs)), f(min(xs)), f(max(xs)))


# ----------------------------------------------------------------------------- machine

def shown(path):
    """A path relative to the repository when it is inside it, else absolute."""
    p = os.path.realpath(path) if path else ""
    rel = os.path.relpath(p, ROOT) if p else "?"
    return p if rel.startswith("..") else rel


# ----------------------------------------------------------------------------- goals

class Goal:
    def __init__(self, gid, text, measured, value, target, kind):
        self.id, self.text, self.measured, self.value, self.target, self.kind = gid, text, measured, value, target, kind

    @property
    def status(self):
        if self.value is None:
            return "not measured"
        ok = self.value >= self.target if self.kind == "ratio" else self.value <= self.target
        return "met" if ok else "missed"

    def margin(self):
        v, t = self.value, self.target
        if v is None:
            return ""
        if self.kind == "ratio":
            return ("%.0f %% of nginx, %.0f points %s the %.0f %% asked"
                    % (v * 100, abs(v - t) * 100, "above" if v >= t else "short of", t * 100))
        d = v - t
        return ("%s ms within the %s ms allowed" % (ms(-d * 1000), ms(t * 1000)) if d <= 0
                else "%s ms over the %s ms allowed" % (ms(d * 1000), ms(t * 1000)))


def per_round(cells, tool, c, metric, rounds):
    """{round: {target: value}} for rounds where all three targets have the metric."""
    out = {}
    for r in rounds:
        vals = {t: (cells.get((tool, c, t, r)) or {}).get(metric) for t in TARGETS}
        if all(v is not None for v in vals.values()):
            out[r] = vals
    return out


def stream_round_stats(streams, conc, target, r):
    d = streams.get((conc, target, r))
    if not d:
        return None
    ok = [x for x in d["results"] if x.get("ok")]
    delays = [v for x in ok for v in x["delays_us"]]
    return {"delays": delays, "ttft": [x["ttft_us"] for x in ok if x.get("ttft_us") is not None],
            "total": [x["total_us"] for x in ok if x.get("total_us") is not None],
            "held": sum(x["held"] for x in ok), "deltas": sum(x["deltas"] for x in ok),
            "lags": [v for x in ok for v in x.get("held_lag_events", [])],
            "own": [v for x in ok for v in x.get("own_delays_us", [])],
            "ok": len(ok), "requests": len(d["results"]),
            "errors": sorted({x.get("error") or "?" for x in d["results"] if not x.get("ok")})}


def build_goals(cells, streams, rounds, conns, sconcs):
    goals = []
    # 1. added p99 at 64 connections
    pr = per_round(cells, "wrk", 64, "p99", rounds) if 64 in conns else {}
    if pr:
        am = [v["menshen"] - v["direct"] for v in pr.values()]
        an = [v["nginx"] - v["direct"] for v in pr.values()]
        diff = [m - n for m, n in zip(am, an)]
        measured = ("Menshen adds %s ms, nginx %s ms to direct's p99 (median of %d rounds; p99 direct %s, nginx %s, "
                    "Menshen %s ms) → Menshen − nginx = %s ms" % (
                        signed_ms(med(am)), signed_ms(med(an)), len(pr), ms(med([v["direct"] for v in pr.values()])),
                        ms(med([v["nginx"] for v in pr.values()])), ms(med([v["menshen"] for v in pr.values()])),
                        signed_ms(med(diff))))
        goals.append(Goal("proxy-p99-c64", "Added p99 latency at 64 connections ≤ nginx's added p99 + 0.5 ms",
                          measured, med(diff) / 1000.0, 0.5, "ms"))
    else:
        goals.append(Goal("proxy-p99-c64", "Added p99 latency at 64 connections ≤ nginx's added p99 + 0.5 ms", None, None, 0.5, "ms"))
    # 2. throughput vs nginx
    for c in (64, 4):
        pr = per_round(cells, "wrk", c, "rps", rounds) if c in conns else {}
        text = "Throughput ≥ 50 %% of nginx's, %d connections, 2 cores, screening both directions" % c
        if pr:
            ratios = [v["menshen"] / v["nginx"] for v in pr.values()]
            measured = "%.2f of nginx (%s vs %s req/s; per-round ratios %s)" % (
                med(ratios), num(med([v["menshen"] for v in pr.values()])), num(med([v["nginx"] for v in pr.values()])),
                ", ".join("%.2f" % x for x in ratios))
            goals.append(Goal("proxy-throughput-c%d" % c, text, measured, med(ratios), 0.5, "ratio"))
        else:
            goals.append(Goal("proxy-throughput-c%d" % c, text, None, None, 0.5, "ratio"))
    # 3. streamed deltas
    text = "Clean streamed deltas delivered within 1 ms: Menshen's added per-delta delay at p99 ≤ 1 ms (1 stream)"
    added, held, n, rs = [], 0, 0, []
    for r in rounds:
        d, m = stream_round_stats(streams, 1, "direct", r), stream_round_stats(streams, 1, "menshen", r)
        if d and m and d["delays"] and m["delays"]:
            added.append(pct(m["delays"], 99) - pct(d["delays"], 99))
            held += m["held"]
            n += m["deltas"]
            rs.append(r)
    if added:
        allm = [v for r in rs for v in stream_round_stats(streams, 1, "menshen", r)["delays"]]
        alld = [v for r in rs for v in stream_round_stats(streams, 1, "direct", r)["delays"]]
        measured = ("%s ms at p99 (per-delta delay p99: Menshen %s, direct %s ms; %.0f %% of Menshen's deltas held back "
                    "to a later chunk; %.1f %% arrived > 1 ms after the upstream's write, direct %.1f %%)" % (
                        signed_ms(med(added)), ms(pct(allm, 99)), ms(pct(alld, 99)), 100.0 * held / max(n, 1),
                        100.0 * sum(v > 1000 for v in allm) / len(allm), 100.0 * sum(v > 1000 for v in alld) / len(alld)))
        goals.append(Goal("proxy-stream-c1", text, measured, med(added) / 1000.0, 1.0, "ms"))
    else:
        goals.append(Goal("proxy-stream-c1", text, None, None, 1.0, "ms"))
    return goals


# ----------------------------------------------------------------------------- section


def is_placeholder(body):
    return not body or body.strip().startswith("_Not explained yet.")


def why_block(gid, body):
    return ["<!-- why:%s:begin -->" % gid, body or WHY_PLACEHOLDER, "<!-- why:%s:end -->" % gid]


def render(run_dir, old_whys):
    env = read_env(os.path.join(run_dir, "run.env"))
    loads = read_load(os.path.join(run_dir, "load.tsv"))
    cells = load_cells(run_dir)
    streams = load_streams(run_dir)
    cpu = load_cpu(run_dir)
    if not cells and not streams:
        sys.exit("report.py: %s has no raw/wrk_*.txt or raw/stream_*.json (run Benchmarks/proxy/run.sh)" % run_dir)
    rounds = sorted({k[3] for k in cells} | {k[2] for k in streams})
    conns = sorted({k[1] for k in cells if k[0] == "wrk"})
    hconns = sorted({k[1] for k in cells if k[0] == "h2load"})
    floor_conns = sorted({k[1] for k in cells if k[0] == "floor"})
    scan_times = load_scan_times(run_dir)
    sconcs = sorted({k[0] for k in streams})
    secs = int(env.get("seconds", "0") or 0)
    nproc = env.get("nproc") or str(os.cpu_count())

    L = []
    w = L.append
    w(BEGIN)
    w("<!-- Generated by Benchmarks/proxy/report.py; rerun Benchmarks/proxy/run.sh to refresh. Everything up to "
      "proxy:end is rewritten, except the text between each why:<goal>:begin / why:<goal>:end pair, which is kept. -->")
    w("")
    w("## Proxy: Menshen vs. nginx vs. direct")
    w("")
    started = loads[0][1] if loads else datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cmd = "Benchmarks/proxy/run.sh --reps %s --seconds %s" % (env.get("reps", len(rounds)), secs)
    if env.get("conns", "4,64") != "4,64":
        cmd += " --conns %s" % env["conns"]
    if env.get("h2load") == "0":
        cmd += " --no-h2load"
    if env.get("stream") == "0":
        cmd += " --no-stream"
    else:
        if env.get("stream_conc", "1,8") != "1,8":
            cmd += " --stream-conc %s" % env["stream_conc"]
        if env.get("stream_requests", "10") != "10":
            cmd += " --stream-requests %s" % env["stream_requests"]
    w("Measured %s UTC with `%s` (results: `%s`)." % (started.replace("T", " ").rstrip("Z"), cmd, shown(run_dir)))
    w("")
    trial = []
    bin_path = env.get("menshen", "")
    debug = "/debug/" in bin_path or os.path.basename(bin_path).endswith("-debug")
    if debug:
        trial.append("Menshen **debug** build (`%s`)" % shown(bin_path))
    if len(rounds) < 3:
        trial.append("%d round%s" % (len(rounds), "" if len(rounds) == 1 else "s"))
    if secs and secs < 10:
        trial.append("%d s per cell" % secs)
    if trial:
        w("> **Trial run, not a result:** %s. The real figures come from `Benchmarks/proxy/run.sh` "
          "(3 rounds × 10 s or more) on a quiet machine." % "; ".join(trial))
        w("")
    mem = mem_total_gib()
    uname = platform.uname()
    w("- **Machine:** %s CPUs (nproc), %s, %s RAM, %s %s; everything on loopback, client and servers sharing the CPUs." % (
        nproc, cpu_model(), "%.0f GiB" % mem if mem else "?", uname.system, uname.release))
    if loads:
        la = [l for _, _, l in loads if l]
        if la:
            w("- **Load average (1 min):** %.2f at the start, %.2f at the end, %.2f–%.2f during the cells%s." % (
                la[0][0], la[-1][0], min(x[0] for x in la), max(x[0] for x in la),
                " — **the machine was busy**: absolute figures are noisy; ratios compare cells of the same round"
                if max(x[0] for x in la) >= 0.75 * float(nproc or 2) else ""))
    dirty = " + uncommitted changes under Sources/, Lexicons/ or Package.*" if env.get("git_dirty") == "1" else ""
    built = env.get("menshen_built_from", "")
    origin = ("built from commit `%s`%s" % (built[:12], " + uncommitted changes" if built.endswith("+dirty") else "")
              if built else "commit it was built from not recorded; HEAD at run time `%s`%s" % (env.get("git_commit", "?")[:12], dirty))
    w("- **Menshen:** %s; %s binary `%s` built %s UTC%s; default lexicons (`Lexicons/`), default "
      "configuration (no `--config`, log level info, working directory inside the results); %s." % (
          origin, "debug" if debug else "release", shown(bin_path),
          env.get("menshen_mtime", "?").replace("T", " ").rstrip("Z"),
          " (prebuilt via `MENSHEN_BIN`)" if env.get("menshen_prebuilt") == "1" else "", env.get("swift_version", "?")))
    newer = int(env.get("sources_newer_than_binary", "0") or 0)
    if newer:
        w("  ⚠ %d file%s under Sources/, Lexicons/ or Package.swift %s newer than this binary: it may not be the "
          "code of that commit." % (newer, "" if newer == 1 else "s", "is" if newer == 1 else "are"))
    w("- **Tools:** nginx %s (1 worker each for the upstream and the proxy), wrk %s, %s, Python %s." % (
        env.get("nginx_version", "?").replace("nginx/", ""), env.get("wrk_version", "?"), env.get("h2load_version", "?"), env.get("python", "?")))
    w("- **Requests:** non-streamed: a %s-byte chat request (`Benchmarks/proxy/chat-4k.json`: system prompt + 10 messages, "
      "Chinese and English, clean) answered by nginx with the shared %s-byte chat completion; streamed: %s deltas of "
      "1–3 characters %s ms apart from `stream_upstream.py`." % (
          env.get("request_bytes", "?"), env.get("answer_bytes", "?"), env.get("deltas", "?"), env.get("gap_ms", "?")))
    w("")

    # goals
    goals = build_goals(cells, streams, rounds, conns, sconcs)
    w("### Goals")
    w("")
    w("| Goal | Measured | Result |")
    w("|---|---|---|")
    for g in goals:
        if g.status == "not measured":
            res = "– not measured in this run"
        elif g.status == "met":
            res = "✅ met — %s" % g.margin()
        else:
            res = "❌ **missed** — %s ([why](#why-%s))" % (g.margin(), g.id)
        w("| %s | %s | %s |" % (g.text, g.measured or "–", res))
    w("")
    missed = [g for g in goals if g.status == "missed"]
    if missed:
        w("#### Why the missed goals are missed")
        w("")
        for g in missed:
            w('<a id="why-%s"></a>' % g.id)
            w("**Why: %s** — %s." % (g.text, g.margin()))
            w("")
            L.extend(why_block(g.id, old_whys.get(g.id, "")))
            w("")
    kept = [(gid, body) for gid, body in old_whys.items()
            if not is_placeholder(body) and gid not in {g.id for g in missed}]
    if kept:
        w("#### Notes kept from earlier runs (goal met now, or not measured in this run)")
        w("")
        for gid, body in kept:
            g = next((g for g in goals if g.id == gid), None)
            w("**%s** (%s):" % (g.text if g else gid, g.status if g else "unknown goal"))
            w("")
            L.extend(why_block(gid, body))
            w("")

    # non-streamed
    if conns:
        w("### Non-streamed ~4 KB chat requests (wrk)")
        w("")
        w("Median over %d rounds (min–max). *Added* = the target's figure minus direct's in the same round, "
          "median over rounds. CPU = the proxy process's user+system CPU time per request (nginx: master + worker)." % len(rounds))
        w("")
        w("| conns | target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s ÷ nginx | proxy CPU µs/req | errors |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for c in conns:
            for t in TARGETS:
                rs = [cells.get(("wrk", c, t, r)) or {} for r in rounds]
                rps = [x.get("rps") for x in rs]
                p50 = [x.get("p50") for x in rs]
                p99 = [x.get("p99") for x in rs]
                a50 = a99 = ratio = "–"
                if t != "direct":
                    pr50 = per_round(cells, "wrk", c, "p50", rounds)
                    pr99 = per_round(cells, "wrk", c, "p99", rounds)
                    a50 = signed_ms(med([v[t] - v["direct"] for v in pr50.values()])) if pr50 else "–"
                    a99 = signed_ms(med([v[t] - v["direct"] for v in pr99.values()])) if pr99 else "–"
                prr = per_round(cells, "wrk", c, "rps", rounds)
                if prr:
                    ratio = "%.2f" % med([v[t] / v["nginx"] for v in prr.values()])
                cpu_us = proxy_cpu_per_request(cells, cpu, "wrk", c, t, rounds)
                errs = []
                for r, x in zip(rounds, rs):
                    if "failed_to_parse" in x:
                        errs.append("r%d: no result (%s)" % (r, x["failed_to_parse"][-80:].replace("|", "/").replace("\n", " ")))
                        continue
                    se = sum((x.get("socket_errors") or {}).values())
                    if x.get("non2xx") or se:
                        errs.append("r%d: %s non-2xx, socket errors %s" % (r, num(x.get("non2xx", 0)), x.get("socket_errors")))
                w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    c, LABEL[t], spread(rps, num), spread(p50, ms), spread(p99, ms), a50, a99, ratio,
                    spread(cpu_us, lambda v: "%.0f" % v) if t != "direct" else "–", "; ".join(errs) or "0"))
        w("")
    if hconns:
        w("### Second opinion: h2load --h1, same request")
        w("")
        w("| conns | target | req/s | mean request time ms | req/s ÷ nginx | failed / non-2xx |")
        w("|---|---|---|---|---|---|")
        for c in hconns:
            prr = per_round(cells, "h2load", c, "rps", rounds)
            for t in TARGETS:
                rs = [cells.get(("h2load", c, t, r)) or {} for r in rounds]
                fails = sum(x.get("failed", 0) + x.get("errored", 0) for x in rs)
                non2 = sum(x.get("non2xx", 0) for x in rs)
                w("| %d | %s | %s | %s | %s | %s / %s |" % (
                    c, LABEL[t], spread([x.get("rps") for x in rs], num), spread([x.get("mean") for x in rs], ms),
                    "%.2f" % med([v[t] / v["nginx"] for v in prr.values()]) if prr else "–", num(fails), num(non2)))
        w("")

    # floor
    if floor_conns or scan_times:
        w("### Where Menshen's time goes: the HTTP stack alone, and screening")
        w("")
    if floor_conns:
        w("The same three targets answering `GET %s` (wrk, %d connections; the upstream returns the same ~1 KB "
          "answer): Menshen passes it through **unscreened**, so this is what Hummingbird, AsyncHTTPClient and NIO cost "
          "per request before any screening. CPU as in the table above." % (env.get("floor_path", "/v1/models"), floor_conns[0]))
        w("")
        w("| conns | target | req/s | p50 ms | p99 ms | req/s ÷ nginx | proxy CPU µs/req | errors |")
        w("|---|---|---|---|---|---|---|---|")
        for c in floor_conns:
            prr = per_round(cells, "floor", c, "rps", rounds)
            self_rs = [cells.get(("self", c, "menshen", r)) or {} for r in rounds]
            for t in TARGETS:
                rs = [cells.get(("floor", c, t, r)) or {} for r in rounds]
                cpu_us = proxy_cpu_per_request(cells, cpu, "floor", c, t, rounds)
                errs = sum((x.get("non2xx") or 0) + sum((x.get("socket_errors") or {}).values()) for x in rs)
                w("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                    c, LABEL[t], spread([x.get("rps") for x in rs], num), spread([x.get("p50") for x in rs], ms),
                    spread([x.get("p99") for x in rs], ms),
                    "%.2f" % med([v[t] / v["nginx"] for v in prr.values()]) if prr else "–",
                    spread(cpu_us, lambda v: "%.0f" % v) if t != "direct" else "–", num(errs)))
            if any(x.get("rps") for x in self_rs):
                ratios = [(cells.get(("self", c, "menshen", r)) or {}).get("rps", 0) / v["nginx"] for r, v in prr.items()
                          if (cells.get(("self", c, "menshen", r)) or {}).get("rps")]
                cpu_us = proxy_cpu_per_request(cells, cpu, "self", c, "menshen", rounds)
                errs = sum((x.get("non2xx") or 0) + sum((x.get("socket_errors") or {}).values()) for x in self_rs)
                w("| %d | Menshen answering `GET /healthz` itself (no upstream) | %s | %s | %s | %s | %s | %s |" % (
                    c, spread([x.get("rps") for x in self_rs], num), spread([x.get("p50") for x in self_rs], ms),
                    spread([x.get("p99") for x in self_rs], ms), "%.2f" % med(ratios) if ratios else "–",
                    spread(cpu_us, lambda v: "%.0f" % v), num(errs)))
        w("")
        if any(k[0] == "self" for k in cells):
            w("The last row is Hummingbird alone: Menshen answers a tiny JSON body itself, with no upstream hop "
              "and nothing to screen; its ratio compares it with nginx *proxying* in the same round.")
            w("")
    if scan_times:
        parts = ["%s %.0f µs (mean over %s requests)" % (d, us, num(n)) for d, (us, n) in sorted(scan_times.items())]
        w("Screening time per request, from Menshen's own `menshen_scan_seconds` histogram over the whole run "
          "(wall time of the screening step; under load it includes time the thread waited for a core): %s. "
          "*input* = every prompt text of the ~4 KB request (JSON read, automaton and regex rules); "
          "*output* = the ~1 KB answer's text." % "; ".join(parts))
        w("")

    # streamed
    if sconcs:
        w("### Streamed answer: %s deltas, %s ms apart" % (env.get("deltas", "?"), env.get("gap_ms", "?")))
        w("")
        w("Per-delta delay = the client's read that completes a delta's text minus the upstream's write of that delta "
          "(`time.time_ns()` on both sides, one machine), pooled over all deltas of all rounds; *added p99* is the "
          "target's p99 minus direct's p99 in the same round, median over rounds. *Held* = deltas whose text reached the "
          "client only with a later chunk (lag: how many chunks later); *not held* = the delay of the other deltas "
          "alone, i.e. the cost of passing a chunk through. TTFT = request written → first non-empty content read.")
        w("")
        w("| streams | target | requests ok | delay p50 ms | p99 ms | p99.9 ms | max ms | added p99 ms | > 1 ms | held | not held: p50 / p99 ms | TTFT p50 (p99) ms | total p50 ms |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for sc in sconcs:
            for t in TARGETS:
                st = [stream_round_stats(streams, sc, t, r) for r in rounds]
                st = [s for s in st if s]
                if not st:
                    continue
                delays = [v for s in st for v in s["delays"]]
                ttft = [v for s in st for v in s["ttft"]]
                total = [v for s in st for v in s["total"]]
                ok = sum(s["ok"] for s in st)
                nreq = sum(s["requests"] for s in st)
                held = sum(s["held"] for s in st)
                n = sum(s["deltas"] for s in st)
                added = []
                for r in rounds:
                    a, d = stream_round_stats(streams, sc, t, r), stream_round_stats(streams, sc, "direct", r)
                    if a and d and a["delays"] and d["delays"]:
                        added.append(pct(a["delays"], 99) - pct(d["delays"], 99))
                errors = sorted({e for s in st for e in s["errors"]})
                own = [v for s in st for v in s["own"]]
                w("| %d | %s | %d/%d%s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s |" % (
                    sc, LABEL[t], ok, nreq, " (%s)" % "; ".join(errors)[:200].replace("|", "/") if errors else "",
                    ms(pct(delays, 50)), ms(pct(delays, 99)), ms(pct(delays, 99.9)), ms(max(delays) if delays else None),
                    signed_ms(med(added)) if t != "direct" else "–",
                    "%.1f %%" % (100.0 * sum(v > 1000 for v in delays) / len(delays)) if delays else "–",
                    ("%.0f %%" % (100.0 * held / n) + (" (lag p50 %.0f, max %d chunks)" % (
                        pct([v for s in st for v in s["lags"]], 50), max(v for s in st for v in s["lags"]))
                        if any(s["lags"] for s in st) else "")) if n else "–",
                    "%s / %s" % (ms(pct(own, 50)), ms(pct(own, 99))) if own else "–",
                    ms(med(ttft)), ms(pct(ttft, 99)), ms(med(total))))
        w("")

    # observations
    notes = observations(run_dir, cells, streams, rounds)
    if notes:
        w("### Observations from this run")
        w("")
        for n in notes:
            w("- " + n)
        w("")

    w("### What is measured")
    w("")
    w("- Three targets, one run: **direct** = the upstream itself; **nginx** = `proxy_pass` with a keep-alive upstream "
      "pool (`../shared/bench/proxy/proxy.conf`; for the stream a second server block with `proxy_buffering off`); "
      "**Menshen** = `menshen serve --upstream … --lexicons Lexicons` (release build), which parses and screens the "
      "prompt, forwards it, then parses, screens and re-serializes the answer (whole JSON, or every SSE chunk).")
    w("- Non-streamed upstream: nginx (1 worker) `return 200` with the shared ~1 KB chat completion "
      "(`../shared/bench/proxy/upstream.conf`). wrk sends the ~4 KB POST (`post-4k.lua`) with 1 thread at 4 "
      "connections and 2 threads at 64 (as `run_proxy_bench.sh` does); p50/p99 from `wrk --latency`; h2load --h1 "
      "sends the same body as a second opinion on req/s.")
    w("- Streamed upstream: `stream_upstream.py` (asyncio) answers in vLLM's SSE framing (chunked, `data: {chunk}`, "
      "a stop chunk, `data: [DONE]`); each chunk carries its write time in an extra top-level `bench` key, which "
      "Menshen keeps. `stream_client.py` opens one connection per request and checks that the text arrives unchanged.")
    w("- Rounds: in each round every cell runs once per target, back to back, the targets' order rotating between "
      "rounds; the machine is shared and noisy, so every ratio and every *added* figure compares cells of the same "
      "round. A 2 s wrk warm-up per target precedes the first round. Every server is started and stopped by the script.")
    w("- Goals (from the issue): Menshen's added p99 at 64 connections ≤ nginx's added p99 + 0.5 ms; throughput ≥ 50 % "
      "of nginx's on 2 cores while screening both directions; clean streamed deltas delivered within 1 ms (read as: "
      "Menshen's per-delta delay p99 at most 1 ms above direct's, one stream at a time).")
    w(END)
    return "\n".join(L) + "\n"


def observations(run_dir, cells, streams, rounds):
    notes = []
    sanity = os.path.join(run_dir, "sanity.txt")
    if os.path.exists(sanity):
        for line in open(sanity, encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            if f[0] == "nonstream" and len(f) >= 5:
                if f[3] != "same_body=yes":
                    notes.append("%s did not deliver the clean ~1 KB answer byte for byte: %s" % (
                        f[1], answer_diff(run_dir, f[1])))
                if f[1] == "menshen":
                    notes.append("Menshen's decision header on the 4 KB request: `X-Menshen-Decision: %s`." % f[4].split("=", 1)[1])
    # header differences
    hdr = {}
    for t in TARGETS:
        p = os.path.join(run_dir, "headers-%s.txt" % t)
        if os.path.exists(p):
            lines = [l.strip() for l in open(p, encoding="latin-1").read().splitlines() if l.strip()]
            hdr[t] = lines
    if "menshen" in hdr and "direct" in hdr:
        names = lambda ls: {l.split(":", 1)[0].lower() for l in ls[1:] if ":" in l}
        gone = sorted(names(hdr["direct"]) - names(hdr["menshen"]))
        new = sorted(names(hdr["menshen"]) - names(hdr["direct"]))
        def head(t):
            def one(l):
                l = re.sub(r"^(date|x-request-id):.*$", lambda m: m.group(1).title() + ": …", l, flags=re.I)
                return l if len(l) <= 70 else l[:67] + "…"
            return " · ".join(one(l) for l in hdr[t])
        notes.append("Response headers, direct → Menshen (non-streamed): %s%s. Direct: `%s`. Menshen: `%s`." % (
            "dropped " + ", ".join("`%s`" % n for n in gone) if gone else "nothing dropped",
            "; added " + ", ".join("`%s`" % n for n in new) if new else "", head("direct"), head("menshen")))
    # errors under load
    for (tool, c, t, r), x in sorted(cells.items()):
        if x.get("non2xx") or sum((x.get("socket_errors") or {}).values()) or x.get("failed"):
            notes.append("%s, %d connections, %s, round %d: %s non-2xx, socket errors %s%s." % (
                tool, c, t, r, num(x.get("non2xx", 0)), x.get("socket_errors") or "–",
                ", %s failed" % num(x["failed"]) if x.get("failed") else ""))
    for (sc, t, r), d in sorted(streams.items()):
        errs = [x.get("error") for x in d["results"] if not x.get("ok")]
        if errs:
            notes.append("stream, %d concurrent, %s, round %d: %d of %d requests failed (%s)." % (
                sc, t, r, len(errs), len(d["results"]), "; ".join(sorted(set(e or "?" for e in errs)))[:200]))
    ev = os.path.join(run_dir, "events.txt")
    if os.path.exists(ev):
        for line in open(ev, encoding="utf-8"):
            if line.strip():
                notes.append("**%s** (a server died during the run; later cells of it are missing or failed)." % line.strip())
    sd = os.path.join(run_dir, "shutdown.tsv")
    if os.path.exists(sd):
        for line in open(sd, encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            if len(f) == 3 and f[1] == "close_wait" and f[2] not in ("", "0"):
                runs = 1 + sum(1 for k in cells if k[0] == "wrk" and k[2] == "menshen") if f[0] == "menshen" else None
                notes.append("**%s held %s client connection(s) in CLOSE-WAIT at the end of the run** (closed by the "
                             "client, not yet by Menshen)%s." % (f[0], f[2], (
                                 "; wrk ran %d times against it (warm-up included) and opens, once per run, a "
                                 "connection that it closes without sending a byte (its address check); a TCP "
                                 "health check does the same" % runs) if runs else ""))
            if len(f) == 3 and f[1] == "sigterm" and "killed" in f[2]:
                notes.append("**%s did not exit on SIGTERM** within 40 s (the drain timeout is 30 s); run.sh killed it." % f[0])
    added = sorted({x.get("added_text") for d in streams.values() for x in d["results"] if x.get("ok") and x.get("added_text")})
    if added:
        notes.append("Streamed answers through Menshen carry text the upstream did not send (not counted in the "
                     "per-delta figures): %s." % ", ".join("`%s`" % a.replace("\n", "\\n").replace("`", "'") for a in added[:3]))
    rss = os.path.join(run_dir, "rss.tsv")
    if os.path.exists(rss):
        parts = []
        for line in open(rss, encoding="utf-8"):
            f = line.split()
            if len(f) == 2 and f[1].isdigit() and int(f[1]):
                parts.append("%s %.0f MiB" % (f[0], int(f[1]) / 1024))
        if parts:
            notes.append("Resident memory after the run: " + ", ".join(parts) + ".")
    for name in ("menshen.log", "menshen-stream.log"):
        p = os.path.join(run_dir, name)
        if os.path.exists(p):
            lines = [l for l in open(p, encoding="utf-8", errors="replace").read().splitlines()
                     if re.search(r"\b(warning|error|critical)\b", l)]
            if lines:
                notes.append("`%s`: %d warning/error lines, e.g. `%s`." % (name, len(lines), lines[0][:200].replace("`", "'")))
    return notes


def answer_diff(run_dir, target):
    """What changed between the upstream's ~1 KB answer and what `target` delivered, in words."""
    try:
        sent = json.load(open(os.path.join(run_dir, "completion.json"), encoding="utf-8"))
        got = json.load(open(os.path.join(run_dir, "answer-%s.json" % target), encoding="utf-8"))
    except (OSError, ValueError) as e:
        return "cannot compare (%s)." % e
    parts = []
    a = ((sent.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
    b = ((got.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
    if a != b:
        if b.startswith(a):
            parts.append("text appended to the content: `%s`" % b[len(a):].replace("\n", "\\n"))
        elif b.endswith(a):
            parts.append("text prepended to the content: `%s`" % b[:len(b) - len(a)].replace("\n", "\\n"))
        else:
            parts.append("the content differs")
    new_keys, gone = sorted(set(got) - set(sent)), sorted(set(sent) - set(got))
    if new_keys:
        parts.append("top-level key%s added: %s" % ("s" if len(new_keys) > 1 else "", ", ".join("`%s`" % k for k in new_keys)))
    if gone:
        parts.append("top-level keys dropped: %s" % ", ".join("`%s`" % k for k in gone))
    same_rest = {k: v for k, v in got.items() if k in sent and k != "choices"} == {k: v for k, v in sent.items() if k in got and k != "choices"}
    if not parts and got == sent:
        parts.append("same JSON, re-serialized (key order / spacing)")
    elif same_rest:
        parts.append("the other fields equal, re-serialized (key order / spacing)")
    return "; ".join(parts) + " (`answer-%s.json` in the results)." % target


def splice(doc, section):
    if BEGIN in doc and END in doc:
        a = doc.index(BEGIN)
        b = doc.index(END, a) + len(END)
        if doc[b:b + 1] == "\n":
            b += 1
        return doc[:a] + section + doc[b:]
    if not doc.strip():
        doc = ("# Benchmarks\n\n"
               "Each benchmark owns one section between `<!-- NAME:begin -->` / `<!-- NAME:end -->` markers and "
               "rewrites only that section; text outside the markers is never touched by the scripts.\n")
    return doc.rstrip("\n") + "\n\n" + section


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", default=os.path.join(ROOT, "bench-out", "proxy-latest"))
    ap.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--stdout", action="store_true", help="print the section instead of writing the file")
    args = ap.parse_args()
    doc = open(args.output, encoding="utf-8").read() if os.path.exists(args.output) else ""
    old = ""
    if BEGIN in doc and END in doc:
        old = doc[doc.index(BEGIN):doc.index(END, doc.index(BEGIN))]
    section = render(args.run_dir, existing_whys(old))
    if args.stdout:
        sys.stdout.write(section)
        return
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(splice(doc, section))
    print("report.py: wrote the proxy section of %s" % args.output, file=sys.stderr)


if __name__ == "__main__":
    main()
