#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the whole suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e '.[all]'
# System parts used for real by the tests: Chromium (reports are opened in a headless browser) and Java (Spark).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Spark 4 needs Java 17+: an older java on PATH counts as missing (experiments/data/engines.py says the same)
java_major=$( (java -version 2>&1 || true) | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -1 \
  | awk '{print ($1 == 1) ? $2 : $1}')
[ "${java_major:-0}" -ge 17 ] 2>/dev/null || need+=(default-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: missing ${need[*]}; install them (apt-get install ${need[*]}) or those tests fail" >&2
  fi
fi
exec .venv/bin/python -m pytest -n 2 "$@"
