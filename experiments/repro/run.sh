#!/usr/bin/env bash
# The CamVid miniature tables (issue 11): every spec in specs/ (but base.yaml) in one experiment folder, so that the tables share
# their jobs, then the tables, claims and charts copied to results/ for the notebooks in nbs/repro/ and the README.
# Resumable: run it again after a kill and only unfinished jobs run. About 2 h on a 2-core CPU (2 jobs at once).
# Usage: bash experiments/repro/run.sh CAMVID_ROOT [OUT_DIR]   (extra: SET="--set seeds=[0]" for a quick look;
#        SPECS=experiments/repro100/specs for the tables at the 100-epoch budget with 5 seeds, issue 18: their claims replace the
#        committed ones, which become claims_previous.csv, so the notebooks mark every verdict the budget changed)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${1:?CamVid root}; OUT=${2:-runs/repro}
SPECS=$(ls "${SPECS:-$HERE/specs}"/*.yaml | grep -v '/base.yaml$')
sslseg experiment $SPECS --out "$OUT" --root "$ROOT" ${SET:-}
for s in $SPECS; do
  name=$(basename "$s" .yaml); mkdir -p "$HERE/results/$name"
  cp "$OUT/$name"/{results.csv,table.csv,table.md,chart.png} "$HERE/results/$name/"
  if [ -f "$OUT/$name/claims.csv" ]; then      # the committed claims become claims_previous.csv when they change: the notebooks mark changed verdicts
    if [ -f "$HERE/results/$name/claims.csv" ] && ! cmp -s "$OUT/$name/claims.csv" "$HERE/results/$name/claims.csv"; then
      cp "$HERE/results/$name/claims.csv" "$HERE/results/$name/claims_previous.csv"
    fi
    cp "$OUT/$name/claims.csv" "$HERE/results/$name/"
  fi
done
echo "results in $HERE/results/"
