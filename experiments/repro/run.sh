#!/usr/bin/env bash
# The CamVid miniature tables (issue 11): every spec in specs/ (but base.yaml) in one experiment folder, so that the tables share
# their jobs, then the tables, claims and charts copied to results/ for the notebooks in nbs/repro/ and the README.
# Resumable: run it again after a kill and only unfinished jobs run. About 2 h on a 2-core CPU (2 jobs at once).
# Usage: bash experiments/repro/run.sh CAMVID_ROOT [OUT_DIR]   (extra: SET="--set seeds=[0]" for a quick look;
#        SPECS=experiments/repro100/specs for the tables at the 100-epoch budget with 5 seeds, issue 18: their claims replace the
#        committed ones, which become claims_previous.csv, so the notebooks mark every verdict the budget changed;
#        ONLY="thesis_5_1 yang zhan" for some tables; REPORT_ONLY=1 to copy the tables of what has finished, running nothing)
# Each results/NAME/source.txt names the spec folder its results come from. claims_previous.csv is replaced only when the new results
# come from another spec folder (another budget): re-running the same specs with more seeds done keeps the other budget's verdicts
# as the ones the notebooks compare with.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${1:?CamVid root}; OUT=${2:-runs/repro}
SPEC_DIR=$(cd "${SPECS:-$HERE/specs}" && pwd); SOURCE=$(realpath --relative-to="$HERE/../.." "$SPEC_DIR")
if [ -n "${ONLY:-}" ]; then SPECS=$(for n in $ONLY; do echo "$SPEC_DIR/$n.yaml"; done)
else SPECS=$(ls "$SPEC_DIR"/*.yaml | grep -v '/base.yaml$'); fi
for s in $SPECS; do [ -f "$s" ] || { echo "no spec $s -- fix: ONLY takes names of the specs in $SPEC_DIR" >&2; exit 2; }; done
sslseg experiment $SPECS --out "$OUT" --root "$ROOT" ${SET:-} ${REPORT_ONLY:+--report-only}
for s in $SPECS; do
  name=$(basename "$s" .yaml); res="$HERE/results/$name"; mkdir -p "$res"
  old_source=$(cat "$res/source.txt" 2>/dev/null || echo experiments/repro/specs)
  cp "$OUT/$name"/{results.csv,table.csv,table.md,chart.png,spec.json} "$res/"   # spec.json: the spec that ran them (read_spec)
  if [ -f "$OUT/$name/claims.csv" ]; then      # the other budget's claims become claims_previous.csv: the notebooks mark changed verdicts
    if [ -f "$res/claims.csv" ] && [ "$old_source" != "$SOURCE" ] && ! cmp -s "$OUT/$name/claims.csv" "$res/claims.csv"; then
      cp "$res/claims.csv" "$res/claims_previous.csv"
    fi
    cp "$OUT/$name/claims.csv" "$res/"
  fi
  echo "$SOURCE" > "$res/source.txt"
done
echo "results in $HERE/results/"
