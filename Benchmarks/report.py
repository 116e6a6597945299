#!/usr/bin/env python3
"""Writes the lexicon section of BENCHMARKS.md from one Benchmarks/run.sh run.

Usage:  python3 Benchmarks/report.py [RUN_DIR] [--output BENCHMARKS.md] [--stdout]

RUN_DIR (default bench-out/lexicon-latest) holds what run.sh wrote:
  anchors-<size>-r<k>.json   bench_anchors.py results (throughput, probes)
  menshen-<size>-r<k>.json   menshen-bench results (raw and normalized mode)
  load.tsv                   `uptime` before/after every step
  run.env                    options, commit, versions

Only the part of BENCHMARKS.md between `<!-- lexicon:begin -->` and `<!-- lexicon:end -->`
is rewritten (appended if the markers are missing; the file is created if missing); other
benchmarks keep their own sections. Inside the lexicon section every missed goal gets a
"Why:" block between `<!-- why:<goal-id>:begin -->` / `<!-- why:<goal-id>:end -->`; the text
engineers write there is carried over when the section is regenerated (if the goal is met
now, or was not measured, the text moves to "Notes kept from earlier runs" rather than being
dropped).

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '.'))
from reportlib import WHY_RE, cpu_model, existing_whys, mem_total_gib, read_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZES = ["1k", "10k", "100k"]
BEGIN, END = "<!-- lexicon:begin -->", "<!-- lexicon:end -->"
WHY_PLACEHOLDER = ("_Not explained yet. Engineers: replace this line with the reason (and the plan); "
                   "`Benchmarks/report.py` keeps whatever is written between these two markers._")
REF, HS = "acrs.bytes.ll", "hs.all"
ANCHOR_ORDER = ["acrs.bytes.ll", "acrs.str.ll", "acrs.bytes.ll.dfa", "hs.all", "hs.single",
                "pyac.ll", "pyac.ov", "acrs.bytes.ov", "ft.ll", "re2.ll", "re2.lf"]
ANCHOR_DESC = {
    "acrs.bytes.ll": "ahocorasick-rs, bytes, leftmost-longest",
    "acrs.str.ll": "ahocorasick-rs, str, leftmost-longest",
    "acrs.bytes.ll.dfa": "ahocorasick-rs, bytes, leftmost-longest, DFA",
    "acrs.bytes.ov": "ahocorasick-rs, bytes, overlapping",
    "hs.all": "Hyperscan block mode, all match ends",
    "hs.single": "Hyperscan, each pattern once",
    "pyac.ll": "pyahocorasick, leftmost-longest",
    "pyac.ov": "pyahocorasick, overlapping",
    "ft.ll": "flashtext (word boundaries)",
    "re2.ll": "google-re2 alternation, longest match",
    "re2.lf": "google-re2 alternation, leftmost-first",
}
LL_ANCHORS = {"acrs.bytes.ll", "acrs.str.ll", "acrs.bytes.ll.dfa", "pyac.ll"}
MIB = 2 ** 20


# ----------------------------------------------------------------------------- loading


def read_load(path):
    """[(phase, iso time, (l1, l5, l15))] from load.tsv (`uptime` output)."""
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


def round_of(path):
    m = re.search(r"-r(\d+)\.json$", path)
    return int(m.group(1)) if m else 1


def load_anchors(run_dir):
    """{(engine, size): pooled row}, {(engine, size): probe}, versions, files."""
    pooled, probes, versions, files = {}, {}, {}, sorted(glob.glob(os.path.join(run_dir, "anchors-*.json")), key=round_of)
    for path in files:
        d = json.load(open(path, encoding="utf-8"))
        versions = versions or d.get("versions", {})
        versions.setdefault("python", d.get("python"))
        for t in d.get("throughput", []):
            key = (t["engine"], t["size"])
            p = pooled.setdefault(key, {"engine": t["engine"], "size": t["size"], "mbps": [], "build_s": [],
                                        "matches": set(), "bytes": t["bytes"], "semantics": t.get("semantics", ""),
                                        "cold_mbps": t.get("cold_mbps")})
            p["mbps"] += [t["bytes"] / 1e6 / s for s in t["seconds"]]
            p["build_s"].append(t["build_s"])
            p["matches"].add(t["matches"])
        for pr in d.get("probes", []):
            probes.setdefault((pr["engine"], pr["size"]), pr)
    return pooled, probes, versions, files


def load_menshen(run_dir):
    """{(size, mode): pooled row}, corpus_bytes, failures, files."""
    pooled, failures, corpus = {}, [], None
    files = sorted(glob.glob(os.path.join(run_dir, "menshen-*.json")), key=round_of)
    for path in files:
        d = json.load(open(path, encoding="utf-8"))
        corpus = d.get("corpus_bytes", corpus)
        failures += ["%s: %s" % (os.path.basename(path), f) for f in d.get("failures", [])]
        for r in d.get("results", []):
            p = pooled.setdefault((r["size"], r["mode"]), {"terms": r["terms"], "mbps": [], "compile_s": [],
                                                            "rss_delta_mb": [], "rss_mb": [], "automaton_mb": [],
                                                            "counts": set(), "stream64": [], "stream_ratio": []})
            p["mbps"] += r.get("whole_mbps_runs") or [r["whole_mbps"]]
            p["compile_s"].append(r["compile_s"])
            p["rss_delta_mb"].append(r["rss_delta_mb"])
            p["rss_mb"].append(r["rss_mb"])
            p["automaton_mb"].append(r["automaton_mb"])
            p["counts"].add(r["count_ll"])
            p["stream64"].append(r["stream64_mbps"])
            p["stream_ratio"].append(r["stream_ratio"])
    return pooled, corpus, failures, files


# ----------------------------------------------------------------------------- formatting

def fmt(x):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_s(x):
    return "–" if x is None else ("%.3f" % x if x < 10 else "%.1f" % x)


def num(n):
    return "{:,}".format(n)


def med(xs):
    return statistics.median(xs) if xs else None


def mbps_cell(xs):
    if not xs:
        return "–"
    if len(xs) == 1:
        return fmt(xs[0])
    return "%s (%s–%s)" % (fmt(med(xs)), fmt(min(xs)), fmt(max(xs)))


def ratio(a, b):
    return a / b if a is not None and b else None


def ratio_cell(x):
    return "–" if x is None else "%.2f×" % x


def only(counts):
    return next(iter(counts)) if len(counts) == 1 else None


def count_cell(counts):
    if not counts:
        return "–"
    if len(counts) == 1:
        return num(next(iter(counts)))
    return "differs between rounds: " + ", ".join(num(c) for c in sorted(counts))


# ----------------------------------------------------------------------------- machine / versions


def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


# ----------------------------------------------------------------------------- goals

class Goal:
    def __init__(self, gid, text, target, measured=None, value=None, higher_is_better=True, unit="", detail=""):
        self.id, self.text, self.target, self.measured = gid, text, target, measured
        self.value, self.higher, self.unit, self.detail = value, higher_is_better, unit, detail

    @property
    def status(self):
        if self.value is None:
            return "not measured"
        ok = self.value >= self.target if self.higher else self.value < self.target
        return "met" if ok else "missed"

    def margin(self):
        """How far from the target, in words."""
        v, t = self.value, self.target
        if v is None:
            return ""
        if self.unit == "×":
            pct = (v / t - 1) * 100
            return ("%.0f %% short of %.2f×" % (-pct, t)) if pct < 0 else ("%.0f %% above %.2f×" % (pct, t))
        if self.unit == "stream":
            # stream/whole >= 0.8 means at most 20 % slower than whole text
            slower = (1 - v) * 100
            if v >= t:
                return "%.0f %% %s than whole text (allowed: 20 %% slower)" % (abs(slower), "slower" if slower > 0 else "faster")
            return "%.0f %% slower than whole text, %.0f points over the 20 %% allowed" % (slower, slower - (1 - t) * 100)
        # lower is better, absolute units
        diff = v - t
        pct = diff / t * 100
        if diff >= 0:
            return "over by %s %s (%.0f %%)" % (fmt(diff), self.unit, pct)
        return "%s %s under (%.0f %% headroom)" % (fmt(-diff), self.unit, -pct)


def build_goals(anchors, menshen, corpus_bytes):
    goals = []

    def thr(size, mode="normalized"):
        m = menshen.get((size, mode))
        return med(m["mbps"]) if m else None

    for size in SIZES:
        mine, ref = thr(size), anchors.get((REF, size))
        refv = med(ref["mbps"]) if ref else None
        r = ratio(mine, refv)
        goals.append(Goal("throughput-acrs-%s" % size,
                          "Throughput ≥ 1.0× ahocorasick-rs (bytes, leftmost-longest), %s terms" % size, 1.0,
                          "%.2f× (%s vs %s MB/s)" % (r, fmt(mine), fmt(refv)) if r is not None else None, r, unit="×"))
    mine, hs = thr("100k"), anchors.get((HS, "100k"))
    hsv = med(hs["mbps"]) if hs else None
    r = ratio(mine, hsv)
    goals.append(Goal("throughput-hs-100k", "Throughput ≥ 1.0× Hyperscan, 100k terms", 1.0,
                      "%.2f× (%s vs %s MB/s)" % (r, fmt(mine), fmt(hsv)) if r is not None else None, r, unit="×"))
    m = menshen.get(("100k", "normalized"))
    c = med(m["compile_s"]) if m else None
    goals.append(Goal("compile-100k", "Compile 100k terms < 1 s", 1.0,
                      "%s s" % fmt_s(c) if c is not None else None, c, higher_is_better=False, unit="s"))
    mem = None
    if m and corpus_bytes:
        total = med(m["rss_mb"])
        mem = total - corpus_bytes / 1e6
        measured = ("%s MB, an upper bound (process RSS %s MB − %s MB corpus buffer; the automaton alone: %s MB)"
                    % (fmt(mem), fmt(total), fmt(corpus_bytes / 1e6), fmt(med(m["automaton_mb"]))))
    goals.append(Goal("memory-100k", "Resident memory for 100k terms < 150 MB", 150.0,
                      measured if mem is not None else None, mem, higher_is_better=False, unit="MB"))
    for size in SIZES:
        m = menshen.get((size, "normalized"))
        sr = med(m["stream_ratio"]) if m else None
        goals.append(Goal("streaming-%s" % size, "Streaming in 64-byte chunks within 20 %% of whole-text throughput, %s terms" % size,
                          0.8, "%.2f of whole text (%s vs %s MB/s)" % (sr, fmt(med(m["stream64"])), fmt(med(m["mbps"])))
                          if m else None, sr, unit="stream"))
    return goals


# ----------------------------------------------------------------------------- section


def is_placeholder(body):
    return not body or body.strip() == WHY_PLACEHOLDER or body.strip().startswith("_Not explained yet.")


def why_block(goal_id, body):
    return ["<!-- why:%s:begin -->" % goal_id, body or WHY_PLACEHOLDER, "<!-- why:%s:end -->" % goal_id]


def render(run_dir, old_whys):
    env = read_env(os.path.join(run_dir, "run.env"))
    loads = read_load(os.path.join(run_dir, "load.tsv"))
    anchors, probes, versions, afiles = load_anchors(run_dir)
    menshen, corpus_bytes, failures, mfiles = load_menshen(run_dir)
    if not afiles or not mfiles:
        sys.exit("report.py: %s has no anchors-*.json or no menshen-*.json (run Benchmarks/run.sh)" % run_dir)
    sizes = [s for s in SIZES if any(k[0] == s for k in menshen) or any(k[1] == s for k in anchors)]
    runs, rounds = int(env.get("runs", 0) or 0), int(env.get("rounds", 1) or 1)
    quick = env.get("quick") == "1"
    nproc = os.cpu_count() or 0
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or nproc)
    except OSError:
        pass

    L = []
    w = L.append
    w(BEGIN)
    w("<!-- Generated by Benchmarks/report.py; rerun Benchmarks/run.sh to refresh. Everything up to "
      "lexicon:end is rewritten, except the text between each why:<goal>:begin / why:<goal>:end pair, "
      "which is kept. -->")
    w("")
    w("## Lexicon matching: Menshen vs. the anchors")
    w("")
    started = loads[0][1] if loads else datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cmd = "Benchmarks/run.sh --sizes %s --runs %s" % (env.get("sizes", ",".join(sizes)), runs)
    if rounds > 1:
        cmd += " --rounds %d" % rounds
    if quick:
        cmd += " --quick"
    w("Measured %s UTC with `%s` (results: `%s`)." % (started.replace("T", " ").rstrip("Z"), cmd,
                                                       os.path.relpath(os.path.realpath(run_dir), ROOT)))
    w("")
    trial = []
    if quick:
        trial.append("`--quick` (no build/memory probes for the anchors, no google-re2)")
    if runs < 3:
        trial.append("%d timed run%s per engine" % (runs, "" if runs == 1 else "s"))
    if set(sizes) != set(SIZES):
        trial.append("sizes %s only" % ", ".join(sizes))
    if trial:
        w("> **Trial run, not a result:** %s. The numbers below show the report's shape; the real "
          "figures come from a full `Benchmarks/run.sh` on a quiet machine." % "; ".join(trial))
        w("")
    if failures:
        w("> **Match-count check FAILED** (menshen-bench): " + "; ".join(failures))
        w("")

    # machine
    mem = mem_total_gib()
    uname = platform.uname()
    w("- **Machine:** %s CPUs (nproc), %s, %s RAM, %s %s." % (
        nproc, cpu_model(), "%.0f GiB" % mem if mem else "?", uname.system, uname.release))
    if loads:
        def la(x):
            return "%.2f / %.2f / %.2f" % x if x else "?"
        w("- **Load average (1/5/15 min):** %s before, %s after." % (la(loads[0][2]), la(loads[-1][2])))
        steps = ", ".join("%s %.2f" % (p, l[0]) for p, _, l in loads[1:-1] if l)
        if steps:
            w("  1-min load at each step: %s." % steps)
        peak = max((l[0] for _, _, l in loads if l), default=0)
        if nproc and peak >= 0.5 * nproc:
            w("  The machine was busy (1-min load up to %.2f on %d CPUs): absolute MB/s are noisy; "
              "the ratios compare runs that shared the same conditions." % (peak, nproc))
    commit = env.get("git_commit") or git("rev-parse", "HEAD")
    dirty = " + uncommitted changes under Sources/ or Package.*" if env.get("git_dirty") == "1" else ""
    bin_path = env.get("menshen_bench", "")
    bin_note = ""
    if bin_path and os.path.exists(bin_path):
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(bin_path), datetime.timezone.utc)
        bin_note = ", binary built %s UTC" % mtime.strftime("%Y-%m-%d %H:%M")
        if env.get("menshen_bench_prebuilt") == "1":
            bin_note += " (prebuilt via `MENSHEN_BENCH_BIN`, not rebuilt by run.sh)"
    w("- **Menshen:** commit `%s`%s; `menshen-bench` release build%s; %s." % (
        commit[:12], dirty, bin_note, env.get("swift_version") or "Swift version unknown"))
    hs_lib = next((p.get("hs_info", "").split(" Features")[0].replace("Version: ", "")
                   for p in probes.values() if p.get("hs_info")), "")
    av = []
    for name in ["ahocorasick-rs", "hyperscan", "pyahocorasick", "google-re2"]:
        v = versions.get(name)
        if name == "hyperscan" and v and hs_lib:
            v += " (Hyperscan %s)" % hs_lib
        av.append("%s %s" % (name, v or "not installed"))
    w("- **Anchors:** %s; Python %s (`bench_anchors.py`)." % (", ".join(av), versions.get("python") or env.get("python", "?")))
    if corpus_bytes:
        w("- **Data:** `corpus.txt` %s bytes (%.1f MiB), `lexicon_{1k,10k,100k}.txt` from `make_data.py`; "
          "%d timed whole-corpus run%s per engine%s." % (
              num(corpus_bytes), corpus_bytes / MIB, runs, "" if runs == 1 else "s",
              " in each of %d rounds (pooled)" % rounds if rounds > 1 else ""))
    w("")

    # goals
    goals = build_goals(anchors, menshen, corpus_bytes)
    w("### Goals")
    w("")
    w("Menshen with full normalization (as deployed); the anchors do no normalization at all.")
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
            w("**Why: %s** — %s: %s." % (g.text, g.measured, g.margin()))
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

    # per size
    mib = lambda mb: mb * 1e6 / MIB  # menshen-bench reports MB (10^6), the anchors MiB
    for size in sizes:
        norm, raw = menshen.get((size, "normalized")), menshen.get((size, "raw"))
        terms = (norm or raw or {}).get("terms")
        w("### %s terms%s" % (size, " (%s)" % num(terms) if terms else ""))
        w("")
        ref = anchors.get((REF, size))
        hs = anchors.get((HS, size))
        refv = med(ref["mbps"]) if ref else None
        hsv = med(hs["mbps"]) if hs else None
        w("| engine | MB/s median (min–max) | × acrs.bytes.ll | × hs.all | matches | build / compile s |")
        w("|---|---|---|---|---|---|")
        for label, m in [("**Menshen, normalized** (full normalization, word boundaries auto)", norm),
                         ("Menshen, raw (no normalization, no word boundaries)", raw)]:
            if not m:
                continue
            v = med(m["mbps"])
            w("| %s | %s | %s | %s | %s | %s |" % (label, mbps_cell(m["mbps"]), ratio_cell(ratio(v, refv)),
                                                   ratio_cell(ratio(v, hsv)), count_cell(m["counts"]),
                                                   fmt_s(med(m["compile_s"]))))
        engines = sorted({e for e, s in anchors if s == size},
                         key=lambda e: ANCHOR_ORDER.index(e) if e in ANCHOR_ORDER else 99)
        for e in engines:
            a = anchors[(e, size)]
            v = med(a["mbps"])
            cell = mbps_cell(a["mbps"])
            if a["bytes"] != corpus_bytes and corpus_bytes:
                cell += " warm, on the first %.2f MiB only" % (a["bytes"] / MIB)
            counts = count_cell(a["matches"])
            if a["bytes"] != corpus_bytes and corpus_bytes:
                counts += " (prefix)"
            elif a["semantics"] == "overlapping":
                counts += " (all overlapping ends)"
            w("| %s — %s | %s | %s | %s | %s | %s |" % (e, ANCHOR_DESC.get(e, a["semantics"]), cell,
                                                        ratio_cell(ratio(v, refv)), ratio_cell(ratio(v, hsv)),
                                                        counts, fmt_s(med(a["build_s"]))))
        w("")
        # counts
        rc, ac = only(raw["counts"]) if raw else None, only(ref["matches"]) if ref else None
        notes = []
        if rc is not None and ac is not None:
            if rc == ac:
                notes.append("✅ Menshen raw finds exactly the leftmost-longest count of acrs.bytes.ll (%s)" % num(ac))
            else:
                notes.append("❌ **Menshen raw finds %s, acrs.bytes.ll %s: the counts must be equal**" % (num(rc), num(ac)))
        others = [e for e in engines if e in LL_ANCHORS and e != REF]
        agree = [e for e in others if only(anchors[(e, size)]["matches"]) == ac]
        if ac is not None and others:
            if len(agree) == len(others):
                notes.append("%s agree%s" % (", ".join(others), "s" if len(others) == 1 else ""))
            else:
                notes.append("⚠ leftmost-longest anchors disagree: %s" % ", ".join(
                    "%s %s" % (e, count_cell(anchors[(e, size)]["matches"])) for e in others))
        nc = only(norm["counts"]) if norm else None
        if nc is not None and rc is not None:
            notes.append("normalization adds %s hits (%s in total: Title/UPPER case, full-width)" % (num(nc - rc), num(nc)))
        if notes:
            w("Match counts: " + "; ".join(notes) + ". Hyperscan reports every overlapping match end, "
              "so its count is higher and not comparable.")
            w("")
        # build & memory
        if norm:
            c = med(norm["compile_s"])
            parts = []
            for e in (REF, HS):
                if (e, size) in anchors:
                    p = probes.get((e, size))
                    b = p["build_s"] if p and "error" not in p else med(anchors[(e, size)]["build_s"])
                    parts.append("%s× %s's %s s" % (fmt(c / b), e, fmt_s(b)) if b else e)
            line = "Compile (normalized): %s s%s." % (fmt_s(c), ", " + " and ".join(parts) if parts else "")
            mem_parts = ["%s %s MiB" % (e, fmt(probes[(e, size)]["rss_after_build_mib"])) for e in (REF, HS)
                         if (e, size) in probes and "error" not in probes[(e, size)]]
            line += " Memory: Menshen's automaton %s MiB (RSS delta of the process's first, raw-mode compile: %s MiB)%s." % (
                fmt(mib(med(norm["automaton_mb"]))), fmt(mib(med((raw or norm)["rss_delta_mb"]))),
                "; anchors' RSS after build: " + ", ".join(mem_parts) if mem_parts else "")
            w(line)
            w("")
        w("| engine | build / compile s (anchors: fresh process) | memory after build, MiB | peak during build, MiB | structure, MiB |")
        w("|---|---|---|---|---|")
        for label, m in [("Menshen, normalized", norm), ("Menshen, raw", raw)]:
            if not m:
                continue
            w("| %s | %s | %s RSS delta (process RSS %s) | – | %s automaton |" % (
                label, fmt_s(med(m["compile_s"])), fmt(mib(med(m["rss_delta_mb"]))), fmt(mib(med(m["rss_mb"]))),
                fmt(mib(med(m["automaton_mb"])))))
        for e in engines:
            p = probes.get((e, size))
            if p and "error" not in p:
                w("| %s | %s | %s RSS delta | %s | %s |" % (
                    e, fmt_s(p["build_s"]), fmt(p["rss_after_build_mib"]), fmt(p["peak_during_build_mib"]),
                    fmt(p["structure_mib"]) if "structure_mib" in p else "–"))
            elif p:
                w("| %s | error: %s | | | |" % (e, p["error"][:80].replace("|", "/")))
            else:
                w("| %s | %s (in the throughput process) | – (no probe%s) | – | – |" % (
                    e, fmt_s(med(anchors[(e, size)]["build_s"])), ": --quick" if quick else ""))
        w("")
    # streaming
    if any(menshen.get((s, "normalized")) for s in sizes):
        w("### Streaming in 64-byte chunks")
        w("")
        w("| size | mode | whole text MB/s | 64-byte chunks MB/s | chunks / whole |")
        w("|---|---|---|---|---|")
        for size in sizes:
            for mode in ["normalized", "raw"]:
                m = menshen.get((size, mode))
                if m:
                    w("| %s | %s | %s | %s | %.2f |" % (size, mode, fmt(med(m["mbps"])), fmt(med(m["stream64"])),
                                                        med(m["stream_ratio"])))
        w("")
    # normalization steps (issue #16): the same lexicon with and without the new steps, one process
    if any(menshen.get((s, "normalized-pre16")) for s in sizes):
        w("### Normalization steps")
        w("")
        w("`all` now includes `markup`, `digits` and `variants` (issue #16). The same lexicon compiled with "
          "`all,-markup,-digits,-variants` (the steps before it) and scanned in the same process gives their cost "
          "on text without markup; `all` over the corpus with `<br>` before every line break gives the cost when "
          "the markup reading runs (a second reading beside the plain one, Lexicons/README.md).")
        w("")
        w("| size | all, MB/s | before #16, MB/s | all / before | all on markup text, MB/s | markup / before | 64-byte chunks: all / before |")
        w("|---|---|---|---|---|---|---|")
        for size in sizes:
            n, o, h = (menshen.get((size, m)) for m in ("normalized", "normalized-pre16", "normalized-html"))
            if n and o:
                w("| %s | %s | %s | %.2f | %s | %s | %.2f |" % (
                    size, fmt(med(n["mbps"])), fmt(med(o["mbps"])), med(n["mbps"]) / med(o["mbps"]),
                    fmt(med(h["mbps"])) if h else "–", "%.2f" % (med(h["mbps"]) / med(o["mbps"])) if h else "–",
                    med(n["stream64"]) / med(o["stream64"])))
        w("")
    # method
    w("### What is measured")
    w("")
    w("- Throughput is UTF-8 bytes of the whole ~32 MiB corpus / wall time (1 MB = 10⁶ bytes), median of "
      "the timed runs with min–max; each call materializes its matches. Menshen: `LexiconSet.scan` on the whole "
      "buffer plus leftmost-longest selection. Anchors: see `bench_anchors.py --help` (the engines of one size "
      "run round-robin).")
    w("- Per lexicon size the anchors run first, then `menshen-bench`, in the same run; "
      "every ratio compares numbers taken back to back under the same load (`--rounds R` alternates the two R times).")
    w("- Menshen's raw mode (no normalization, no word boundaries) must find exactly the anchors' "
      "leftmost-longest count, which run.sh passes to `menshen-bench --expect`; normalized mode must find "
      "at least as many; streaming must find what whole-text scanning finds. `menshen-bench` checks all three.")
    w("- Memory: the anchors are probed in a fresh process per engine (RSS after build minus RSS before, MiB). "
      "Menshen's figures come from `menshen-bench` (a fresh process per size, the corpus already loaded; raw mode "
      "compiles first, so the normalized delta can reuse freed heap and read low; the automaton figure is the "
      "structure's own size). The memory goal uses the stricter whole-process RSS minus the corpus buffer, "
      "which still includes the Swift runtime and anything left over from the raw-mode pass. "
      "The goal's 150 MB is 150 × 10⁶ bytes.")
    w("- Streaming: the same corpus fed in 64-byte chunks to a `StreamScanner`, against whole-text throughput "
      "of the same process; the goal reads \"within 20 %\" as chunks / whole ≥ 0.80.")
    w(END)
    return "\n".join(L) + "\n"


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
               "rewrites only that section; text outside the markers is never touched by the scripts. "
               "Lexicon matching: `Benchmarks/run.sh` (see `Benchmarks/README.md`).\n")
    return doc.rstrip("\n") + "\n\n" + section


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", default=os.path.join(ROOT, "bench-out", "lexicon-latest"))
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
    new = splice(doc, section)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(new)
    print("report.py: wrote the lexicon section of %s" % args.output, file=sys.stderr)


if __name__ == "__main__":
    main()
