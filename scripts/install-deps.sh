#!/usr/bin/env bash
# Installs what building and testing Menshen needs on Debian, only when it is missing.
# Usage: scripts/install-deps.sh [build|test]
set -euo pipefail
want=${1:-build}

need_apt=()
pkg-config --exists libpcre2-8 2>/dev/null || need_apt+=(libpcre2-dev pkg-config)
if [ "$want" = test ]; then
  command -v curl >/dev/null || need_apt+=(curl)
  command -v h2load >/dev/null || need_apt+=(nghttp2-client)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ "$want" = test ]; then
  # Real clients for the end-to-end checks (the OpenAI Python SDK).
  python3 -c 'import openai' 2>/dev/null || python3 -m pip install -q 'openai>=1.40' >/dev/null
fi
