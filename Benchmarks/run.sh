#!/usr/bin/env bash
# Lexicon benchmark: Menshen (menshen-bench) and the anchors (bench_anchors.py: Rust's
# aho-corasick, Hyperscan, pyahocorasick, optionally google-re2) on the same data, in one
# run, interleaved per lexicon size; then Benchmarks/report.py writes the lexicon section of
# BENCHMARKS.md. See Benchmarks/README.md.
#
# Usage: Benchmarks/run.sh [--sizes 1k,10k,100k] [--runs N] [--rounds R] [--quick] [--no-report]
#
#   --sizes   lexicon sizes (default 1k,10k,100k)
#   --runs    timed whole-corpus runs per engine in each round (default 5)
#   --rounds  anchors-then-Menshen rounds per size (default 1); the runs of all rounds are
#             pooled, so R > 1 spreads both sides over more of the machine's noisy phases
#   --quick   skip the build/memory probes of the anchors and google-re2 (for trying the
#             script out; the report then says so)
#   --no-report  measure only; run Benchmarks/report.py RUN_DIR later
#
# Environment:
#   BENCH_DATA         data directory (default <repo>/bench-data; generated when missing)
#   BENCH_OUT          results directory (default <repo>/bench-out); each run writes a new
#                      BENCH_OUT/lexicon-YYYYmmdd-HHMMSS/ and points BENCH_OUT/lexicon-latest at it
#   MENSHEN_BENCH_BIN  use this menshen-bench binary instead of building one
#   ANCHOR_ENGINES     override the anchor engine list (comma-separated bench_anchors.py ids)
#   SHARED_BENCH       folder with make_data.py / bench_anchors.py (default <repo>/../shared/bench)
#   PYTHON             python interpreter (default python3)
set -euo pipefail

sizes=1k,10k,100k
runs=5
rounds=1
quick=0
report=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --sizes=*) sizes=${1#*=}; shift ;;
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#*=}; shift ;;
    --quick) quick=1; shift ;;
    --no-report) report=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds must be a positive integer" >&2; exit 2; }
IFS=, read -r -a size_list <<<"$sizes"
for s in "${size_list[@]}"; do
  case "$s" in 1k|10k|100k) ;; *) echo "run.sh: unknown size $s (1k, 10k, 100k)" >&2; exit 2 ;; esac
done

# Paths given in the environment are relative to where the script was started; defaults are
# relative to the repository.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
data=$(abspath "${BENCH_DATA:-$root/bench-data}")
out_base=$(abspath "${BENCH_OUT:-$root/bench-out}")
shared=$(abspath "${SHARED_BENCH:-$root/../shared/bench}")
py=${PYTHON:-python3}
bin_given=${MENSHEN_BENCH_BIN:+$(abspath "$MENSHEN_BENCH_BIN")}
cd "$root"

log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[ -f "$shared/bench_anchors.py" ] || { echo "run.sh: $shared/bench_anchors.py not found (set SHARED_BENCH)" >&2; exit 1; }

# ---------------------------------------------------------------- dependencies (only if missing)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need_apt=()
[ -e /usr/share/dict/words ] || [ -e /usr/share/dict/american-english ] || need_apt+=(wamerican)
if [ -z "$bin_given" ]; then
  pkg-config --exists libpcre2-8 2>/dev/null || need_apt+=(libpcre2-dev pkg-config)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pymissing() {  # prints the pip names of the modules that do not import
  "$py" - "$@" <<'EOF'
import importlib.util, sys
for spec in sys.argv[1:]:
    module, pip_name = spec.split("=", 1)
    if importlib.util.find_spec(module) is None:
        print(pip_name)
EOF
}
mapfile -t need_pip < <(pymissing hyperscan=hyperscan ahocorasick_rs=ahocorasick-rs \
  ahocorasick=pyahocorasick flashtext=flashtext jieba=jieba==0.42.1)
if [ ${#need_pip[@]} -gt 0 ]; then
  log "pip install ${need_pip[*]}"
  "$py" -m pip install -q "${need_pip[@]}" ||
    "$py" -m pip install -q --break-system-packages "${need_pip[@]}"
fi

# ---------------------------------------------------------------- data
have_data=1
for f in corpus.txt lexicon_1k.txt lexicon_10k.txt lexicon_100k.txt; do
  [ -s "$data/$f" ] || have_data=0
done
if [ $have_data = 0 ]; then
  log "generating benchmark data into $data (make_data.py)"
  mkdir -p "$data"
  "$py" "$shared/make_data.py" --out "$data" >&2
fi
export BENCH_DATA=$data

# ---------------------------------------------------------------- menshen-bench
if [ -n "$bin_given" ]; then
  bin=$bin_given
  [ -x "$bin" ] || { echo "run.sh: MENSHEN_BENCH_BIN=$bin is not executable" >&2; exit 1; }
  log "using prebuilt $bin (MENSHEN_BENCH_BIN; not rebuilt)"
else
  log "swift build -c release --product menshen-bench"
  swift build -c release --product menshen-bench >&2
  bin="$(swift build -c release --product menshen-bench --show-bin-path)/menshen-bench"
fi

# ---------------------------------------------------------------- anchors' engines
engines=${ANCHOR_ENGINES:-acrs.bytes.ll,acrs.str.ll,hs.all,pyac.ll}
if [ -z "${ANCHOR_ENGINES:-}" ] && [ $quick = 0 ]; then
  if "$py" -c 'import importlib.metadata as m; m.version("google-re2")' 2>/dev/null; then
    engines="$engines,re2.ll"
  else
    log "google-re2 not installed: re2.ll skipped"
  fi
fi

# ---------------------------------------------------------------- run
run_dir="$out_base/lexicon-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run_dir"
ln -sfn "$(basename "$run_dir")" "$out_base/lexicon-latest"
loadfile="$run_dir/load.tsv"
load() { printf '%s\t%s\t%s\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uptime)" >>"$loadfile"; }

probe_args=()
[ $quick = 1 ] && probe_args=(--skip-probes)
cat >"$run_dir/run.env" <<EOF
sizes=$sizes
runs=$runs
rounds=$rounds
quick=$quick
engines=$engines
data=$data
menshen_bench=$bin
menshen_bench_prebuilt=$([ -n "$bin_given" ] && echo 1 || echo 0)
git_commit=$(git rev-parse HEAD)
git_dirty=$([ -n "$(git status --porcelain -- Sources Benchmarks/MenshenBench Package.swift Package.resolved)" ] && echo 1 || echo 0)
swift_version=$(swift --version 2>/dev/null | head -n1 || true)
python=$("$py" -c 'import sys; print(sys.version.split()[0])')
EOF

log "results in $run_dir (sizes $sizes, $runs runs x $rounds round(s), anchors: $engines)"
status=0
load start
for size in "${size_list[@]}"; do
  for ((r = 1; r <= rounds; r++)); do
    # Probes (fresh subprocess per engine: build time + memory) only in the first round.
    pa=("${probe_args[@]}")
    [ "$r" -gt 1 ] && pa=(--skip-probes)
    load "anchors $size r$r"
    log "anchors $size round $r/$rounds"
    "$py" "$shared/bench_anchors.py" --sizes "$size" --runs "$runs" --engines "$engines" \
      --skip-norm --skip-per-message "${pa[@]}" --out "$run_dir/anchors-$size-r$r.json" \
      >"$run_dir/anchors-$size-r$r.txt" 2>"$run_dir/anchors-$size-r$r.log" ||
      { log "bench_anchors.py failed, see $run_dir/anchors-$size-r$r.log"; tail -n 20 "$run_dir/anchors-$size-r$r.log" >&2; exit 1; }
    # Menshen's raw count must equal the anchors' leftmost-longest count measured just now.
    expect=$("$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(",".join("%s=%d" % (t["size"], t["matches"]) for t in d["throughput"] if t["engine"] == "acrs.bytes.ll"))
' "$run_dir/anchors-$size-r$r.json")
    load "menshen $size r$r"
    log "menshen-bench $size round $r/$rounds${expect:+ (expect $expect)}"
    if ! "$bin" --data "$data" --sizes "$size" --runs "$runs" ${expect:+--expect "$expect"} --step-costs \
      --json "$run_dir/menshen-$size-r$r.json" >"$run_dir/menshen-$size-r$r.txt" 2>&1; then
      status=1
      log "menshen-bench reported failures:"; grep FAIL "$run_dir/menshen-$size-r$r.txt" >&2 || tail -n 5 "$run_dir/menshen-$size-r$r.txt" >&2
      [ -s "$run_dir/menshen-$size-r$r.json" ] || { log "no JSON from menshen-bench"; exit 1; }
    fi
  done
done
load end
cat "$loadfile" | cut -f1,3 >&2

if [ $report = 1 ]; then
  "$py" "$root/Benchmarks/report.py" "$run_dir"
fi
exit $status
