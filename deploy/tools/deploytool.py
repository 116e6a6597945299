#!/usr/bin/env python3
"""Keeps deploy/ honest: the Dockerfile, the Kubernetes manifests and the compose file are
checked against the menshen binary they deploy.

    python3 deploy/tools/deploytool.py check                 # what scripts/check-deploy.sh runs
    python3 deploy/tools/deploytool.py render OVERLAY_DIR    # the kustomize subset used by the check
    python3 deploy/tools/deploytool.py lexicons-configmap [LEXICON_DIR] > deploy/kubernetes/base/lexicons.yaml

The core of `check` is a small container runtime built from unshare, overlayfs, chroot and
setpriv: the Dockerfile's runtime stage is replayed on top of this Debian 12 machine's root
(RUN lines run for real, `apt-get update` and the Swift build excepted), and the debug binary
is started with the exact argv, environment, user, ports and mounts a Deployment container,
the Dockerfile or the compose service gives it: read-only root, ConfigMaps and Secrets in
kubelet's `..data` symlink layout, a private network namespace in which only loopback exists.
Nothing is translated, so the files cannot drift from the binary. Needs root (CI is root).
"""
from __future__ import annotations

import argparse
import copy
import fnmatch
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
OVERLAYS = ["qwen-idc", "qwen-cloud-overflow"]
# What Kubernetes versions the manifests must validate against: the oldest a bank cluster is
# likely to run, and the newest schema kubernetes-validate ships.
K8S_VERSIONS = ["1.27.0", "1.37.0"]
CRD_KINDS = {"PodMonitor", "ServiceMonitor", "PrometheusRule"}
# Libraries debian:bookworm-slim already has (apt itself links them).
SLIM_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
# The debian base image's PATH, which every container inherits.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# audit/labels (issue 4): policy keys and metrics being merged; see note_unsupported_policy().
COMING_POLICY_KEYS = ["audit", "labels"]
COMING_METRICS = {"menshen_audit_events_total", "menshen_audit_write_errors_total"}
# Error counters Menshen creates at their first increment: a healthy run does not export them
# (the alerts on them are written for that; see prometheusrule.yaml).
FIRST_ERROR_METRICS = {"menshen_audit_write_errors_total"}


# ============================================================================================
# Lexicon ConfigMap
# ============================================================================================

def lexicon_sources(directory: Path) -> list[str]:
    """Relative paths of the files Menshen loads (LexiconDirectory.isSource in Swift)."""
    out = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(".cases.jsonl"):
                continue
            if name.endswith((".txt", ".yaml", ".yml")):
                out.append(str((Path(root) / name).relative_to(directory)))
    return sorted(out)


def configmap_key(relative: str) -> str:
    # ConfigMap keys cannot contain '/'. Menshen loads every file of the directory whatever its
    # name, so the tree is flattened: finance/guaranteed-returns.txt → finance__guaranteed-returns.txt.
    return relative.replace("/", "__")


def yaml_block(text: str, indent: str) -> str:
    """`text` as a YAML literal block, or a JSON string where a block cannot say it exactly."""
    import yaml
    if text and "\r" not in text and not text.startswith((" ", "\n")):
        chomp = "" if text.endswith("\n") and not text.endswith("\n\n") else ("-" if not text.endswith("\n") else "+")
        body = "".join(indent + line if line else "" for line in text.splitlines(keepends=True))
        candidate = f"|{chomp}\n{body}" + ("" if text.endswith("\n") else "\n")
        if yaml.safe_load("k: " + candidate) == {"k": text}:
            return candidate
    return json.dumps(text, ensure_ascii=False) + "\n"


def lexicons_configmap_text(directory: Path) -> str:
    out = [
        "# GENERATED from Lexicons/ by deploy/tools/deploytool.py: do not edit here. After changing",
        "# Lexicons/, regenerate (scripts/check-deploy.sh fails until you do):",
        "#   python3 deploy/tools/deploytool.py lexicons-configmap > deploy/kubernetes/base/lexicons.yaml",
        "#",
        "# Mounted as a whole directory at /etc/menshen/lexicons (never with subPath: subPath mounts",
        "# never see updates). A change to this ConfigMap reaches the pod within about a minute, and",
        "# Menshen reloads it without a restart; a broken file is rejected and the last good lexicons",
        "# keep serving. Keys are the paths under Lexicons/ with '/' written '__'. Regression cases",
        "# are left out: CI runs them (`menshen lexicon test`) before anything is applied.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: menshen-lexicons",
        "  labels:",
        "    app.kubernetes.io/name: qwen",
        "    app.kubernetes.io/component: lexicons",
        "data:",
    ]
    for relative in lexicon_sources(directory):
        text = (directory / relative).read_text(encoding="utf-8")
        out.append(f"  {configmap_key(relative)}: " + yaml_block(text, "    ").rstrip("\n"))
    return "\n".join(out) + "\n"


# ============================================================================================
# A kustomize subset (kubectl is not always there). check compares it with `kubectl kustomize`
# whenever kubectl is installed, so the two cannot disagree unnoticed.
# ============================================================================================

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration"}
# Strategic-merge keys of the lists the overlays patch (Kubernetes' patchMergeKey).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "ports": "containerPort", "volumeMounts": "mountPath", "imagePullSecrets": "name"}


def load_yaml_docs(path: Path) -> list[dict]:
    import yaml
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def strategic_merge(base, patch, key=None):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS \
            and all(isinstance(x, dict) for x in base + patch):
        # As kustomize orders them: the patch's items first (merged with their base item), in
        # the patch's order, then the base items the patch does not name.
        mk = MERGE_KEYS[key]
        named = {item.get(mk) for item in patch}
        out = []
        for item in patch:
            existing = next((b for b in base if b.get(mk) == item.get(mk)), None)
            out.append(strategic_merge(existing, item, None) if existing is not None else copy.deepcopy(item))
        return out + [copy.deepcopy(b) for b in base if b.get(mk) not in named]
    return copy.deepcopy(patch)


def render(directory: Path) -> list[dict]:
    import yaml
    k = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    known = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
    if set(k) - known:
        raise SystemExit(f"{directory}/kustomization.yaml: deploytool's renderer supports only {sorted(known)}, "
                         f"not {sorted(set(k) - known)} (keep kustomizations simple, or teach render())")
    docs: list[dict] = []
    for r in k.get("resources", []):
        p = (directory / r).resolve()
        docs += render(p) if p.is_dir() else load_yaml_docs(p)
    for patch in k.get("patches", []):
        if set(patch) != {"path"}:
            raise SystemExit(f"{directory}: patches support only `path` (strategic merge by kind and name)")
        for pd in load_yaml_docs(directory / patch["path"]):
            matches = [i for i, d in enumerate(docs) if d["kind"] == pd["kind"] and d["metadata"]["name"] == pd["metadata"]["name"]]
            if len(matches) != 1:
                raise SystemExit(f"{directory}/{patch['path']}: patch target {pd['kind']}/{pd['metadata']['name']} matched {len(matches)} resources")
            docs[matches[0]] = strategic_merge(docs[matches[0]], pd)
    for image in k.get("images", []):
        for d in docs:
            for c in pod_containers(d):
                name, tag = split_image(c["image"])
                if name == image["name"]:
                    c["image"] = image.get("newName", name) + (":" + image["newTag"] if "newTag" in image else (":" + tag if tag else ""))
    if "namespace" in k:
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                d["metadata"]["namespace"] = k["namespace"]
    return docs


def pod_containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {}) if doc.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job"} else {}
    return spec.get("containers", []) + spec.get("initContainers", [])


def split_image(ref: str) -> tuple[str, str | None]:
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        return ref[: ref.rfind(":")], ref[ref.rfind(":") + 1:]
    return ref, None


def identity(d: dict) -> tuple:
    return (d.get("apiVersion"), d.get("kind"), d["metadata"].get("namespace"), d["metadata"]["name"])


# ============================================================================================
# Dockerfile and .dockerignore
# ============================================================================================

def parse_dockerfile(path: Path) -> list[dict]:
    """Stages: {name, base, instructions: [(KEYWORD, text)]}; continuation lines joined."""
    stages: list[dict] = []
    logical, buf = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue                                   # comment lines inside a continuation
        if line.endswith("\\"):
            buf += line[:-1].rstrip() + " "
            continue
        logical.append(buf + line)
        buf = ""
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            stages.append({"base": parts[0], "name": parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(stages)),
                           "instructions": []})
        else:
            stages[-1]["instructions"].append((keyword, rest))
    return stages


def image_config(stage: dict) -> dict:
    """What the final stage tells a container runtime."""
    cfg = {"env": {"PATH": IMAGE_PATH}, "user": None, "entrypoint": None, "cmd": None, "expose": [],
           "volumes": [], "healthcheck": None, "workdir": "/"}
    for keyword, rest in stage["instructions"]:
        if keyword == "ENV":
            for item in shlex.split(rest):
                k, _, v = item.partition("=")
                cfg["env"][k] = v
        elif keyword == "USER":
            cfg["user"] = rest
        elif keyword in ("ENTRYPOINT", "CMD"):
            if not rest.startswith("["):
                raise SystemExit(f"deploy/Dockerfile: {keyword} must use the exec (JSON) form, so SIGTERM reaches menshen")
            cfg[keyword.lower()] = json.loads(rest)
        elif keyword == "EXPOSE":
            cfg["expose"] += [int(p.split("/")[0]) for p in rest.split()]
        elif keyword == "VOLUME":
            cfg["volumes"] += json.loads(rest) if rest.startswith("[") else rest.split()
        elif keyword == "WORKDIR":
            cfg["workdir"] = rest
        elif keyword == "HEALTHCHECK":
            m = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
            if not m:
                raise SystemExit("deploy/Dockerfile: HEALTHCHECK must use CMD in exec (JSON) form")
            cfg["healthcheck"] = json.loads(m.group(1))
    return cfg


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also covers what lies below it."""
    excluded = False
    for p in patterns:
        negate = p.startswith("!")
        p = p[1:] if negate else p
        p = p.strip("/")
        parts = path.split("/")
        if any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), p) for i in range(len(parts))):
            excluded = not negate
    return excluded


# ============================================================================================
# The check
# ============================================================================================

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name: str):
        print(f"ok   {name}", flush=True)
        self.passed += 1

    def fail(self, name: str, detail: str = ""):
        print(f"FAIL {name}", flush=True)
        if detail:
            for line in detail.rstrip().splitlines()[:25]:
                print(f"     {line}", flush=True)
        self.failed += 1

    def note(self, text: str):
        print(f"note {text}", flush=True)

    def check(self, name: str, condition: bool, detail: str = ""):
        self.ok(name) if condition else self.fail(name, detail)
        return condition


def run(cmd: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def binary() -> Path:
    return REPO / ".build" / "debug" / "menshen"


def effective_listen(argv: list[str], env: dict, policy: dict, flag: str, env_key: str, policy_keys: list[str], default: str) -> str:
    """Flag over environment over policy file over default, as `menshen serve` does."""
    if flag and flag in argv:
        return argv[argv.index(flag) + 1]
    for a in argv:
        if flag and a.startswith(flag + "="):
            return a.split("=", 1)[1]
    if env_key in env:
        return env[env_key]
    node = policy
    for key in policy_keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else default


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def is_loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")


def arg_value(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def policy_support(rep: Report) -> bool:
    """Whether the binary accepts the audit/labels (issue 4) policy keys yet."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("audit:\n  stdout: true\n")
    try:
        r = run([str(binary()), "config", "check", f.name])
    finally:
        os.unlink(f.name)
    if r.returncode == 0:
        return True
    rep.note("the binary does not accept the audit/labels (issue 4) policy keys yet; the check feeds it the "
             "policy files without them (they stay in the manifests)")
    return False


def strip_policy(text: str, supported: bool) -> str:
    if supported:
        return text
    import yaml
    data = yaml.safe_load(text) or {}
    for k in COMING_POLICY_KEYS:
        data.pop(k, None)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def check_dockerfile(rep: Report) -> tuple[list[dict], dict]:
    df = DEPLOY / "Dockerfile"
    r = run(["hadolint", "--failure-threshold", "error", str(df)])
    rep.check("hadolint deploy/Dockerfile (no errors)", r.returncode == 0, r.stdout + r.stderr)
    if r.stdout.strip():
        rep.note("hadolint warnings:\n" + r.stdout.strip())
    stages = parse_dockerfile(df)
    final = stages[-1]
    cfg = image_config(final)
    rep.check("Dockerfile: multi-stage, runtime on debian:bookworm-slim", len(stages) >= 2 and final["base"] == "debian:bookworm-slim", str([s["base"] for s in stages]))
    user = cfg["user"] or "0"
    rep.check("Dockerfile: runs as a numeric non-root USER", re.fullmatch(r"[1-9]\d*(:\d+)?", user) is not None, f"USER {user}")
    # Swift build command: `make test` builds the same product in debug form.
    build_runs = " ".join(t for s in stages for k, t in s["instructions"] if k == "RUN")
    product = re.search(r"swift build -c release --static-swift-stdlib --product (\S+)", build_runs)
    makefile = (REPO / "Makefile").read_text()
    rep.check("Dockerfile: builds the menshen product statically; `make test` builds it (debug form)",
              bool(product) and product.group(1) == "menshen" and '.executable(name: "menshen"' in (REPO / "Package.swift").read_text()
              and re.search(r"^test:.*\n(\t.*\n)*\t\$\(SWIFT\) build", makefile, re.M) is not None,
              "expected `swift build -c release --static-swift-stdlib --product menshen` in a RUN and `$(SWIFT) build` in the Makefile's test target")
    # Every folder Package.swift names must be in the build stage, or SwiftPM refuses the manifest.
    copied = [shlex.split(t)[-2].rstrip("/") for k, t in stages[0]["instructions"] if k == "COPY"]
    # Interpolated paths belong to the fuzz targets, in the graph only with MENSHEN_FUZZ=1: never in an image.
    paths = [p for p in re.findall(r'path:\s*"([^"]+)"', (REPO / "Package.swift").read_text()) if "\\(" not in p]
    uncopied = [p for p in paths if not any(p == c or p.startswith(c + "/") for c in copied)]
    rep.check("Dockerfile: the build stage copies every target folder Package.swift names", not uncopied, f"not copied: {uncopied}")
    # .dockerignore: every COPY source goes in, the bulky and local things stay out.
    patterns = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    sources = [shlex.split(t)[-2] for s in stages for k, t in s["instructions"] if k == "COPY" and "--from=" not in t]
    missing = [s for s in sources if dockerignore_excludes(patterns, s.rstrip("/")) or not (REPO / s).exists()]
    rep.check(".dockerignore: every COPY source is in the build context", not missing, f"excluded or absent: {missing}")
    leaked = [p for p in [".build", ".git", "bench-data", "bench-out", "Package.resolved", "deploy/compose/admin-token.dev"] if not dockerignore_excludes(patterns, p)]
    rep.check(".dockerignore: .build, .git, bench data, Package.resolved and dev tokens stay out", not leaked, f"not excluded: {leaked}")
    # Run-time libraries: what the binary links (besides the Swift runtime, static in release)
    # must come from debian:bookworm-slim or a package the runtime stage installs.
    installed = set()
    for k, t in final["instructions"]:
        if k == "RUN":
            for m in re.finditer(r"apt-get install ([^&]*)", t):
                installed |= {w for w in m.group(1).split() if not w.startswith("-")}
    needed, unknown = set(), []
    for line in run(["ldd", str(binary())]).stdout.splitlines():
        m = re.search(r"=>\s+(/\S+)", line)
        if not m or "/swift" in m.group(1):
            continue
        owner = run(["dpkg", "-S", os.path.realpath(m.group(1))])
        if owner.returncode != 0:
            owner = run(["dpkg", "-S", m.group(1)])
        pkg = owner.stdout.split(":")[0] if owner.returncode == 0 else None
        (needed.add(pkg) if pkg else unknown.append(m.group(1)))
    lacking = sorted(needed - SLIM_PACKAGES - installed)
    rep.check(f"runtime stage provides the binary's libraries ({', '.join(sorted(needed))})", not lacking and not unknown,
              f"not in slim nor installed: {lacking} {unknown}")
    return stages, cfg


def kubelet_layout(directory: Path, files: dict[str, bytes], mode: int, gid: int | None = None, stamp: str | None = None):
    """Writes `files` the way kubelet's atomic writer does: a timestamped directory, a `..data`
    symlink to it, and one symlink per key through `..data`."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = stamp or time.strftime("..%Y_%m_%d_%H_%M_%S.") + f"{time.time_ns() % 10**9:09d}"
    data_dir = directory / stamp
    data_dir.mkdir()
    for key, content in files.items():
        (data_dir / key).write_bytes(content)
        os.chmod(data_dir / key, mode)
        if gid is not None:
            os.chown(data_dir / key, 0, gid)
    os.chmod(data_dir, 0o755)
    tmp_link = directory / "..data_tmp"
    tmp_link.symlink_to(stamp)
    os.replace(tmp_link, directory / "..data")
    for key in files:
        link = directory / key
        if not link.is_symlink():
            link.symlink_to(f"..data/{key}")
    return stamp


def k8s_checks(rep: Report, name: str, docs: list[dict], cfg: dict, secret_example: dict, policy_supported: bool,
               tmp: Path) -> dict | None:
    """Static checks of one rendered overlay; returns the sandbox run for its Menshen container."""
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployment = by_kind["Deployment"][0]
    pod = deployment["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    menshen, vllm = containers.get("menshen"), containers.get("vllm")
    if not rep.check(f"{name}: Deployment has the menshen and vllm containers", bool(menshen and vllm), str(list(containers))):
        return None
    configmaps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in menshen.get("volumeMounts", [])}

    argv = (menshen.get("command") or cfg["entrypoint"]) + (menshen.get("args") if "args" in menshen else (cfg["cmd"] or []))
    env = dict(cfg["env"])
    for e in menshen.get("env", []):
        if "value" not in e:
            rep.fail(f"{name}: env {e['name']} has a literal value", "valueFrom is not followed by the check; use files from volumes")
            return None
        env[e["name"]] = e["value"]

    def volume_for(path: str):
        """(volume, mount, key inside it) for a container path."""
        for mp, m in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            if path == mp or path.startswith(mp.rstrip("/") + "/"):
                return volumes[m["name"]], m, path[len(mp):].lstrip("/")
        return None, None, None

    import yaml
    config_file = arg_value(argv, "--config")
    policy_text = ""
    if config_file:
        v, m, key = volume_for(config_file)
        ok = rep.check(f"{name}: --config {config_file} comes from a ConfigMap, mounted whole (no subPath) and read-only",
                       bool(v and "configMap" in v and "subPath" not in m and m.get("readOnly")
                            and key in configmaps.get(v["configMap"]["name"], {}).get("data", {})), str(m))
        if not ok:
            return None
        policy_text = configmaps[v["configMap"]["name"]]["data"][key]
    policy = yaml.safe_load(policy_text) or {}

    listen = effective_listen(argv, env, policy, "--listen", "MENSHEN_LISTEN", ["listen"], "127.0.0.1:8080")
    admin_listen = effective_listen(argv, env, policy, "", "MENSHEN_ADMIN_LISTEN", ["admin", "listen"], "127.0.0.1:9090")
    token_file = effective_listen(argv, env, policy, "", "MENSHEN_ADMIN_TOKEN_FILE", ["admin", "token_file"], "")
    lexicon_dir = effective_listen(argv, env, policy, "--lexicons", "MENSHEN_LEXICONS", ["lexicons"], "Lexicons")
    main_host, main_port = host_port(listen)
    admin_host, admin_port = host_port(admin_listen)
    ports = {p["name"]: p["containerPort"] for p in menshen.get("ports", [])}
    rep.check(f"{name}: menshen listens beyond loopback on its `http` containerPort ({listen})",
              not is_loopback(main_host) and ports.get("http") == main_port, f"ports {ports}")
    rep.check(f"{name}: admin listener on the `admin` containerPort with a bearer token ({admin_listen})",
              ports.get("admin") == admin_port and (is_loopback(admin_host) or bool(token_file)), f"token file {token_file!r}")

    def probe_port(probe):
        p = probe["httpGet"]["port"]
        return ports.get(p) if isinstance(p, str) else p
    probes = {k: menshen.get(k) for k in ("startupProbe", "livenessProbe", "readinessProbe")}
    rep.check(f"{name}: liveness /healthz and readiness /readyz on the model port",
              probes["livenessProbe"] and probes["livenessProbe"]["httpGet"]["path"] == "/healthz" and probe_port(probes["livenessProbe"]) == main_port
              and probes["readinessProbe"] and probes["readinessProbe"]["httpGet"]["path"] == "/readyz" and probe_port(probes["readinessProbe"]) == main_port,
              json.dumps(probes))

    # The model server: loopback only, and Menshen's (internal) upstream points at it.
    vhost, vport = arg_value(vllm.get("args", []), "--host"), arg_value(vllm.get("args", []), "--port")
    upstreams = [u["url"] for u in policy.get("upstreams", []) if u.get("trust", "internal") == "internal"] or [env.get("MENSHEN_UPSTREAM", policy.get("upstream"))]
    rep.check(f"{name}: vllm binds loopback only and menshen's internal upstream is it",
              vhost is not None and is_loopback(vhost) and vport is not None and upstreams and upstreams[0] == f"http://127.0.0.1:{vport}",
              f"vllm --host {vhost} --port {vport}; menshen upstreams {upstreams}")

    # Service → Menshen's port; PodMonitor → admin port with the Secret's token.
    svc = by_kind["Service"][0]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    rep.check(f"{name}: Service selects the pod and targets menshen's model port only",
              all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
              and [p["targetPort"] for p in svc["spec"]["ports"]] in (["http"], [main_port]), json.dumps(svc["spec"]))

    # Shutdown arithmetic: the drain fits the grace period; vLLM outlives Menshen's drain.
    def prestop_sleep(c):
        cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        return int(cmd[1]) if len(cmd) == 2 and cmd[0] == "sleep" else 0
    drain_text = env.get("MENSHEN_DRAIN_TIMEOUT") or (policy.get("timeouts") or {}).get("drain") or "30s"
    drain = duration_seconds(drain_text)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    m_sleep, v_sleep = prestop_sleep(menshen), prestop_sleep(vllm)
    rep.check(f"{name}: terminationGracePeriodSeconds {grace} > menshen preStop {m_sleep}s + drain {drain:g}s; vllm preStop {v_sleep}s >= both",
              grace > m_sleep + drain + 5 and v_sleep >= m_sleep + drain and grace > v_sleep + 5)

    # Security: restricted Pod Security Standard for every container, read-only root everywhere.
    psc = pod.get("securityContext", {})
    bad = []
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot")) and sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
                and "ALL" in sc.get("capabilities", {}).get("drop", []) and not sc.get("privileged")
                and (sc.get("seccompProfile") or psc.get("seccompProfile", {})).get("type") == "RuntimeDefault"):
            bad.append(c["name"])
        if not c.get("resources", {}).get("requests") or "memory" not in c.get("resources", {}).get("limits", {}):
            bad.append(c["name"] + " (resources)")
    if any("hostPath" in v or "hostNetwork" in pod for v in pod.get("volumes", [])):
        bad.append("hostPath/hostNetwork")
    rep.check(f"{name}: every container non-root, read-only root, no privilege escalation, ALL capabilities dropped, RuntimeDefault seccomp, resources set",
              not bad, f"offending: {bad}")

    # Mounts: lexicons = a ConfigMap, whole; token and label key inside the Secret; audit writable.
    v, m, _ = volume_for(lexicon_dir)
    lex_cm = configmaps.get(v["configMap"]["name"]) if v and "configMap" in v else None
    rep.check(f"{name}: lexicons ({lexicon_dir}) are a ConfigMap mounted whole and read-only", bool(lex_cm and m["mountPath"] == lexicon_dir and "subPath" not in m and m.get("readOnly")))
    secret_keys = set(secret_example.get("stringData", {})) | set(secret_example.get("data", {}))
    needed_secret_files = [token_file] + [((policy.get("labels") or {}).get("key_file"))]
    for path in filter(None, needed_secret_files):
        v, m, key = volume_for(path)
        rep.check(f"{name}: {path} is key `{key}` of Secret {secret_example['metadata']['name']}",
                  bool(v and v.get("secret", {}).get("secretName") == secret_example["metadata"]["name"] and key in secret_keys and m.get("readOnly")))
    audit_dir = (policy.get("audit") or {}).get("directory")
    if audit_dir:
        v, m, _ = volume_for(audit_dir)
        rep.check(f"{name}: audit.directory {audit_dir} is a writable volume (audit/labels, issue 4)", bool(v and not m.get("readOnly") and ("emptyDir" in v or "persistentVolumeClaim" in v)))
        if v and "emptyDir" in v:
            # A full emptyDir evicts the pod: rotation must stay below the volume's sizeLimit.
            audit = policy["audit"]
            most = audit.get("max_files", 0) * audit.get("max_file_bytes", 67108864)
            limit = quantity_bytes(v["emptyDir"].get("sizeLimit", "0"))
            rep.check(f"{name}: audit max_files x max_file_bytes ({most >> 20} MiB) < the audit emptyDir's sizeLimit ({limit >> 20} MiB)",
                      0 < most < limit, "set audit.max_files and audit.max_file_bytes, and emptyDir.sizeLimit")

    # PodMonitor: the admin port, the pod's labels, the Secret's token.
    for pm in by_kind.get("PodMonitor", []):
        ep = pm["spec"]["podMetricsEndpoints"][0]
        cred = ep.get("authorization", {}).get("credentials", {})
        rep.check(f"{name}: PodMonitor scrapes port `admin` /metrics of these pods with the Secret's admin token",
                  ep.get("port") == "admin" and ep.get("path", "/metrics") == "/metrics"
                  and all(labels.get(k) == v for k, v in pm["spec"]["selector"]["matchLabels"].items())
                  and cred.get("name") == secret_example["metadata"]["name"] and token_file and cred.get("key") == volume_for(token_file)[2],
                  json.dumps(ep))

    # The sandbox run: exactly this container.
    run_dir = tmp / name
    run_mounts = []
    secret_values = {k: secrets.token_hex(32).encode() for k in secret_keys}
    reload_dir = None
    for mp, mnt in mounts.items():
        vol = volumes[mnt["name"]]
        src = run_dir / "volumes" / mnt["name"]
        if "configMap" in vol:
            data = dict(configmaps[vol["configMap"]["name"]]["data"])
            if config_file and volume_for(config_file)[1] is mnt:
                # The policy file as the binary of today can read it (audit/labels, issue 4).
                data = {k: strip_policy(t, policy_supported) if k == volume_for(config_file)[2] else t for k, t in data.items()}
            kubelet_layout(src, {k: t.encode() for k, t in data.items()}, vol["configMap"].get("defaultMode", 0o644))
            if mp == lexicon_dir:
                reload_dir = str(src)
            run_mounts.append({"path": mp, "type": "bind", "source": str(src), "ro": bool(mnt.get("readOnly"))})
        elif "secret" in vol:
            kubelet_layout(src, secret_values, vol["secret"].get("defaultMode", 0o644), gid=psc.get("fsGroup"))
            run_mounts.append({"path": mp, "type": "bind", "source": str(src), "ro": bool(mnt.get("readOnly"))})
        elif "emptyDir" in vol:
            # kubelet makes emptyDir directories 0777 (group fsGroup); sizeLimit becomes the tmpfs size.
            run_mounts.append({"path": mp, "type": "tmpfs", "mode": "0777", "uid": 0, "gid": psc.get("fsGroup", 0),
                               "size": vol["emptyDir"].get("sizeLimit", "64Mi")})
        else:
            rep.fail(f"{name}: menshen mounts a {list(vol)} volume the check cannot emulate")
            return None
    token = secret_values.get(volume_for(token_file)[2]).decode() if token_file else None
    sc = menshen.get("securityContext", {})
    uid, gid = sc.get("runAsUser"), sc.get("runAsGroup")
    if uid is None:
        u = (cfg["user"] or "0").split(":")
        uid, gid = int(u[0]), int(u[1]) if len(u) > 1 else 0
    return {
        "name": f"k8s {name}", "argv": argv, "env": env, "uid": uid, "gid": gid,
        "groups": [psc["fsGroup"]] if "fsGroup" in psc else [], "read_only": bool(sc.get("readOnlyRootFilesystem")),
        "mounts": run_mounts, "hosts": {}, "stub_ports": [int(vport)], "main_port": main_port,
        "probes": {k: {"path": p["httpGet"]["path"], "port": probe_port(p)} for k, p in probes.items() if p},
        "ports": sorted(ports.values()), "admin_port": admin_port, "admin_token": token,
        "reload_dir": reload_dir, "healthcheck": None,
        "prestop": [c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") for c in [menshen] if c.get("lifecycle")],
        "drain": drain, "expect_metrics": [],
        "audit_dir": ((policy.get("audit") or {}).get("directory") or env.get("MENSHEN_AUDIT_DIRECTORY")) if policy_supported else None,
        "audit_stdout": bool((policy.get("audit") or {}).get("stdout")),
    }


def duration_seconds(text: str) -> float:
    m = re.fullmatch(r"\s*([\d.]+)\s*(ms|s|m|h)?\s*", str(text))
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return float(m.group(1)) * scale


def quantity_bytes(text: str) -> int:
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(text))
    return int(m.group(1)) * {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6,
                              "G": 10**9, "T": 10**12, None: 1}[m.group(2)]


def rule_metrics(rule_doc: dict) -> set[str]:
    names = set()
    for g in rule_doc["spec"]["groups"]:
        for r in g["rules"]:
            names |= set(re.findall(r"(?<![\w:])(menshen_[a-z0-9_]+)(?![\w:])", r["expr"]))
    return names


def check_monitoring(rep: Report, tmp: Path) -> set[str]:
    import yaml
    rules = load_yaml_docs(K8S / "monitoring" / "prometheusrule.yaml")[0]
    pm = load_yaml_docs(K8S / "monitoring" / "podmonitor.yaml")[0]
    ok = all(k in pm.get("spec", {}) for k in ("selector", "podMetricsEndpoints")) and pm["apiVersion"] == "monitoring.coreos.com/v1"
    rep.check("PodMonitor: apiVersion, selector and podMetricsEndpoints present", ok)
    alerts = [r for g in rules["spec"]["groups"] for r in g["rules"] if "alert" in r]
    rep.check("PrometheusRule: every alert has expr, a severity label, summary and description",
              rules["apiVersion"] == "monitoring.coreos.com/v1" and all(
                  r.get("expr") and r.get("labels", {}).get("severity") in ("critical", "warning", "info")
                  and {"summary", "description"} <= set(r.get("annotations", {})) for r in alerts),
              str([r.get("alert") for r in alerts]))
    wanted = {"MenshenBlockedRateSpike", "MenshenReloadRejected", "MenshenAuditWriteErrors", "MenshenUpstreamErrors"}
    rep.check("PrometheusRule: blocked-rate spike, reload rejected, audit write errors, upstream errors", wanted <= {r["alert"] for r in alerts})
    rules_file = tmp / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": rules["spec"]["groups"]}, allow_unicode=True, sort_keys=False))
    r = run(["promtool", "check", "rules", str(rules_file)])
    rep.check("promtool check rules (the PrometheusRule's groups)", r.returncode == 0, r.stdout + r.stderr)
    shutil.copy(K8S / "monitoring" / "alerts.test.yaml", tmp / "alerts.test.yaml")
    r = run(["promtool", "test", "rules", str(tmp / "alerts.test.yaml")], timeout=300)
    rep.check("promtool test rules (monitoring/alerts.test.yaml)", r.returncode == 0, r.stdout + r.stderr)
    return rule_metrics(rules)


def check_compose(rep: Report, cfg: dict, tmp: Path) -> dict | None:
    import yaml
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    svc = compose["services"]["menshen"]
    base = DEPLOY
    rep.check("compose: menshen is built from deploy/Dockerfile at the repository root",
              (base / svc["build"]["context"]).resolve() == REPO and (REPO / svc["build"]["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve())
    env = dict(cfg["env"])
    env.update({k: str(v) for k, v in svc.get("environment", {}).items()})
    argv = (svc.get("entrypoint") or cfg["entrypoint"]) + (svc.get("command") or cfg["cmd"] or [])
    mounts, hosts = [], {}
    for vol in svc.get("volumes", []):
        src, dst, *opt = vol.split(":")
        if src.startswith((".", "/")):
            host = (base / src).resolve()
            rep.check(f"compose: bind source {src} exists", host.exists())
            mounts.append({"path": dst, "type": "bind", "source": str(host), "ro": "ro" in opt})
        else:
            rep.check(f"compose: named volume {src} is declared", src in compose.get("volumes", {}))
            # Docker fills a new named volume from the image's directory, owner included.
            mounts.append({"path": dst, "type": "tmpfs", "mode": "0755", "uid": 10001, "gid": 10001, "size": "64m", "image_owner": True})
    token = None
    for name in svc.get("secrets", []):
        src = (base / compose["secrets"][name]["file"]).resolve()
        rep.check(f"compose: secret {name} file exists", src.exists())
        mounts.append({"path": f"/run/secrets/{name}", "type": "bindfile", "source": str(src), "ro": True})
        if env.get("MENSHEN_ADMIN_TOKEN_FILE") == f"/run/secrets/{name}":
            token = src.read_text().strip()
    admin_host, admin_port = host_port(env.get("MENSHEN_ADMIN_LISTEN", "127.0.0.1:9090"))
    main_host, main_port = host_port(env.get("MENSHEN_LISTEN", "127.0.0.1:8080"))
    upstream = env.get("MENSHEN_UPSTREAM", "")
    m = re.fullmatch(r"http://([a-z0-9.-]+):(\d+)", upstream)
    rep.check("compose: MENSHEN_UPSTREAM names the ollama service", bool(m) and m.group(1) in compose["services"], upstream)
    if m:
        hosts[m.group(1)] = "127.0.0.1"     # what compose's DNS does for a service name
    published = [p for p in svc.get("ports", []) if p.endswith(f":{main_port}")]
    rep.check("compose: the model port is published on 127.0.0.1 only", published and all(p.startswith("127.0.0.1:") for p in published), str(svc.get("ports")))
    rep.check("compose: menshen runs read-only, without capabilities or new privileges",
              svc.get("read_only") is True and svc.get("cap_drop") == ["ALL"] and "no-new-privileges:true" in svc.get("security_opt", []))
    # Prometheus: scrapes the admin port with the same token file.
    prom = compose["services"]["prometheus"]
    prom_cfg_src = next(v.split(":")[0] for v in prom["volumes"] if v.split(":")[1] == "/etc/prometheus/prometheus.yml")
    prom_cfg = yaml.safe_load((base / prom_cfg_src).read_text())
    job = prom_cfg["scrape_configs"][0]
    rep.check("compose: prometheus.yml scrapes menshen's admin port with the admin token secret",
              job["static_configs"][0]["targets"] == [f"menshen:{admin_port}"] and job.get("metrics_path", "/metrics") == "/metrics"
              and job["authorization"]["credentials_file"] in [f"/run/secrets/{n}" for n in prom.get("secrets", [])]
              and job["authorization"]["credentials_file"] == env.get("MENSHEN_ADMIN_TOKEN_FILE"), json.dumps(job))
    r = run(["promtool", "check", "config", "--syntax-only", str(base / prom_cfg_src)])
    rep.check("promtool check config deploy/compose/prometheus.yml", r.returncode == 0, r.stdout + r.stderr)
    grace = duration_seconds(svc.get("stop_grace_period", "10s"))
    drain = duration_seconds(env.get("MENSHEN_DRAIN_TIMEOUT", "30s"))
    rep.check(f"compose: stop_grace_period {grace:g}s > drain timeout {drain:g}s", grace > drain)
    user = (svc.get("user") or cfg["user"] or "0").split(":")
    return {
        "name": "compose menshen", "argv": argv, "env": env, "uid": int(user[0]), "gid": int(user[1]) if len(user) > 1 else 0,
        "groups": [], "read_only": bool(svc.get("read_only")), "mounts": mounts, "hosts": hosts,
        "stub_ports": [int(m.group(2))] if m else [], "main_port": main_port,
        "probes": {"livenessProbe": {"path": "/healthz", "port": main_port}, "readinessProbe": {"path": "/readyz", "port": main_port}},
        "ports": sorted({main_port, admin_port}), "admin_port": admin_port, "admin_token": token, "reload_dir": None,
        "healthcheck": cfg["healthcheck"], "prestop": [], "drain": drain, "expect_metrics": [],
        "audit_dir": env.get("MENSHEN_AUDIT_DIRECTORY"),
    }


def dockerfile_run(cfg: dict) -> dict:
    user = (cfg["user"] or "0").split(":")
    env = dict(cfg["env"])
    env["MENSHEN_UPSTREAM"] = "http://127.0.0.1:8000"       # as `docker run -e MENSHEN_UPSTREAM=...`
    main_port = host_port(env.get("MENSHEN_LISTEN", "127.0.0.1:8080"))[1]
    admin_port = host_port(env.get("MENSHEN_ADMIN_LISTEN", "127.0.0.1:9090"))[1]
    return {
        "name": "image", "argv": cfg["entrypoint"] + (cfg["cmd"] or []), "env": env,
        "uid": int(user[0]), "gid": int(user[1]) if len(user) > 1 else 0, "groups": [], "read_only": True,
        "mounts": [{"path": v, "type": "tmpfs", "mode": "0755", "uid": int(user[0]), "gid": int(user[1]) if len(user) > 1 else 0,
                    "size": "64m", "image_owner": True} for v in cfg["volumes"]],
        "hosts": {}, "stub_ports": [8000], "main_port": main_port,
        "probes": {"livenessProbe": {"path": "/healthz", "port": main_port}, "readinessProbe": {"path": "/readyz", "port": main_port}},
        "ports": sorted(cfg["expose"]), "admin_port": admin_port, "admin_token": None, "reload_dir": None,
        "healthcheck": cfg["healthcheck"], "prestop": [], "drain": duration_seconds(env.get("MENSHEN_DRAIN_TIMEOUT", "30s")),
        "expect_metrics": [], "also_without_upstream": True, "connect_only_probe": True,
        "audit_dir": env.get("MENSHEN_AUDIT_DIRECTORY"),
    }


def check(args) -> int:
    rep = Report()
    if not binary().exists():
        rep.fail(f"{binary()} exists", "build it first: swift build --product menshen")
        return finish(rep)
    import yaml
    tmp = Path(tempfile.mkdtemp(prefix="check-deploy."))
    try:
        print("== Dockerfile", flush=True)
        stages, cfg = check_dockerfile(rep)
        policy_supported = policy_support(rep)

        print("== Lexicon ConfigMap", flush=True)
        generated = lexicons_configmap_text(REPO / "Lexicons")
        committed = (K8S / "base" / "lexicons.yaml").read_text(encoding="utf-8")
        rep.check("base/lexicons.yaml is generated from the current Lexicons/", generated == committed,
                           "regenerate: python3 deploy/tools/deploytool.py lexicons-configmap > deploy/kubernetes/base/lexicons.yaml")
        size = len(generated.encode())
        rep.check(f"lexicon ConfigMap {size // 1024} KiB < 900 KiB (the API server's limit is 1 MiB)", size < 900 * 1024)
        cm_dir = tmp / "lexicon-configmap"
        kubelet_layout(cm_dir, {k: v.encode() for k, v in yaml.safe_load(committed)["data"].items()}, 0o644)
        r = run([str(binary()), "lexicon", "validate", str(cm_dir)])
        rep.check("menshen lexicon validate: the ConfigMap's lexicons, in kubelet's layout", r.returncode == 0, r.stdout + r.stderr)

        print("== Monitoring", flush=True)
        rule_names = check_monitoring(rep, tmp)

        print("== Kubernetes overlays", flush=True)
        secret_example = load_yaml_docs(K8S / "base" / "secret.example.yaml")[0]
        kubectl = shutil.which("kubectl")
        runs = []
        for overlay in OVERLAYS:
            directory = K8S / "overlays" / overlay
            docs = render(directory)
            if kubectl:
                r = run([kubectl, "kustomize", str(directory)])
                theirs = {identity(d): d for d in yaml.safe_load_all(r.stdout) if d} if r.returncode == 0 else {}
                ours = {identity(d): d for d in docs}
                diff = [k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k)]
                rep.check(f"{overlay}: deploytool's render equals `kubectl kustomize`", r.returncode == 0 and not diff, r.stderr + str(diff))
            else:
                rep.note(f"{overlay}: kubectl not installed; rendered with deploytool only")
            rendered = tmp / f"{overlay}.yaml"
            plain = [d for d in docs if d["kind"] not in CRD_KINDS] + [secret_example]
            rendered.write_text(yaml.safe_dump_all(plain, allow_unicode=True, sort_keys=False))
            for version in K8S_VERSIONS:
                r = run(["kubernetes-validate", "--strict", "--quiet", "-k", version, str(rendered)])
                rep.check(f"{overlay}: kubernetes-validate --strict, Kubernetes {version} ({len(plain)} objects)", r.returncode == 0, r.stdout + r.stderr)
            for d in docs:
                if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "menshen-policy":
                    p = tmp / f"{overlay}-policy.yaml"
                    p.write_text(strip_policy(d["data"]["menshen.yaml"], policy_supported))
                    r = run([str(binary()), "config", "check", str(p)])
                    rep.check(f"{overlay}: menshen config check on the policy ConfigMap", r.returncode == 0, r.stdout + r.stderr)
            spec = k8s_checks(rep, overlay, docs, cfg, secret_example, policy_supported, tmp)
            if spec:
                runs.append(spec)

        print("== Compose", flush=True)
        compose_run = check_compose(rep, cfg, tmp)
        runs = [dockerfile_run(cfg)] + ([compose_run] if compose_run else []) + runs
        expected = sorted(rule_names - FIRST_ERROR_METRICS - (COMING_METRICS if not policy_supported else set()))
        for r_ in runs:
            r_["expect_metrics"] = expected
            if not policy_supported:
                r_["audit_dir"] = None
            r_["optional_metrics"] = sorted(COMING_METRICS)

        print("== Sandbox runs (private network and mount namespaces, read-only root)", flush=True)
        plan = {"repo": str(REPO), "binary": str(binary()), "stages": stages, "runs": runs}
        (tmp / "plan.json").write_text(json.dumps(plan))
        if os.geteuid() != 0:
            rep.fail("sandbox runs need root (unshare, mount, chroot); CI runs as root")
            return finish(rep)
        proc = subprocess.Popen(["unshare", "--mount", "--net", "--fork", "--", sys.executable, str(Path(__file__).resolve()),
                                 "sandbox", str(tmp / "plan.json"), str(tmp / "sandbox")],
                                stdout=subprocess.PIPE, text=True)
        seen_end = False
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                print("     " + line.rstrip())
                continue
            if "ok" in event:
                rep.check(event["name"], event["ok"], event.get("detail", ""))
            elif "note" in event:
                rep.note(event["note"])
            elif "section" in event:
                print(f"-- {event['section']}", flush=True)
            elif event.get("end"):
                seen_end = True
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
        rep.check("sandbox finished", proc.returncode == 0 and seen_end, f"exit {proc.returncode}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish(rep)


def finish(rep: Report) -> int:
    print(f"check-deploy: {rep.passed} passed, {rep.failed} failed", flush=True)
    return 0 if rep.failed == 0 else 1


# ============================================================================================
# Inside the sandbox (`unshare --mount --net`): build the image layer, then run each spec.
# ============================================================================================

def emit(**event):
    print(json.dumps(event, ensure_ascii=False), flush=True)


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-1500:]}")
    return r


def overlay(lower: str, work: Path) -> Path:
    for d in ("upper", "work", "root"):
        (work / d).mkdir(parents=True, exist_ok=True)
    sh(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={work}/upper,workdir={work}/work", str(work / "root")])
    return work / "root"


def copy_into(src: Path, root: Path, dst: str, workdir: str):
    target = root / (dst if dst.startswith("/") else f"{workdir}/{dst}").lstrip("/")
    if src.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, target, dirs_exist_ok=True, symlinks=True)
    else:
        if dst.endswith("/"):
            target = target / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def substitute_build_commands(command: str, repo: str) -> str:
    """The Swift toolchain steps are the ones not run here: `make test` builds the same product
    (debug form). Everything else in a RUN line runs for real."""
    command = re.sub(r"\$\(swift build [^)]*--show-bin-path\)", f"{repo}/.build/debug", command)
    command = re.sub(r"swift package resolve", "true", command)
    command = re.sub(r"swift build -c release --static-swift-stdlib --product menshen", "true", command)
    # Packages: no network here. Installed packages must already be on this Debian 12 machine
    # (scripts/install-deps.sh puts the build ones there); --no-download fails otherwise.
    command = re.sub(r"apt-get update", "true", command)
    command = command.replace("apt-get install", "apt-get install --no-download --no-upgrade")
    if re.search(r"\bswift\b", command):
        raise RuntimeError(f"RUN line has a Swift command check-deploy does not know how to stand in for: {command}")
    return command


def build_image(plan: dict, work: Path) -> Path:
    """Replays the Dockerfile: each stage on top of this machine's root (Debian 12 with Swift
    6.3.1, which is what swift:6.3.1-bookworm and debian:bookworm-slim are). Returns the runtime
    stage's layer."""
    roots: dict[str, Path] = {}
    repo = Path(plan["repo"])
    for i, stage in enumerate(plan["stages"]):
        root = overlay("/", work / f"stage{i}")
        roots[stage["name"]] = root
        workdir = "/"
        for keyword, rest in stage["instructions"]:
            if keyword == "WORKDIR":
                workdir = rest
                (root / rest.lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                parts = shlex.split(rest)
                flags = [p for p in parts if p.startswith("--")]
                src, dst = [p for p in parts if not p.startswith("--")]
                from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
                base = roots[from_stage] if from_stage else repo
                copy_into(base / src.lstrip("/"), root, dst, workdir)
            elif keyword == "RUN":
                command = substitute_build_commands(rest, str(repo))
                r = subprocess.run(["chroot", str(root), "/bin/sh", "-c", f"cd {shlex.quote(workdir)} && {command}"],
                                   capture_output=True, text=True, timeout=300)
                emit(name=f"image: RUN {rest[:90]}{'…' if len(rest) > 90 else ''}", ok=r.returncode == 0,
                     detail=(r.stdout + r.stderr)[-2000:])
                if r.returncode != 0:
                    raise RuntimeError("image build failed")
    final = plan["stages"][-1]["name"]
    return work / f"stage{len(plan['stages']) - 1}" / "upper", roots[final]


class Stub(BaseHTTPRequestHandler):
    """Stands in for vLLM / Ollama: an OpenAI-shaped chat endpoint."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/health", "/"):
            return self._send(200, {"status": "ok"})
        if self.path.endswith("/models"):
            return self._send(200, {"object": "list", "data": [{"id": "qwen", "object": "model"}]})
        self._send(404, {"error": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        if "理财" in prompt:
            answer = "这款理财产品稳赚不赔，欢迎购买。"
        else:
            answer = "您好，这里是测试回答。"
        model = body.get("model", "qwen")
        if not body.get("stream"):
            return self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        pieces = [answer[i:i + 2] for i in range(0, len(answer), 2)]
        if "slow" in prompt:
            pieces = ["第", "一", "段", "，", "第", "二", "段", "。", "完"]
        for p in pieces:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
            self._chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            if "slow" in prompt:
                time.sleep(0.3)
        done = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self._chunk(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
        self._chunk(b"")

    def _chunk(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def request(method: str, port: int, path: str, body=None, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, (dict, list)) else body
        h = {"content-type": "application/json"} if data is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def answers_http(port: int) -> bool:
    try:
        request("GET", port, "/healthz", timeout=2)
        return True
    except OSError:
        return False


def run_spec(spec: dict, image_layer: Path, work: Path):
    name = spec["name"]
    emit(section=name)
    root = overlay(f"{image_layer}:/", work)
    # Mount points, /etc/hosts entries, then the volumes; then the root goes read-only.
    for m in spec["mounts"]:
        target = root / m["path"].lstrip("/")
        if m["type"] == "bindfile":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        else:
            existing = target.stat() if target.exists() else None
            target.mkdir(parents=True, exist_ok=True)
            if m["type"] == "tmpfs" and m.get("image_owner") and existing:
                m["uid"], m["gid"], m["mode"] = existing.st_uid, existing.st_gid, oct(existing.st_mode & 0o7777)[2:]
    if spec["hosts"]:
        with open(root / "etc/hosts", "a") as f:
            for host, ip in spec["hosts"].items():
                f.write(f"{ip}\t{host}\n")
    for m in spec["mounts"]:
        target = str(root / m["path"].lstrip("/"))
        if m["type"] == "tmpfs":
            size = m["size"].replace("Mi", "m").replace("Gi", "g")
            sh(["mount", "-t", "tmpfs", "-o", f"size={size},mode={m['mode']},uid={m['uid']},gid={m['gid']}", "tmpfs", target])
        else:
            sh(["mount", "--bind", m["source"], target])
            if m["ro"]:
                sh(["mount", "-o", "remount,bind,ro", target])
    sh(["mount", "-t", "proc", "proc", str(root / "proc")])
    sh(["mount", "--rbind", "/dev", str(root / "dev")])
    if spec["read_only"]:
        sh(["mount", "-o", "remount,ro", str(root)])
    probe = subprocess.run(["chroot", str(root), "/bin/sh", "-c", "touch /.rw-probe"], capture_output=True)
    emit(name=f"{name}: root file system is {'read-only' if spec['read_only'] else 'writable'} in the sandbox",
         ok=(probe.returncode != 0) == spec["read_only"])

    servers = []
    for port in spec["stub_ports"]:
        server = ThreadingHTTPServer(("127.0.0.1", port), Stub)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)

    env = dict(spec["env"])
    env.setdefault("HOSTNAME", "menshen-check")
    env.setdefault("HOME", "/nonexistent")
    groups = ["--groups=" + ",".join(map(str, spec["groups"]))] if spec["groups"] else ["--clear-groups"]
    # As the container's user, with no capabilities and no_new_privs (allowPrivilegeEscalation: false).
    prefix = ["chroot", str(root), "setpriv", f"--reuid={spec['uid']}", f"--regid={spec['gid']}", *groups,
              "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]

    def contained(argv, env_, **kw):
        return subprocess.run(prefix + argv, env=env_, capture_output=True, text=True, timeout=kw.get("timeout", 20))

    if spec.get("also_without_upstream"):
        env2 = {k: v for k, v in env.items() if k != "MENSHEN_UPSTREAM"}
        r = contained(spec["argv"], env2)
        emit(name=f"{name}: without MENSHEN_UPSTREAM it refuses to start (exit 2, names `upstream`)",
             ok=r.returncode == 2 and "upstream" in r.stderr, detail=f"exit {r.returncode}: {r.stderr[-500:]}")

    log_path = work / "menshen.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(prefix + spec["argv"], env=env, stdout=log, stderr=subprocess.STDOUT)
    emit(note=f"{name}: {' '.join(spec['argv'])}  (uid {spec['uid']}, env " +
         " ".join(f"{k}={v}" for k, v in sorted(spec["env"].items()) if k.startswith("MENSHEN_")) + ")")

    def tail():
        log.flush()
        return log_path.read_text(errors="replace")[-2500:]

    try:
        startup = spec["probes"].get("startupProbe") or spec["probes"]["livenessProbe"]
        deadline, up = time.monotonic() + 60, False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if request("GET", startup["port"], startup["path"], timeout=1)[0] == 200:
                    up = True
                    break
            except OSError:
                pass
            time.sleep(0.2)
        if not emit_ok(f"{name}: starts; {startup['path']} on port {startup['port']} answers 200 (startup)", up, tail()):
            return
        for kind in ("livenessProbe", "readinessProbe"):
            p = spec["probes"][kind]
            status, _, body = request("GET", p["port"], p["path"])
            emit_ok(f"{name}: {kind} GET {p['path']} on port {p['port']} → 200", status == 200, body)
        closed = [p for p in spec["ports"] if not answers_http(p)]
        emit_ok(f"{name}: every declared port answers HTTP ({', '.join(map(str, spec['ports']))})", not closed, f"closed: {closed}")

        # Model traffic through the stub.
        status, headers, body = request("POST", spec["main_port"], "/v1/chat/completions",
                                     {"model": "qwen", "messages": [{"role": "user", "content": "你好"}]})
        emit_ok(f"{name}: a chat completion reaches the model server through menshen", status == 200 and "测试回答" in body,
                f"{status} {body[:300]}")
        status, headers, body = request("POST", spec["main_port"], "/v1/chat/completions",
                                     {"model": "qwen", "messages": [{"role": "user", "content": "推荐一款理财产品"}]})
        emit_ok(f"{name}: a guaranteed-returns answer is blocked", status == 200 and "稳赚不赔" not in body
                and headers.get("x-menshen-decision") == "block", f"{status} {headers.get('x-menshen-decision')} {body[:300]}")
        status, _, body = request("POST", spec["main_port"], "/v1/chat/completions",
                               {"model": "qwen", "stream": True, "messages": [{"role": "user", "content": "你好"}]})
        emit_ok(f"{name}: a streamed answer arrives, ending in [DONE]", status == 200 and "data: [DONE]" in body, body[-300:])

        # Admin: the token is enforced when there is one; /metrics carries what the alerts use.
        # Without a token, a state-changing call names its intent (docs/security.md, rule 8).
        auth = {"authorization": f"Bearer {spec['admin_token']}"} if spec["admin_token"] else {"x-menshen-admin": "1"}
        if spec["admin_token"]:
            status, _, _ = request("GET", spec["admin_port"], "/metrics")
            emit_ok(f"{name}: admin /metrics without the token → 401", status == 401, str(status))
        status, _, body = request("POST", spec["admin_port"], "/admin/reload", b"", auth)
        emit_ok(f"{name}: POST /admin/reload → unchanged", status == 200 and '"unchanged"' in body, f"{status} {body[:300]}")

        if spec.get("reload_dir"):
            ok, detail = configmap_update(spec, auth)
            emit_ok(f"{name}: a lexicon ConfigMap update (kubelet's ..data swap) is served without restart", ok, detail + tail()[-800:])

        if spec.get("audit_dir"):
            # audit/labels (issue 4): the blocked answer above is on the volume, its hash chain
            # verifies, and (audit.stdout) the same record went to stdout for the log collector.
            files = sorted((root / spec["audit_dir"].lstrip("/")).glob("audit-*.jsonl"))
            r = contained([spec["argv"][0], "audit", "verify", spec["audit_dir"]], env)
            emit_ok(f"{name}: audit records on the volume {spec['audit_dir']}; `menshen audit verify` passes",
                    bool(files) and r.returncode == 0, f"files {[f.name for f in files]}; {r.stdout}{r.stderr}")
            if spec.get("audit_stdout"):
                emit_ok(f"{name}: audit records on stdout too (audit.stdout)", '"kind":"screening"' in tail() or
                        '"kind":"screening"' in log_path.read_text(errors="replace"), tail()[-500:])

        status, headers, body = request("GET", spec["admin_port"], "/metrics", headers=auth)
        names = set(re.findall(r"^(menshen_[a-z0-9_]+?)(?:_bucket|_sum|_count)?[{ ]", body, re.M))
        missing = [m for m in spec["expect_metrics"] if m not in names]
        emit_ok(f"{name}: /metrics (with token) has every metric the alert rules use", status == 200 and not missing,
                f"{status}; missing {missing}; exported {sorted(names)}")
        for m in spec.get("optional_metrics", []):
            if m not in names and m not in spec["expect_metrics"]:
                why = "appears with the first error" if m in FIRST_ERROR_METRICS else "not exported yet (audit/labels, issue 4)"
                emit(note=f"{name}: {m} absent: {why}")

        if spec["healthcheck"]:
            r = contained(spec["healthcheck"], env, timeout=10)
            emit_ok(f"{name}: the image's HEALTHCHECK passes", r.returncode == 0, r.stdout + r.stderr)
        for cmd in spec["prestop"]:
            r = contained(["/bin/sh", "-c", f"command -v {shlex.quote(cmd[0])}"], env)
            emit_ok(f"{name}: preStop command `{' '.join(cmd)}` exists in the image", r.returncode == 0, r.stderr)

        # SIGTERM with a stream in flight: not ready at once, the stream completes, exit 0.
        result = {}

        def slow_stream():
            try:
                result["r"] = request("POST", spec["main_port"], "/v1/chat/completions",
                                   {"model": "qwen", "stream": True, "messages": [{"role": "user", "content": "slow 你好"}]}, timeout=30)
            except Exception as e:  # noqa: BLE001
                result["r"] = (0, {}, repr(e))
        t = threading.Thread(target=slow_stream)
        t.start()
        time.sleep(0.8)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        p = spec["probes"]["readinessProbe"]
        try:
            status = request("GET", p["port"], p["path"], timeout=2)[0]
        except OSError:
            status = "refused"
        emit_ok(f"{name}: after SIGTERM the readiness probe fails (503 or refused: {status})", status != 200, str(status))
        t.join(timeout=spec["drain"] + 10)
        status, _, body = result.get("r", (0, {}, "no answer"))
        emit_ok(f"{name}: the stream in flight at SIGTERM completes", status == 200 and "data: [DONE]" in body, body[-300:])
        try:
            rc = proc.wait(timeout=spec["drain"] + 10)
        except subprocess.TimeoutExpired:
            rc = "still running"
        emit_ok(f"{name}: exits 0 within the drain timeout ({spec['drain']:g}s)", rc == 0, f"exit {rc}\n{tail()}")
        if spec["healthcheck"]:
            r = contained(spec["healthcheck"], env, timeout=10)
            emit_ok(f"{name}: the HEALTHCHECK fails once menshen is gone", r.returncode != 0, r.stdout + r.stderr)
        if spec.get("connect_only_probe"):
            connect_only_probe(spec, prefix, env, work)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for s in servers:
            s.shutdown()
            s.server_close()
        log.close()
        subprocess.run(["umount", "-R", str(root)], capture_output=True)


def connect_only_probe(spec: dict, prefix: list[str], env: dict, work: Path):
    """Load balancers, kubelet tcpSocket probes and port scanners connect and close without
    sending a byte. Such a connection must not hold up shutdown (short drain on purpose)."""
    env = dict(env, MENSHEN_DRAIN_TIMEOUT="2s")
    proc = subprocess.Popen(prefix + spec["argv"], env=env, stdout=open(work / "probe.log", "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not answers_http(spec["main_port"]):
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", spec["main_port"]), timeout=2):
            pass
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        if rc == 0:
            emit_ok(f"{spec['name']}: a connect-only TCP client does not hold up shutdown", True)
        else:
            emit(note=f"KNOWN BUG (binary, not deploy/): after a TCP connection to the model port that closes without "
                      f"sending a byte, SIGTERM does not end menshen (still running 10 s after SIGTERM with a 2 s drain; "
                      f"exit {rc}). Kubernetes then SIGKILLs it at terminationGracePeriodSeconds, cutting streams.")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def configmap_update(spec: dict, auth: dict) -> tuple[bool, str]:
    """Adds a lexicon file to the mounted ConfigMap as kubelet does; waits for a new version."""
    status, _, body = request("GET", spec["admin_port"], "/admin/lexicons", headers=auth)
    before = json.loads(body).get("version")
    directory = Path(spec["reload_dir"])
    current = directory / os.readlink(directory / "..data")
    files = {p.name: p.read_bytes() for p in current.iterdir()}
    files["check-deploy.txt"] = ("@id: check-deploy.canary\n@category: check-deploy\n@action: block\n"
                                 "@direction: both\n门神部署检查金丝雀\n").encode()
    old = current.name
    kubelet_layout(directory, files, 0o644)
    shutil.rmtree(directory / old)
    deadline = time.monotonic() + 25
    after = before
    while time.monotonic() < deadline and after == before:
        time.sleep(0.3)
        after = json.loads(request("GET", spec["admin_port"], "/admin/lexicons", headers=auth)[2]).get("version")
    status, _, body = request("POST", spec["main_port"], "/v1/screen", {"text": "门神部署检查金丝雀", "direction": "input"})
    return after != before and '"block"' in body, f"version {before} → {after}; /v1/screen: {body[:300]}\n"


def emit_ok(name: str, ok: bool, detail: str = "") -> bool:
    emit(name=name, ok=bool(ok), detail="" if ok else detail)
    return bool(ok)


def sandbox(plan_path: str, work: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    work_dir = Path(work)
    work_dir.mkdir(parents=True, exist_ok=True)
    sh(["mount", "--make-rprivate", "/"])
    sh(["ip", "link", "set", "lo", "up"])
    # Layers live on a tmpfs: overlayfs refuses upper layers inside its lower layer (/).
    sh(["mount", "-t", "tmpfs", "-o", "size=2g", "tmpfs", str(work_dir)])
    try:
        emit(section="image (Dockerfile replayed on this Debian 12 root)")
        image_layer, runtime_root = build_image(plan, work_dir / "build")
        subprocess.run(["umount", "-R", str(runtime_root)], capture_output=True)
        for i, spec in enumerate(plan["runs"]):
            try:
                run_spec(spec, image_layer, work_dir / f"run{i}")
            except Exception as e:  # noqa: BLE001 — report and go on with the next run
                emit(name=f"{spec['name']}: sandbox run", ok=False, detail=repr(e))
    except Exception as e:  # noqa: BLE001
        emit(name="sandbox", ok=False, detail=repr(e))
    emit(end=True)
    return 0


# ============================================================================================

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="run every deployment check (scripts/check-deploy.sh)")
    r = sub.add_parser("render", help="render a kustomization with deploytool's kustomize subset")
    r.add_argument("directory")
    lc = sub.add_parser("lexicons-configmap", help="print the lexicon ConfigMap generated from a lexicon directory")
    lc.add_argument("directory", nargs="?", default=str(REPO / "Lexicons"))
    sb = sub.add_parser("sandbox", help=argparse.SUPPRESS)
    sb.add_argument("plan")
    sb.add_argument("work")
    a = ap.parse_args()
    if a.command == "check":
        return check(a)
    if a.command == "render":
        import yaml
        sys.stdout.write(yaml.safe_dump_all(render(Path(a.directory)), allow_unicode=True, sort_keys=False))
        return 0
    if a.command == "lexicons-configmap":
        sys.stdout.write(lexicons_configmap_text(Path(a.directory)))
        return 0
    if a.command == "sandbox":
        return sandbox(a.plan, a.work)
    return 2


if __name__ == "__main__":
    sys.exit(main())
