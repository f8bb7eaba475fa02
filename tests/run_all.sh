#!/usr/bin/env bash
# The project's test command: every notebook under nbdev_test (cells flagged `#| slow` skipped),
# then pytest on tests/. Set SSLSEG_CAMVID=/path/to/camvid to include the CamVid tests.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== nbdev_test (notebooks)"
nbdev_test --n_workers 2 --timing
echo "== pytest (tests/)"
python -m pytest -q tests "$@"
