"""Drives a running Menshen (demo upstream) with the OpenAI Python SDK, streaming and not.

Usage: python3 scripts/e2e_openai.py http://127.0.0.1:PORT/v1
Exits non-zero with a message on the first check that fails.
"""
import sys

import openai

base = sys.argv[1]
client = openai.OpenAI(base_url=base, api_key="not-needed", max_retries=0, timeout=30)
failures = []
checks = 0


def check(name, ok, detail=""):
    global checks
    checks += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(name)


# Non-streamed, masked answer.
r = client.chat.completions.create(model="menshen-demo", messages=[{"role": "user", "content": "客服电话是多少？"}])
content = r.choices[0].message.content
check("sdk: masked phone in a non-streamed answer", "138****5678" in content and "13812345678" not in content, content)

# Streamed answer that is blocked mid-stream.
stream = client.chat.completions.create(model="menshen-demo", stream=True,
                                        messages=[{"role": "user", "content": "推荐一款理财产品"}])
text, finish = "", None
for chunk in stream:
    for choice in chunk.choices:
        if choice.delta and choice.delta.content:
            text += choice.delta.content
        if choice.finish_reason:
            finish = choice.finish_reason
check("sdk: streamed block ends with content_filter", finish == "content_filter", f"finish={finish}")
check("sdk: the blocked term never arrives", "稳赚" not in text and "不赔" not in text, text)
check("sdk: clean text before the term arrives", text.startswith("（演示回答）这款理财产品"), text)

# Streamed clean answer.
stream = client.chat.completions.create(model="menshen-demo", stream=True, messages=[{"role": "user", "content": "你好"}])
text, finish = "", None
for chunk in stream:
    for choice in chunk.choices:
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
check("sdk: clean stream delivered whole", finish == "stop" and "不是真正的模型" in text, f"{finish} {text}")

# A prompt blocked on input comes back as a 400 the SDK raises.
try:
    client.chat.completions.create(model="menshen-demo", messages=[{"role": "user", "content": "我的银行卡 CVV 123，密码：Abc12345"}])
    check("sdk: C3 prompt is flagged, not blocked, by default", True)
except openai.BadRequestError as e:
    check("sdk: C3 prompt is flagged, not blocked, by default", False, str(e))

# Pass-through.
models = client.models.list()
check("sdk: /v1/models passes through", any(m.id == "menshen-demo" for m in models.data), str(models))

print(f"openai-sdk: {checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
