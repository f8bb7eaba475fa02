#!/usr/bin/env bash
# The project's test command: every notebook under nbdev_test (cells flagged `#| slow` skipped),
# then pytest on tests/ (tests marked slow skipped; add --runslow to run them).
# Set SSLSEG_CAMVID=/path/to/camvid to include the CamVid tests and notebook cells.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== nbdev_test (notebooks, 2 at a time, one torch thread each)"
OMP_NUM_THREADS=1 nbdev_test --n_workers 2 --timing
echo "== pytest (tests/)"
python -m pytest -q -p no:cacheprovider -W "ignore::DeprecationWarning" tests "$@"
