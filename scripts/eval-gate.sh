#!/usr/bin/env bash
# Detection-quality gate: runs `menshen eval` over the sample corpora (Tests/Corpora/*.jsonl)
# and the generated corpora (Tests/Corpora/generated/, built by scripts/gen_corpora.py) with
# thresholds, and fails when a lexicon change makes any figure worse than what the shipped
# lexicons reach. Called by `make test`.
#
#   scripts/eval-gate.sh [MENSHEN_BINARY]      # default .build/debug/menshen
#
# Each threshold sits slightly below the figure measured when it was set (docs/eval.md,
# "Results on the generated corpora"), so one or two newly missed cases fail the gate. When a
# change improves a figure, raise its threshold here in the same commit. Exit status: 0 when
# every check passes, 1 when a check fails or a corpus cannot be read.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/menshen}
[ -x "$bin" ] || { echo "eval-gate: $bin is not an executable (build it first)"; exit 1; }
gen=Tests/Corpora/generated
passed=0; failed=0

# check NAME CORPUS... -- THRESHOLD-OPTIONS...
check() {
  local name=$1; shift
  local corpora=() options=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do corpora+=("$1"); shift; done
  shift
  options=("$@")
  local out rc
  out=$("$bin" eval --lexicons Lexicons --throughput-seconds 0 "${options[@]}" "${corpora[@]}" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then
    echo "ok    $name"; passed=$((passed + 1))
  else
    echo "FAIL  $name (menshen eval exit $rc)"
    # The threshold section says which figure missed; the listings say which cases.
    printf '%s\n' "$out" | awk '/^## Thresholds/{p=1} /^## (False|Other|Rules)/{if(p)exit} p' | sed 's/^/      /'
    [ $rc -ne 2 ] && printf '%s\n' "$out" | tail -20 | sed 's/^/      /'
    failed=$((failed + 1))
  fi
}

# The sample corpora, written by hand to probe the edges (docs/eval.md, "Results on the sample corpora").
check "sample corpora: recall per category, false-positive rate" Tests/Corpora/*.jsonl -- \
  --min-recall finance-marketing=0.97 --min-recall personal-information=0.83 \
  --min-recall prompt-injection=0.93 --min-recall secrets=0.85 --max-false-positive-rate 0.025

# Personal data in zh_CN and en_US formats (Faker): masked.
check "generated: personal data masked" $gen/personal-information.jsonl -- \
  --min-recall personal-information=0.98
# Look-alike numbers (labelled order/batch/archive numbers, timestamps, hotlines): left alone.
check "generated: look-alike numbers left alone" $gen/decoys.jsonl -- \
  --max-false-positive-rate personal-information=0.02
# Finance promises (answers), Chinese and English, with evasions: blocked.
check "generated: finance promises blocked" $gen/finance-promises.jsonl -- \
  --min-recall finance-marketing=0.97
# The same words in warnings, quotations, reported speech, questions, disclosures: allowed
# (context clauses, Lexicons/README.md §8).
check "generated: finance near misses allowed" $gen/finance-near-miss.jsonl -- \
  --max-false-positive-rate finance-marketing=0.02
# Frames written after the context clauses (news, court rulings, FAQ, customer service; and
# promises next to warning-like words): the clauses generalise, and promises stay blocked.
check "generated: fresh near misses allowed" $gen/finance-near-miss-fresh.jsonl -- \
  --max-false-positive-rate finance-marketing=0.03
check "generated: fresh promises blocked" $gen/finance-promises-fresh.jsonl -- \
  --min-recall finance-marketing=0.97
# The same claims and injection phrases plain and evaded (HTML references and tags, terminal
# escapes, zero-width, full-width, Traditional and shinjitai forms, look-alike letters, spacing):
# caught as often as the plain ones (evasion-plain.jsonl: finance 0.93, injection 1.00).
check "generated: evasion variants caught" $gen/evasion-variants.jsonl -- \
  --min-recall finance-marketing=0.92 --min-recall prompt-injection=0.97
# Injection and jailbreak prompts, English and Chinese: flagged.
check "generated: injection prompts flagged" $gen/prompt-injection.jsonl -- \
  --min-recall prompt-injection=0.93
# Ordinary banking texts and innocent prompts that share words with attacks: untouched.
check "generated: benign texts untouched" $gen/benign.jsonl $gen/prompt-injection-benign.jsonl -- \
  --max-false-positive-rate 0.005

echo "eval-gate: $passed passed, $failed failed"
[ $failed -eq 0 ]
