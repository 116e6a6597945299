#!/usr/bin/env bash
# End-to-end checks with real clients against the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug/menshen
fail=0
check() { local name=$1 expected=$2; shift 2; local rc=0; "$@" >/tmp/menshen-e2e.out 2>&1 || rc=$?
  if [ "$rc" != "$expected" ]; then echo "FAIL $name: exit $rc, expected $expected"; cat /tmp/menshen-e2e.out; fail=$((fail+1)); else echo "ok   $name"; passed=$((passed+1)); fi; }
passed=0
check "check blocks the finance term" 4 sh -c "echo '这款产品稳 赚 不 赔，详询 13812345678' | $bin check - | grep -q '138\*\*\*\*5678' && echo '这款产品稳 赚 不 赔，详询 13812345678' | $bin check -"
check "check allows the disclosure" 0 $bin check '本产品不保本，投资有风险'
check "lexicon validate" 0 $bin lexicon validate Lexicons
check "lexicon test" 0 $bin lexicon test Lexicons
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '@id: broken\n@category: c\n@action: explode\nterm\n' > "$tmp/broken.txt"
check "validate names file:line" 1 sh -c "$bin lexicon validate $tmp 2>&1 | grep -q '$tmp/broken.txt:3:' && $bin lexicon validate $tmp"
echo "e2e: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
