#!/usr/bin/env python3
"""Writes the generated block of context exceptions at the end of a term list.

    python3 Lexicons/tools/gen_context_exceptions.py            # rewrite the block in place
    python3 Lexicons/tools/gen_context_exceptions.py --check    # exit 1 if the block is stale

A term list's exceptions are literal: `!谨防零风险` suppresses the match of 零风险 in
"谨防“零风险”骗局" (quotes and spaces are noise) and nothing else. Warnings, quotations,
reported speech and questions put the same promise terms after a cue (谨防 / 声称 / 有人说 /
是否 / beware of / claims of …) or before one (…吗 / …是真的吗 / …等宣传 / …为诱饵 /
… is a scam). Writing those combinations by hand for every term is how such lists rot, so
this script writes them: for each term of the file (outside the generated block) and each
cue of its script, one exception `!CUE+TERM` or `!TERM+CUE`. Combinations that equal a term
or an exception already written by hand are skipped.

A cue belongs here only if no promise puts it right before (or after) a promise term: 承诺
(我们承诺保本), 以 (可以稳赚), 心 (放心，稳赚不赔), 真的 (真的稳赚不赔！) and "offers"
(this fund offers guaranteed returns) are deliberately absent. What the block cannot do: see
the section "Context" of ../README.md (a cue separated from the term by other words, a
question mark, quotation marks as such).
"""
import argparse
import re
import sys
from pathlib import Path

BEGIN = "# BEGIN GENERATED CONTEXT EXCEPTIONS (Lexicons/tools/gen_context_exceptions.py; do not edit by hand)"
END = "# END GENERATED CONTEXT EXCEPTIONS"

# Cues written before a Chinese term (negation, warning, reported speech, question). A cue
# also covers every longer cue that ends with it (称 covers 声称, 宣称, 号称, 自称).
ZH_BEFORE = [
    # negation
    "不", "不是", "非", "没有", "存在", "可能", "不能", "无法", "不得", "未必", "不一定", "禁", "止", "勿", "代表", "哪有",
    # warning and quotation frames (谨防/提防, 警惕, 所谓, 声称/宣称/号称/自称, 鼓吹, 宣传, 相信/轻信)
    "防", "惕", "谓", "称", "吹", "传", "信", "什么",
    # reported speech (有人说/他说/据说/听说 …) and quoted wording (不得承诺“…”, 广告里写着“…”)
    "说", "得承诺", "不承诺", "不会承诺", "写着", "印着", "听到",
    # questions
    "是否", "难道",
]
# Cues written right after a Chinese term (question, label, complaint, verdict). Not 不可能 /
# 不存在: "收益稳稳的，不可能亏" and "稳赚不赔，不存在风险" are promises.
ZH_AFTER = [
    "吗", "么", "呢", "是真的吗", "真的吗", "是不是真的", "靠谱吗", "可信吗", "可能吗", "是骗", "骗局", "陷阱", "话术",
    "说法", "之类", "等宣传", "等说法", "等用语", "为诱饵", "诱饵", "请投诉", "请举报", "请拨打", "违规", "往往是",
    "的都是", "的宣传", "的广告",
]
# English cues: fewer, because English reported speech usually shifts the pronoun or tense
# ("your principal is guaranteed" → "their principal was guaranteed") and then no term matches.
EN_BEFORE = [
    "beware of", "wary of", "watch out for", "promising", "promises of", "claims of", "claimed", "who offer",
    "really offer", "no such thing as", "not", "never", "lure victims with", "is it true that",
]
EN_AFTER = [
    "scam", "red flag", "hallmark of fraud", "too good to be true", "is illegal", "is that real", "is that true",
    "even possible",
]

HAN = re.compile(r"[\u4e00-\u9fff]")


def key(s: str) -> str:
    """Rough normalization for de-duplication (case, spaces and punctuation)."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff%]", "", s.lower())


def generate(lines: list[str]) -> list[str]:
    terms, existing = [], set()
    for raw in lines:
        t = raw.strip()
        if not t or t.startswith("#") or t.startswith("@"):
            continue
        if t.startswith("!"):
            existing.add(key(t[1:]))
            continue
        if t.startswith("\\"):
            t = t[1:]
        terms.append(t)
        existing.add(key(t))
    out, seen = [], set(existing)
    for t in terms:
        if HAN.search(t):
            combos = [c + t for c in ZH_BEFORE] + [t + c for c in ZH_AFTER]
        else:
            combos = [f"{c} {t}" for c in EN_BEFORE] + [f"{t} {c}" for c in EN_AFTER]
        for combo in combos:
            k = key(combo)
            if k in seen:
                continue
            seen.add(k)
            out.append("!" + combo)
    return out


def rewrite(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    head = text.split(BEGIN)[0].rstrip("\n") + "\n"
    generated = generate(head.splitlines())
    block = "\n".join([BEGIN, f"# {len(generated)} exceptions: {len(ZH_BEFORE)}+{len(ZH_AFTER)} Chinese cues, "
                       f"{len(EN_BEFORE)}+{len(EN_AFTER)} English cues, times the terms above.", *generated, END])
    return text, head + "\n" + block + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("files", nargs="*", type=Path,
                    default=[Path(__file__).resolve().parent.parent / "finance" / "guaranteed-returns.txt"])
    args = ap.parse_args()
    stale = 0
    for path in args.files:
        old, new = rewrite(path)
        if args.check:
            if old != new:
                print(f"{path}: generated context exceptions are stale; run {Path(__file__).name}")
                stale += 1
        else:
            path.write_text(new, encoding="utf-8")
            print(f"{path}: {new.count(chr(10)) - old.split(BEGIN)[0].count(chr(10))} generated lines")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
