#!/usr/bin/env bash
# The repro100 grid (issue 18: 100 fine-tuning epochs, 5 seeds) on a 2-core CPU, the thesis 5.1, Zhan and Yang tables first, then the rest.
# Its output folder is committed (checkpoints are not: *.pt is ignored), so finished runs survive a lost machine; a stage whose
# checkpoint is gone is not done (01_plan) and runs again before the runs that need it. Resumable: run it again after a kill.
# Usage: nohup bash experiments/repro100/run_cpu.sh CAMVID_ROOT [OUT] >> runs/repro100.log 2>&1 &
# Tables: SPECS=experiments/repro100/specs REPORT_ONLY=1 ONLY="thesis_5_1" bash experiments/repro/run.sh CAMVID_ROOT OUT
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${1:?CamVid root}; OUT=${2:-$HERE/cpu}
export OMP_NUM_THREADS=1       # two jobs at once, one core each
for names in thesis_5_1 zhan yang ALL; do
  if [ "$names" = ALL ]; then specs=$(ls "$HERE"/specs/*.yaml | grep -v '/base.yaml$'); else specs="$HERE/specs/$names.yaml"; fi
  echo "== $(date -u +%FT%TZ) $names"
  sslseg experiment $specs --out "$OUT" --root "$ROOT" --jobs 2 || echo "== $names failed (rc $?); going on"
done
