-- wrk script for Benchmarks/proxy/run.sh: POST a ~4 KB OpenAI-style chat request (system prompt
-- plus ten messages, Chinese and English, clean: Menshen lets it through unchanged).
-- The body is read from $BODY_FILE (default chat-4k.json next to the working directory).
local path = os.getenv("BODY_FILE") or "chat-4k.json"
local f = assert(io.open(path, "rb"), "cannot open " .. path)
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-proxy-bench"
