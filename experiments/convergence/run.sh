#!/usr/bin/env bash
# Convergence protocol (issue 18): the fine-tuning learning curves (spec.yaml) and the pretext-length curve (pretext_length.yaml) in one
# experiment folder, with the 200-epoch budget check (budget.yaml) and the shipped recipe (recipe.yaml, and at 200 epochs recipe_200.yaml), then their tables and each run's per-epoch log copied to results/ for
# nbs/repro/10_convergence.ipynb.
# Resumable: run it again after a kill and only unfinished jobs run. About 7 h on a 2-core CPU (2 jobs at once).
# Usage: bash experiments/convergence/run.sh CAMVID_ROOT [OUT_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${1:?CamVid root}; OUT=${2:-runs/repro}
sslseg experiment "$HERE/spec.yaml" "$HERE/pretext_length.yaml" "$HERE/budget.yaml" "$HERE/recipe.yaml" "$HERE/recipe_200.yaml" --out "$OUT" --root "$ROOT"
python -m sslseg.experiment.curves "$HERE/spec.yaml" "$HERE/pretext_length.yaml" "$HERE/budget.yaml" "$HERE/recipe.yaml" "$HERE/recipe_200.yaml" --out "$OUT" --to "$HERE/results" --root "$ROOT"
