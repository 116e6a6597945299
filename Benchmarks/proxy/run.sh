#!/usr/bin/env bash
# Proxy benchmark: the same requests, in one run, interleaved, against
#   direct  — the fixed upstream itself (no proxy)
#   nginx   — nginx proxy_pass with keep-alive upstream connections (../shared/bench/proxy)
#   menshen — `menshen serve` with the default lexicons (screens the prompt and the answer)
# then Benchmarks/proxy/report.py writes the proxy section of BENCHMARKS.md.
# See Benchmarks/README.md ("Proxy").
#
#   non-streamed: wrk (--latency, post-4k.lua: a ~4 KB chat request) and h2load --h1 against
#                 nginx returning a ~1 KB chat completion (shared upstream.conf); req/s, p50, p99
#   streamed:     stream_client.py against stream_upstream.py (500 deltas of 1–3 characters,
#                 2 ms apart); per-delta added delay, time to first token, total
#   self:         wrk GET /healthz at 64 connections, answered by Menshen itself (no upstream)
#   floor:        wrk GET /v1/models at 64 connections (passed through unscreened by Menshen,
#                 the same ~1 KB answer): what the HTTP stack alone costs per request; and
#                 Menshen's own menshen_scan_seconds (from its /metrics after the run): what
#                 screening the prompt and the answer takes
#
# Usage: Benchmarks/proxy/run.sh [--reps R] [--seconds S] [--conns 4,64] [--no-h2load]
#            [--stream-conc 1,8] [--stream-requests N] [--deltas 500] [--gap-ms 2]
#            [--no-stream] [--no-floor] [--no-report]
#
#   --reps             rounds; in each round every cell runs once per target, targets in a
#                      rotating order (default 3)
#   --seconds          duration of each wrk / h2load run (default 10)
#   --conns            connection counts of the non-streamed cells (default 4,64)
#   --no-h2load        wrk only (h2load --h1 is a second opinion on req/s)
#   --stream-conc      concurrent streams of the streamed cells (default 1,8)
#   --stream-requests  streamed requests per concurrent stream in each cell (default 10;
#                      a cell is N × concurrency requests, ~1.2 s each)
#   --deltas, --gap-ms the upstream's answer: deltas per answer (500), gap between them (2 ms)
#   --no-stream        non-streamed cells only
#   --no-floor         no unscreened GET cells
#   --no-report        measure only; run `Benchmarks/proxy/report.py RUN_DIR` later
#
# Environment:
#   MENSHEN_BIN      use this menshen binary instead of building one (otherwise:
#                    swift build -c release --scratch-path .build-release --product menshen)
#   MENSHEN_BIN_COMMIT  the commit MENSHEN_BIN was built from, for the report (optional)
#   BENCH_OUT        results directory (default <repo>/bench-out); each run writes a new
#                    BENCH_OUT/proxy-YYYYmmdd-HHMMSS/ and points BENCH_OUT/proxy-latest at it
#   SHARED_BENCH     folder with proxy/{upstream,proxy}.conf (default <repo>/../shared/bench)
#   PROXY_PORT_BASE  first of eight loopback ports (default 18080): +0 nginx proxy, +1 nginx
#                    upstream, +2 Menshen, +3 stream upstream, +4 nginx stream proxy,
#                    +5 Menshen in front of the stream upstream, +6/+7 the two Menshen
#                    processes' admin listeners (MENSHEN_ADMIN_LISTEN)
#   PYTHON           python interpreter (default python3)
set -euo pipefail

reps=3
secs=10
conns=4,64
do_h2load=1
stream_conc=1,8
stream_requests=10
deltas=500
gap_ms=2
do_stream=1
do_floor=1
report=1
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --no-h2load) do_h2load=0; shift ;;
    --stream-conc) stream_conc=$2; shift 2 ;;
    --stream-requests) stream_requests=$2; shift 2 ;;
    --deltas) deltas=$2; shift 2 ;;
    --gap-ms) gap_ms=$2; shift 2 ;;
    --no-stream) do_stream=0; shift ;;
    --no-floor) do_floor=0; shift ;;
    --no-report) report=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] && [ "$2" -le "$3" ] || { echo "run.sh: $1 must be an integer in 1..$3" >&2; exit 2; }; }
posint --reps "$reps" 100
posint --seconds "$secs" 600
posint --stream-requests "$stream_requests" 1000
posint --deltas "$deltas" 100000
[[ $gap_ms =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "run.sh: --gap-ms must be a number" >&2; exit 2; }
IFS=, read -r -a conn_list <<<"$conns"
for c in "${conn_list[@]}"; do posint --conns "$c" 4096; done
IFS=, read -r -a sconc_list <<<"$stream_conc"
for c in "${sconc_list[@]}"; do posint --stream-conc "$c" 256; done

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
here=$root/Benchmarks/proxy
out_base=$(abspath "${BENCH_OUT:-$root/bench-out}")
shared=$(abspath "${SHARED_BENCH:-$root/../shared/bench}")/proxy
py=${PYTHON:-python3}
bin_given=${MENSHEN_BIN:+$(abspath "$MENSHEN_BIN")}
base=${PROXY_PORT_BASE:-18080}
posint PROXY_PORT_BASE "$base" 65000
cd "$root"

log() { printf '[proxy/run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for f in upstream.conf proxy.conf completion.json; do
  [ -f "$shared/$f" ] || { echo "run.sh: $shared/$f not found (set SHARED_BENCH)" >&2; exit 1; }
done

# ---------------------------------------------------------------- dependencies (only if missing)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need_apt=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v curl >/dev/null || need_apt+=(curl)
if [ -z "$bin_given" ]; then
  pkg-config --exists libpcre2-8 2>/dev/null || need_apt+=(libpcre2-dev pkg-config)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---------------------------------------------------------------- menshen (release)
if [ -n "$bin_given" ]; then
  bin=$bin_given
  [ -x "$bin" ] || { echo "run.sh: MENSHEN_BIN=$bin is not executable" >&2; exit 1; }
  log "using prebuilt $bin (MENSHEN_BIN; not rebuilt)"
else
  log "swift build -c release --scratch-path .build-release --product menshen"
  built_from="$(git rev-parse HEAD)$([ -n "$(git status --porcelain -- Sources Package.swift Package.resolved)" ] && echo +dirty)"
  swift build -c release --scratch-path .build-release --product menshen >&2
  bin="$(swift build -c release --scratch-path .build-release --product menshen --show-bin-path)/menshen"
fi

# ---------------------------------------------------------------- ports (all loopback)
p_nginx=$base p_up=$((base + 1)) p_menshen=$((base + 2))
p_sup=$((base + 3)) p_nginx_s=$((base + 4)) p_menshen_s=$((base + 5))
p_admin=$((base + 6)) p_admin_s=$((base + 7))
for p in $p_nginx $p_up $p_menshen $p_sup $p_nginx_s $p_menshen_s $p_admin $p_admin_s; do
  if ! "$py" -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
    echo "run.sh: 127.0.0.1:$p is in use (another benchmark running? set PROXY_PORT_BASE)" >&2; exit 1
  fi
done

# ---------------------------------------------------------------- run directory
run_dir="$out_base/proxy-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run_dir/raw" "$run_dir/nginx/run"
ln -sfn "$(basename "$run_dir")" "$out_base/proxy-latest"
loadfile="$run_dir/load.tsv"
load() { printf '%s\t%s\t%s\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uptime)" >>"$loadfile"; }

# nginx configurations: copies of the shared ones on our ports, plus a streaming server block
# (proxy_buffering off) in the proxy's configuration.
ngx=$run_dir/nginx
cp "$shared/completion.json" "$run_dir/"
cp "$here/chat-4k.json" "$here/post-4k.lua" "$run_dir/"
sed -e "s/127\.0\.0\.1:18081/127.0.0.1:$p_up/g" "$shared/upstream.conf" >"$ngx/upstream.conf"
"$py" - "$shared/proxy.conf" "$ngx/proxy.conf" "$p_nginx" "$p_up" "$p_nginx_s" "$p_sup" <<'EOF'
import sys
src, dst, p_nginx, p_up, p_nginx_s, p_sup = sys.argv[1:]
conf = open(src).read().replace("127.0.0.1:18080", "127.0.0.1:" + p_nginx).replace("127.0.0.1:18081", "127.0.0.1:" + p_up)
head, _, tail = conf.rpartition("}")           # the http block's closing brace
assert tail.strip() == "", "unexpected proxy.conf shape"
conf = head + """
    # Added by Benchmarks/proxy/run.sh: the streamed answer, unbuffered.
    upstream llm_stream {
        server 127.0.0.1:%s;
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen 127.0.0.1:%s backlog=4096;
        location / {
            proxy_pass http://llm_stream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
""" % (p_sup, p_nginx_s)
open(dst, "w").write(conf)
EOF

# ---------------------------------------------------------------- servers (stopped on exit)
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$NGINX" -p "$ngx/" -e "$ngx/run/upstream_startup.log" -c "$ngx/upstream.conf" &
pid_up=$!; pids+=("$pid_up")
"$NGINX" -p "$ngx/" -e "$ngx/run/proxy_startup.log" -c "$ngx/proxy.conf" &
pid_nginx=$!; pids+=("$pid_nginx")
"$py" "$here/stream_upstream.py" --port "$p_sup" --deltas "$deltas" --gap-ms "$gap_ms" &
pid_sup=$!; pids+=("$pid_sup")
# Default configuration; each Menshen runs in its own folder of the run directory, so whatever
# it writes relative to its working directory (the audit log, by default ./audit) stays there.
mkdir -p "$run_dir/menshen" "$run_dir/menshen-stream"
(cd "$run_dir/menshen" && MENSHEN_ADMIN_LISTEN=127.0.0.1:$p_admin exec "$bin" serve --listen "127.0.0.1:$p_menshen" \
  --upstream "http://127.0.0.1:$p_up" --lexicons "$root/Lexicons" >"$run_dir/menshen.log" 2>&1) &
pid_menshen=$!; pids+=("$pid_menshen")
(cd "$run_dir/menshen-stream" && MENSHEN_ADMIN_LISTEN=127.0.0.1:$p_admin_s exec "$bin" serve --listen "127.0.0.1:$p_menshen_s" \
  --upstream "http://127.0.0.1:$p_sup" --lexicons "$root/Lexicons" >"$run_dir/menshen-stream.log" 2>&1) &
pid_menshen_s=$!; pids+=("$pid_menshen_s")

wait_up() {  # URL: up to 20 s
  for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  log "$1 did not come up"; return 1
}
for u in "http://127.0.0.1:$p_up/" "http://127.0.0.1:$p_nginx/" "http://127.0.0.1:$p_sup/" \
         "http://127.0.0.1:$p_nginx_s/" "http://127.0.0.1:$p_menshen/healthz" "http://127.0.0.1:$p_menshen_s/healthz"; do
  wait_up "$u" || { tail -n 20 "$run_dir"/menshen*.log "$ngx"/run/*.log >&2 2>/dev/null; exit 1; }
done

path=/v1/chat/completions
declare -A url surl
url[direct]=http://127.0.0.1:$p_up$path
url[nginx]=http://127.0.0.1:$p_nginx$path
url[menshen]=http://127.0.0.1:$p_menshen$path
surl[direct]=http://127.0.0.1:$p_sup$path
surl[nginx]=http://127.0.0.1:$p_nginx_s$path
surl[menshen]=http://127.0.0.1:$p_menshen_s$path
targets=(direct nginx menshen)
floor_path=/v1/models

# ---------------------------------------------------------------- sanity (same answer everywhere)
sanity=$run_dir/sanity.txt
: >"$sanity"
for t in "${targets[@]}"; do
  code=$(curl -s -o "$run_dir/answer-$t.json" -D "$run_dir/headers-$t.txt" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary @"$here/chat-4k.json" "${url[$t]}")
  same=no; cmp -s "$run_dir/answer-$t.json" "$shared/completion.json" && same=yes
  decision=$(grep -i '^x-menshen-decision:' "$run_dir/headers-$t.txt" | cut -d: -f2- | tr -d ' \r' || true)
  printf 'nonstream\t%s\tstatus=%s\tsame_body=%s\tdecision=%s\n' "$t" "$code" "$same" "${decision:--}" >>"$sanity"
  [ "$code" = 200 ] || { log "sanity: $t answered HTTP $code to the 4 KB request:"; head -c 600 "$run_dir/answer-$t.json" >&2; exit 1; }
  [ "$same" = yes ] || log "note: $t did not return the ~1 KB answer byte for byte (see $run_dir/answer-$t.json)"
  if [ "$t" = menshen ] && [ "$decision" != allow ]; then
    log "sanity: Menshen's decision on the clean 4 KB request is '${decision:-none}', not allow (lexicons changed?)"; exit 1
  fi
done
if [ "$do_stream" = 1 ]; then
  for t in "${targets[@]}"; do
    curl -s -N -o "$run_dir/stream-answer-$t.txt" -D "$run_dir/stream-headers-$t.txt" -X POST \
      -H 'Content-Type: application/json' --data '{"model":"m","stream":true,"messages":[{"role":"user","content":"你好"}]}' \
      --max-time 60 "${surl[$t]}" || true
    if ! "$py" "$here/stream_client.py" "${surl[$t]}" --requests 1 --label "sanity $t" >>"$sanity" 2>&1; then
      log "sanity: the streamed answer through $t failed:"; tail -n 3 "$sanity" >&2; exit 1
    fi
  done
fi
cat "$sanity" >&2

# ---------------------------------------------------------------- bookkeeping
ticks() {  # utime+stime (clock ticks) of a process and its children (nginx: master + worker)
  local total=0 p
  for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
    [ -r "/proc/$p/stat" ] || continue
    set -- $(sed 's/^.*) //' "/proc/$p/stat")
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
cpufile=$run_dir/cpu.tsv
printf 'tool\tconns\ttarget\trep\tproxy_ticks\tupstream_ticks\tclk_tck\n' >"$cpufile"
proxy_pid() { case "$1" in nginx) echo "$pid_nginx" ;; menshen) echo "$pid_menshen" ;; *) echo "" ;; esac; }

cat >"$run_dir/run.env" <<EOF
reps=$reps
seconds=$secs
conns=$conns
h2load=$do_h2load
stream=$do_stream
floor=$do_floor
floor_path=$floor_path
stream_conc=$stream_conc
stream_requests=$stream_requests
deltas=$deltas
gap_ms=$gap_ms
port_base=$base
menshen=$bin
menshen_prebuilt=$([ -n "$bin_given" ] && echo 1 || echo 0)
menshen_built_from=${built_from:-${MENSHEN_BIN_COMMIT:-}}
menshen_mtime=$(date -u -r "$bin" +%Y-%m-%dT%H:%M:%SZ)
sources_newer_than_binary=$(find Sources Lexicons Package.swift -type f -newer "$bin" 2>/dev/null | wc -l)
git_commit=$(git rev-parse HEAD)
git_dirty=$([ -n "$(git status --porcelain -- Sources Package.swift Package.resolved Lexicons)" ] && echo 1 || echo 0)
swift_version=$(swift --version 2>/dev/null | head -n1 || true)
nginx_version=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
wrk_version=$(wrk -v 2>&1 | head -n1 | awk '{print $2}')
h2load_version=$(h2load --version 2>&1 | head -n1)
python=$("$py" -c 'import sys; print(sys.version.split()[0])')
nproc=$(nproc)
request_bytes=$(wc -c <"$here/chat-4k.json")
answer_bytes=$(wc -c <"$shared/completion.json")
EOF

alive() {  # after each cell: note any server that has exited
  local pair
  for pair in "menshen:$pid_menshen" "menshen-stream:$pid_menshen_s" "nginx-proxy:$pid_nginx" "nginx-upstream:$pid_up" "stream-upstream:$pid_sup"; do
    if ! kill -0 "${pair#*:}" 2>/dev/null && ! grep -q "^${pair%%:*} exited" "$run_dir/events.txt" 2>/dev/null; then
      echo "${pair%%:*} exited before: $1" >>"$run_dir/events.txt"
      log "ERROR: ${pair%%:*} (pid ${pair#*:}) has exited (before: $1)"
    fi
  done
}
threads_for() { if [ "$1" -ge 64 ]; then echo 2; else echo 1; fi; }  # as in shared/bench/proxy
rotated() {  # targets in the order of round $1
  local r=$(( ($1 - 1) % 3 ))
  echo "${targets[@]:$r}" "${targets[@]:0:$r}"
}

# ---------------------------------------------------------------- warm-up (not recorded)
log "warm-up: 2 s of wrk -c64 per target"
for t in "${targets[@]}"; do
  ( cd "$run_dir" && BODY_FILE=chat-4k.json wrk -t2 -c64 -d2s -s post-4k.lua "${url[$t]}" >/dev/null )
done

# ---------------------------------------------------------------- non-streamed cells
tools=wrk; [ "$do_h2load" = 1 ] && tools="wrk and h2load"
log "results in $run_dir ($reps rounds; $tools ${secs}s at $conns connections; streams at $stream_conc)"
load start
for ((r = 1; r <= reps; r++)); do
  for c in "${conn_list[@]}"; do
    th=$(threads_for "$c")
    for t in $(rotated "$r"); do
      pp=$(proxy_pid "$t")
      alive "wrk c$c $t r$r"; load "wrk c$c $t r$r"
      a=$(ticks $pp); u=$(ticks "$pid_up")
      f=$run_dir/raw/wrk_c${c}_${t}_r${r}.txt
      ( cd "$run_dir" && BODY_FILE=chat-4k.json wrk -t"$th" -c"$c" -d"${secs}s" --timeout 10s --latency -s post-4k.lua "${url[$t]}" ) >"$f" 2>&1 || true
      printf 'wrk\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$t" "$r" "$(( $(ticks $pp) - a ))" "$(( $(ticks "$pid_up") - u ))" "$(getconf CLK_TCK)" >>"$cpufile"
      log "round $r wrk c$c $t: $(grep -E 'Requests/sec' "$f" | tr -s ' ')$(grep -E 'Non-2xx|Socket errors' "$f" | tr -s ' ' | sed 's/^/ — /' | tr -d '\n')"
    done
    if [ "$do_h2load" = 1 ]; then
      for t in $(rotated "$r"); do
        pp=$(proxy_pid "$t")
        alive "h2load c$c $t r$r"; load "h2load c$c $t r$r"
        a=$(ticks $pp); u=$(ticks "$pid_up")
        f=$run_dir/raw/h2load_c${c}_${t}_r${r}.txt
        h2load --h1 -t"$th" -c"$c" -D "$secs" --warm-up-time=1 -d "$here/chat-4k.json" \
          -H 'Content-Type: application/json' "${url[$t]}" >"$f" 2>&1 || true
        printf 'h2load\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$t" "$r" "$(( $(ticks $pp) - a ))" "$(( $(ticks "$pid_up") - u ))" "$(getconf CLK_TCK)" >>"$cpufile"
        log "round $r h2load c$c $t: $(grep -E '^finished|^requests' "$f" | tr '\n' ' ')"
      done
    fi
  done
  # ------------------------------------------------------------ floor: unscreened GET
  if [ "$do_floor" = 1 ]; then
    for t in $(rotated "$r"); do
      pp=$(proxy_pid "$t")
      alive "floor c64 $t r$r"; load "floor c64 $t r$r"
      a=$(ticks $pp); u=$(ticks "$pid_up")
      f=$run_dir/raw/floor_c64_${t}_r${r}.txt
      wrk -t2 -c64 -d"${secs}s" --timeout 10s --latency "${url[$t]%$path}$floor_path" >"$f" 2>&1 || true
      printf 'floor\t%s\t%s\t%s\t%s\t%s\t%s\n' 64 "$t" "$r" "$(( $(ticks $pp) - a ))" "$(( $(ticks "$pid_up") - u ))" "$(getconf CLK_TCK)" >>"$cpufile"
      log "round $r floor GET c64 $t: $(grep -E 'Requests/sec' "$f" | tr -s ' ')$(grep -E 'Non-2xx|Socket errors' "$f" | tr -s ' ' | sed 's/^/ — /' | tr -d '\n')"
    done
    # Menshen answering GET /healthz itself: Hummingbird's cost per request with no upstream
    # hop and no screening, beside the proxies' figures of the same round.
    pp=$(proxy_pid menshen)
    alive "self c64 menshen r$r"; load "self c64 menshen r$r"
    a=$(ticks $pp); u=$(ticks "$pid_up")
    f=$run_dir/raw/self_c64_menshen_r${r}.txt
    wrk -t2 -c64 -d"${secs}s" --timeout 10s --latency "${url[menshen]%$path}/healthz" >"$f" 2>&1 || true
    printf 'self\t%s\t%s\t%s\t%s\t%s\t%s\n' 64 menshen "$r" "$(( $(ticks $pp) - a ))" "$(( $(ticks "$pid_up") - u ))" "$(getconf CLK_TCK)" >>"$cpufile"
    log "round $r self GET /healthz c64 menshen: $(grep -E 'Requests/sec' "$f" | tr -s ' ')"
  fi
  # ------------------------------------------------------------ streamed cells
  if [ "$do_stream" = 1 ]; then
    for sc in "${sconc_list[@]}"; do
      for t in $(rotated "$r"); do
        alive "stream c$sc $t r$r"; load "stream c$sc $t r$r"
        f=$run_dir/raw/stream_c${sc}_${t}_r${r}
        "$py" "$here/stream_client.py" "${surl[$t]}" --requests $((stream_requests * sc)) --concurrency "$sc" \
          --label "round $r stream c$sc $t" --json "$f.json" >"$f.txt" 2>&1 || true
        log "$(tail -n 1 "$f.txt")"
      done
    done
  fi
done
load end
alive "end of run"
# Menshen's own screening-time histogram (menshen_scan_seconds), over the whole run.
curl -s "http://127.0.0.1:$p_admin/metrics" >"$run_dir/metrics-menshen.txt" || true

# Memory of the servers after the run (VmRSS, kB), and anything Menshen logged.
{
  for pair in "menshen:$pid_menshen" "menshen-stream:$pid_menshen_s" "nginx-proxy:$pid_nginx" "nginx-upstream:$pid_up" "stream-upstream:$pid_sup"; do
    name=${pair%%:*}; p=${pair#*:}
    kb=0
    for q in $p $(pgrep -P "$p" || true); do
      v=$(awk '/^VmRSS:/ {print $2}' "/proc/$q/status" 2>/dev/null || echo 0); kb=$((kb + ${v:-0}))
    done
    printf '%s\t%s\n' "$name" "$kb"
  done
} >"$run_dir/rss.tsv"
# Connections Menshen still holds from clients that are gone (CLOSE-WAIT on its listening port),
# then a graceful stop: SIGTERM, up to 40 s (Menshen drains for 30 s at most), SIGKILL after.
for pair in "menshen:$pid_menshen:$p_menshen" "menshen-stream:$pid_menshen_s:$p_menshen_s"; do
  IFS=: read -r name p port <<<"$pair"
  n=$(ss -tanp 2>/dev/null | awk -v a="127.0.0.1:$port" '$1 == "CLOSE-WAIT" && $4 == a' | grep -c "pid=$p," || true)
  printf '%s	close_wait	%s
' "$name" "$n" >>"$run_dir/shutdown.tsv"
done
for pair in "menshen:$pid_menshen" "menshen-stream:$pid_menshen_s" "nginx-proxy:$pid_nginx" "nginx-upstream:$pid_up" "stream-upstream:$pid_sup"; do
  name=${pair%%:*}; p=${pair#*:}
  kill -TERM "$p" 2>/dev/null || true
  t0=$(date +%s%N)
  for _ in $(seq 1 400); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p" 2>/dev/null || true
    printf '%s	sigterm	still running 40 s after SIGTERM (killed)
' "$name" >>"$run_dir/shutdown.tsv"
    log "WARNING: $name did not exit within 40 s of SIGTERM; killed"
  else
    printf '%s	sigterm	exited after %s ms
' "$name" "$(( ($(date +%s%N) - t0) / 1000000 ))" >>"$run_dir/shutdown.tsv"
  fi
  wait "$p" 2>/dev/null || true
done
pids=()
cut -f1,3 "$loadfile" >&2

if [ "$report" = 1 ]; then
  "$py" "$here/report.py" "$run_dir"
fi
