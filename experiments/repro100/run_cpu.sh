#!/usr/bin/env bash
# The repro100 grid (issue 18: 100 fine-tuning epochs, 5 seeds) on a 2-core CPU, one or two tables at a time so that each finishes (and can
# be reported) as early as possible: thesis 5.1, Zhan and Yang first, then the rest, pairs of small tables sharing the two cores.
# Its output folder is committed (checkpoints are not: *.pt is ignored), so finished runs survive a lost machine; a stage whose
# checkpoint is gone is not done (01_plan) and runs again before the runs that need it. Resumable: run it again after a kill.
# Usage: nohup bash experiments/repro100/run_cpu.sh CAMVID_ROOT [OUT] >> runs/repro100.log 2>&1 &
# Tables: SPECS=experiments/repro100/specs REPORT_ONLY=1 ONLY="thesis_5_1" bash experiments/repro/run.sh CAMVID_ROOT OUT
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${1:?CamVid root}; OUT=${2:-$HERE/cpu}
export OMP_NUM_THREADS=1       # two jobs at once, one core each
command -v sslseg > /dev/null || { echo "sslseg is not on PATH -- fix: activate the venv the package is installed in (. .venv/bin/activate)" >&2; exit 2; }
for names in thesis_5_1 zhan yang "thesis_5_2 thesis_5_4" "thesis_5_6 larsson" noroozi thesis_5_7; do
  specs=$(for n in $names; do echo "$HERE/specs/$n.yaml"; done)
  echo "== $(date -u +%FT%TZ) $names"
  sslseg experiment $specs --out "$OUT" --root "$ROOT" --jobs 2 || echo "== $names failed (rc $?); going on"
done
