#!/usr/bin/env bash
# Install what the tests need and run them: Debian's Chromium (browser tests; needs root), the CPU build of
# torch 2.13.0 (parity tests), the [test] extra, then pytest. Safe to run again: installed things are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Chromium (Debian package) for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "== installing torch (CPU build, pinned) and the test extra"
pip install -q torch==2.13.0
pip install -q -c constraints.txt -e ".[test]"
echo "== running the tests"
python -m pytest -q "$@"
