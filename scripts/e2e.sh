#!/usr/bin/env bash
# End-to-end checks with real clients (curl over HTTP/1.1 and h2c, h2load, the OpenAI Python
# SDK) against the built binary. Loopback only; every wait is bounded.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug/menshen
passed=0; failed=0
ok()   { echo "ok   $1"; passed=$((passed+1)); }
bad()  { echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; failed=$((failed+1)); }
expect_exit() { local name=$1 expected=$2; shift 2; local rc=0; out=$("$@" 2>&1) || rc=$?
  if [ "$rc" = "$expected" ]; then ok "$name"; else bad "$name" "exit $rc, expected $expected: $out"; fi; }
contains() { case "$2" in *"$3"*) ok "$1";; *) bad "$1" "missing '$3' in: ${2:0:400}";; esac; }
lacks()    { case "$2" in *"$3"*) bad "$1" "unexpected '$3' in: ${2:0:400}";; *) ok "$1";; esac; }

tmp=$(mktemp -d); server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# --- The command-line tool -------------------------------------------------------------
out=$(echo '这款产品稳 赚 不 赔，详询 13812345678' | $bin check -); rc=$?
[ $rc = 4 ] && ok "check: exit 4 (block)" || bad "check: exit 4 (block)" "exit $rc"
contains "check: finance term reported" "$out" "finance.guaranteed-returns"
contains "check: phone masked as 138****5678" "$out" "138****5678"
expect_exit "check: disclosure allowed" 0 $bin check '本产品不保本，投资有风险'
expect_exit "lexicon validate" 0 $bin lexicon validate Lexicons
expect_exit "lexicon test" 0 $bin lexicon test Lexicons
printf '@id: broken\n@category: c\n@action: explode\nterm\n' > "$tmp/broken.txt"
out=$($bin lexicon validate "$tmp" 2>&1); rc=$?
[ $rc = 1 ] && ok "validate: exit 1 on a broken file" || bad "validate: exit 1 on a broken file" "exit $rc"
contains "validate: names file:line" "$out" "$tmp/broken.txt:3:"

# --- Labels and the audit log (docs/labeling-and-audit.md) ------------------------------
printf '%s' 0123456789abcdef0123456789abcdef > "$tmp/label.key"
printf '您好。\n\n本回答由人工智能生成' > "$tmp/answer.txt"
$bin label sign --key-file "$tmp/label.key" --producer 0091110000MA01ABCDE1X2SVC01 --text "$tmp/answer.txt" > "$tmp/label.json"
contains "label sign: Appendix E object" "$(cat "$tmp/label.json")" '{"AIGC":{"Label":"1","ContentProducer":"0091110000MA01ABCDE1X2SVC01","ProduceID":"'
expect_exit "label verify: intact" 0 $bin label verify --key-file "$tmp/label.key" --text "$tmp/answer.txt" --label "$tmp/label.json"
printf '您好！\n\n本回答由人工智能生成' > "$tmp/edited.txt"
out=$($bin label verify --key-file "$tmp/label.key" --text "$tmp/edited.txt" --label "$tmp/label.json"); rc=$?
[ $rc = 1 ] && ok "label verify: exit 1 on an edited text" || bad "label verify: exit 1 on an edited text" "exit $rc"
contains "label verify: says text altered" "$out" "text altered"
# A log written by the crash-test helper (built with the tests): 100 durable events, then it closes.
timeout 60 .build/debug/AuditCrashHelper "$tmp/audit" 100 >/dev/null 2>&1
expect_exit "audit verify: intact" 0 $bin audit verify "$tmp/audit"
first=$(ls "$tmp/audit"/audit-*.jsonl | head -1); sed -i '3d' "$first"
out=$($bin audit verify "$tmp/audit"); rc=$?
[ $rc = 1 ] && ok "audit verify: exit 1 on a deleted line" || bad "audit verify: exit 1 on a deleted line" "exit $rc"
contains "audit verify: names the line" "$out" "$first:3: prev does not match"

# --- The proxy, with the demo upstream --------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --demo --listen 127.0.0.1:$port > "$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
url="http://127.0.0.1:$port"
contains "serve: readyz" "$(curl -s $url/readyz)" '"status":"ready"'

body='{"model":"menshen-demo","stream":true,"messages":[{"role":"user","content":"推荐一款理财产品"}]}'
out=$(curl -sN --http1.1 $url/v1/chat/completions -H 'content-type: application/json' -d "$body")
contains "curl h1: stream ends with content_filter" "$out" '"finish_reason":"content_filter"'
lacks    "curl h1: blocked term never delivered" "$out" "稳赚"
contains "curl h1: [DONE]" "$out" "data: [DONE]"
out=$(curl -sN --http2-prior-knowledge $url/v1/chat/completions -H 'content-type: application/json' -d "$body" -w '\nHTTPVERSION=%{http_version}')
contains "curl h2c: spoke HTTP/2" "$out" "HTTPVERSION=2"
contains "curl h2c: stream ends with content_filter" "$out" '"finish_reason":"content_filter"'
lacks    "curl h2c: blocked term never delivered" "$out" "稳赚"
out=$(curl -s --http2-prior-knowledge $url/v1/chat/completions -H 'content-type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"客服电话"}]}')
contains "curl h2c: phone masked in a JSON answer" "$out" "138****5678"
out=$(curl -s -w '\nSTATUS=%{http_code}' $url/v1/chat/completions -H 'content-type: application/json' -d '{"messages": [')
contains "curl: malformed JSON is a 400" "$out" "STATUS=400"
contains "curl: error in the OpenAI shape" "$out" '"type":"invalid_request_error"'
# A percent-encoded chat path is read as the chat route (vLLM and Ollama decode it): the broken
# body gets Menshen's 400, not the demo upstream's 404 for a path it does not know.
out=$(curl -s --path-as-is -w '\nSTATUS=%{http_code}' "$url/v1/chat/%63ompletions" -H 'content-type: application/json' -d '{"messages": [')
contains "curl: a percent-encoded chat path is screened too" "$out" "STATUS=400"
# h2c accepts a lowercase method; a server that folds case would run it as POST, so it is screened.
out=$(curl -s --http2-prior-knowledge -X post -D - -o /dev/null "$url/v1/chat/completions" -H 'content-type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"我的手机 13812345678"}]}')
contains "curl h2c: a lowercase post is screened too" "$out" "x-menshen-decision: mask"
# One reading of the target (docs/security.md): a fragment is refused with 400 over HTTP/1.1
# and h2c (`:path`), on a screened route and a pass-through one; the demo upstream sees nothing.
phone_body='{"model":"m","messages":[{"role":"user","content":"我的手机 13812345678"}]}'
for target in '/v1/chat/completions#' '/v1/chat/completions#x' '/v1/models#'; do
  out=$(curl -s --http1.1 --request-target "$target" -w '\nSTATUS=%{http_code}' "$url/" -H 'content-type: application/json' -d "$phone_body")
  contains "curl h1: target '$target' is a 400" "$out" "STATUS=400"
  out=$(curl -s --http2-prior-knowledge --request-target "$target" -w '\nSTATUS=%{http_code}' "$url/" -H 'content-type: application/json' -d "$phone_body")
  contains "curl h2c: :path '$target' is a 400" "$out" "STATUS=400"
  lacks "curl h2c: the refusal does not echo the prompt" "$out" "13812345678"
done
out=$(curl -s -w '\nSTATUS=%{http_code}' "$url/invocations" -H 'content-type: application/json' -d "$phone_body")
contains "curl: an unknown generation path is denied by default" "$out" "STATUS=403"
# The admin listener: a state-changing call needs X-Menshen-Admin without a token, and a
# request naming another host (DNS rebinding) or coming from a web page is refused.
admin_port=$(grep -o 'admin.*listening on 127.0.0.1:[0-9]*' "$tmp/serve.log" | grep -o '[0-9]*$' | head -1)
if [ -n "$admin_port" ]; then
  contains "admin: reload without X-Menshen-Admin is a 403" "$(curl -s -X POST -w '\nSTATUS=%{http_code}' 127.0.0.1:$admin_port/admin/reload)" "STATUS=403"
  contains "admin: another Host is a 403" "$(curl -s -H 'Host: evil.example' -w '\nSTATUS=%{http_code}' 127.0.0.1:$admin_port/admin/lexicons)" "STATUS=403"
  contains "admin: an Origin is a 403" "$(curl -s -X POST -H 'X-Menshen-Admin: 1' -H 'Origin: http://evil.example' -w '\nSTATUS=%{http_code}' 127.0.0.1:$admin_port/admin/reload)" "STATUS=403"
  contains "admin: reload with X-Menshen-Admin" "$(curl -s -X POST -H 'X-Menshen-Admin: 1' 127.0.0.1:$admin_port/admin/reload)" '"outcome"'
else
  bad "admin: listener port found in the log"
fi
echo '{"model":"m","messages":[{"role":"user","content":"你好"}]}' > "$tmp/req.json"
out=$(h2load -n 100 -c 4 -m 8 -H 'content-type: application/json' -d "$tmp/req.json" $url/v1/chat/completions 2>&1)
contains "h2load h2c: 100 requests succeeded" "$out" "100 succeeded, 0 failed"
out=$(h2load --h1 -n 100 -c 4 $url/v1/models 2>&1)
contains "h2load h1: 100 pass-through requests succeeded" "$out" "100 succeeded, 0 failed"

if python3 scripts/e2e_openai.py "$url/v1"; then ok "openai sdk checks"; else bad "openai sdk checks"; fi

# Graceful shutdown: a stream in flight when SIGTERM arrives still finishes, then exit 0.
curl -sN $url/v1/chat/completions -H 'content-type: application/json' \
  -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"你好"}]}' > "$tmp/inflight.txt" &
inflight=$!
for _ in $(seq 1 50); do [ -s "$tmp/inflight.txt" ] && break; sleep 0.05; done
kill -TERM $server; rc=0
wait $inflight
contains "serve: a stream in flight at SIGTERM completes" "$(cat $tmp/inflight.txt)" "data: [DONE]"
for _ in $(seq 1 100); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
wait $server 2>/dev/null; rc=$?; server=""
[ $rc = 0 ] && ok "serve: SIGTERM exits 0" || bad "serve: SIGTERM exits 0" "exit $rc; log: $(tail -5 $tmp/serve.log)"

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
