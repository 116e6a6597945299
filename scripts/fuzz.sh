#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, docs/fuzzing.md) with the fuzzer and address sanitizers
# and runs each for a set time on a copy of its committed seed corpus.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60
#   TARGET              fuzz-json fuzz-sse fuzz-lexicon fuzz-stream-scan (default: all)
#
# Everything goes under .build-fuzz/ (never the normal .build/):
#   .build-fuzz/corpus/TARGET/     the working corpus: the committed seeds copied in, grown by runs
#   .build-fuzz/artifacts/TARGET/  crash-*, leak-*, timeout-*, oom-* reproducers
#   .build-fuzz/logs/TARGET.log    libFuzzer's output of the last run
#   .build-fuzz/fuzz-summary.tsv   one line per run: date, target, seconds, runs, exec/s, result
# Fuzz/regressions/TARGET/* (reproducers of findings) are replayed before fuzzing.
# Exits non-zero if any target finds something (or a regression reproducer still fails).
#
# Environment: FUZZ_CONFIG release (default) or debug; FUZZ_FLAGS adds libFuzzer flags (e.g. "-max_len=8192"); MENSHEN_LEXICONS is the
# directory fuzz-stream-scan loads (default Lexicons/); SWIFT (default swift).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi
shift || true
all_targets=(fuzz-json fuzz-sse fuzz-lexicon fuzz-stream-scan)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -d "Fuzz/corpus/$t" ] || { echo "unknown fuzz target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
done

scripts/install-deps.sh build || exit 1
SWIFT=${SWIFT:-swift}
scratch=.build-fuzz
# Release by default: an -Onone build runs the same properties 5-50x slower (Swift's bounds and
# overflow checks stay on at -O; only -Ounchecked drops them).
config=${FUZZ_CONFIG:-release}
# SwiftPM passes `-sanitize=fuzzer -sanitize=address` to swiftc as two flags, and the last one
# wins: Swift code gets ASan but no coverage (libFuzzer then sees only C code, or nothing, and
# warns "Is the code instrumented for coverage?"). The combined flag after them restores both.
build=(env MENSHEN_FUZZ=1 "$SWIFT" build -c "$config" --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address
       -Xswiftc -sanitize=fuzzer,address)

for t in "${targets[@]}"; do
  echo "== building $t (a cold sanitizer build takes minutes)"
  mkdir -p "$scratch/logs"
  if ! "${build[@]}" --product "$t" > "$scratch/logs/build-$t.log" 2>&1; then
    # The ld.gold "Cannot export local symbol '__asan_check_...'" warnings of every ASan link are noise.
    grep -v "Cannot export local symbol" "$scratch/logs/build-$t.log" | tail -40 >&2
    echo "fuzz: building $t failed" >&2
    exit 1
  fi
done
bin=$("${build[@]}" --show-bin-path 2>/dev/null | tail -1)
# Refuse to fuzz blind: the target's own Swift code must carry coverage counters.
for t in "${targets[@]}"; do
  module=$(sed -n "s/^ *(\"$t\", \"\([A-Za-z]*\)\".*/\1/p" Package.swift)
  object="$bin/$module.build/main.swift.o"
  sections=$(readelf -S "$object" 2>/dev/null || true)
  if [ -z "$module" ] || [[ "$sections" != *sancov_cntrs* ]]; then
    echo "fuzz: $object has no coverage counters (not built with -sanitize=fuzzer?)" >&2
    exit 1
  fi
done

# The Swift backtracer's crash handler trips ASan after a real crash; libFuzzer reports it anyway.
export SWIFT_BACKTRACE=enable=no
# A smaller quarantine than the default 256 MB: the same exec/s, a third of the memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}
export MENSHEN_LEXICONS=${MENSHEN_LEXICONS:-$root/Lexicons}
failed=()
summary="$scratch/fuzz-summary.tsv"
[ -f "$summary" ] || printf 'date\ttarget\tseconds\truns\texec_per_s\tresult\n' > "$summary"

for t in "${targets[@]}"; do
  corpus="$scratch/corpus/$t"
  artifacts="$scratch/artifacts/$t"
  log="$scratch/logs/$t.log"
  mkdir -p "$corpus" "$artifacts"
  cp Fuzz/corpus/"$t"/* "$corpus"/            # a copy: the committed seeds never grow

  regressions=(Fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== $t: replaying ${#regressions[@]} regression reproducer(s)"
    if ! "$bin/$t" -runs=1 "${regressions[@]}" > "$scratch/logs/$t.regressions.log" 2>&1; then
      echo "fuzz: $t: a reproducer under Fuzz/regressions/$t still fails (see $scratch/logs/$t.regressions.log)" >&2
      failed+=("$t (regression)")
    fi
  fi

  echo "== $t: fuzzing for $seconds s (log: $log)"
  # shellcheck disable=SC2086
  "$bin/$t" "$corpus" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_FLAGS:-} > "$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $status -eq 0 ]; then
    result=ok
    echo "   $t: no finding in $seconds s (${runs:-?} runs, ${rate:-?} exec/s)"
  else
    result="FINDING (exit $status)"
    failed+=("$t")
    echo "fuzz: $t found something (exit $status); reproducer(s) in $artifacts:" >&2
    grep -E "^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*fuzz-[a-z-]+: )" "$log" | head -5 >&2
    ls -t "$artifacts" | head -3 | sed "s|^|   $artifacts/|" >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "${runs:-?}" "${rate:-?}" "$result" >> "$summary"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings (${targets[*]}, $seconds s each)"
