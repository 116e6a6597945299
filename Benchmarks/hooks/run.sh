#!/usr/bin/env bash
# Added latency of a classifier hook: the same non-streamed chat requests through Menshen (demo
# upstream) without hooks and with one webhook hook answering after a fixed delay; p50/p99 of
# each and the difference. Loopback only; bounded request counts.
# Usage: Benchmarks/hooks/run.sh [REQUESTS] [HOOK_DELAY_MS]   (MENSHEN_BIN to pick the binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-300}; DELAY=${2:-20}
BIN=${MENSHEN_BIN:-.build/release/menshen}
[ -x "$BIN" ] || BIN=.build/debug/menshen
tmp=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

hook_port=$(port)
python3 - "$hook_port" "$DELAY" > /dev/null 2>&1 <<'PY' &
import http.server, json, sys, time
delay = int(sys.argv[2]) / 1000
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1   # one write per answer: no Nagle + delayed-ACK stall
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(delay)
        body = json.dumps({"score": 0.05}).encode()
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pids+=($!)
cat > "$tmp/hooks.yaml" <<YAML
hooks:
  - name: fixed-delay
    kind: webhook
    url: http://127.0.0.1:$hook_port/classify
    on_failure: allow
    timeout: 2s
    directions: [input]
    cache: off
labels: {enabled: false}
audit: {directory: $tmp/audit}
YAML
cat > "$tmp/plain.yaml" <<YAML
labels: {enabled: false}
audit: {directory: $tmp/audit-plain}
YAML

measure() {  # $1 config → prints "p50 p99" in ms
  local p; p=$(port); local ap; ap=$(port)
  MENSHEN_ADMIN_LISTEN=127.0.0.1:$ap "$BIN" serve --demo --listen 127.0.0.1:$p --config "$1" > "$tmp/serve.log" 2>&1 &
  local pid=$!; pids+=($pid)
  for _ in $(seq 1 100); do curl -sf 127.0.0.1:$p/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  python3 - "$p" "$N" <<'PY'
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "你好，请介绍一下这个账户的情况。" * 8}]})
c = http.client.HTTPConnection("127.0.0.1", port)
lat = []
for i in range(n + 20):
    t = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    if i >= 20: lat.append((time.perf_counter() - t) * 1000)
lat.sort()
print(f"{lat[len(lat)//2]:.2f} {lat[int(len(lat)*0.99)]:.2f}")
PY
  kill $pid; wait $pid 2>/dev/null || true
}
read -r b50 b99 < <(measure "$tmp/plain.yaml")
read -r h50 h99 < <(measure "$tmp/hooks.yaml")
python3 - "$b50" "$b99" "$h50" "$h99" "$DELAY" "$N" "$BIN" <<'PY'
import sys
b50, b99, h50, h99, d, n, binary = map(str, sys.argv[1:])
b50, b99, h50, h99, d = map(float, (b50, b99, h50, h99, d))
print(f"hooks: {n} sequential non-streamed requests, binary {binary}, classifier answering after {d:.0f} ms")
print(f"| | p50 ms | p99 ms |\n|---|---|---|\n| no hook | {b50:.2f} | {b99:.2f} |\n| one webhook hook | {h50:.2f} | {h99:.2f} |\n| added | {h50-b50:.2f} | {h99-b99:.2f} |")
print(f"added p50 minus the classifier's own {d:.0f} ms: {h50-b50-d:.2f} ms (the hook runs concurrently with the lexicon scan; see HookRunnerTests for the overlap check)")
PY
