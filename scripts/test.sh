#!/usr/bin/env bash
# Install what the tests need and run them: Debian's Chromium (browser tests; needs root), the CPU build of
# torch 2.13.0 (parity tests), the [test] extra, then pytest -- and the numerical tests under two other CPUs' kernels.
# Safe to run again: installed things are skipped.
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
# The numerical tests again as two other CPUs compute them: OpenBLAS and ATen pick their kernels by the processor,
# and kernels for other instruction sets sum in other orders (tests/numerics.txt names the files). Skipped when
# pytest was given arguments (a selection) or on a processor other than x86-64, whose families these are not.
if [ $# -eq 0 ] && [ "$(uname -m)" = "x86_64" ]; then
  files=$(grep -v '^#' tests/numerics.txt)
  for family in "Prescott default" "Sandybridge default"; do
    set -- $family
    echo "== the numerical tests under OpenBLAS $1 / ATen $2 kernels"
    OPENBLAS_CORETYPE=$1 ATEN_CPU_CAPABILITY=$2 python -m pytest -q -p no:cacheprovider $files
  done
fi
