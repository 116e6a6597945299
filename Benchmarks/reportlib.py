"""Helpers shared by the benchmark report writers (Benchmarks/report.py for lexicon matching,
Benchmarks/proxy/report.py for the proxy): machine facts, run environment files, and the
hand-written "Why" blocks that regeneration keeps."""

import os
import platform
import re

WHY_RE = re.compile(r"<!-- why:([A-Za-z0-9_.-]+):begin -->\n?(.*?)<!-- why:\1:end -->", re.S)


def read_env(path):
    env = {}
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


def cpu_model():
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def mem_total_gib():
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return None


def existing_whys(text):
    return {gid: body.strip() for gid, body in WHY_RE.findall(text)}
