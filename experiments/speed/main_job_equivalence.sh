#!/usr/bin/env bash
# The main job (sslseg train on SyntheticScenes, 15 epochs) on the fast path (the defaults) and on the plain eager path
# (float32, NCHW, BN unfolded), seeds 0-2, one run at a time; a finished run is skipped. Results: experiments/speed/main_job.csv
set -euo pipefail
out=${1:-runs/speed}
mkdir -p "$out"
for seed in 0 1 2; do
  for path in fast eager; do
    d="$out/$path-seed$seed"
    [ -f "$d/metrics.json" ] && continue
    rm -rf "$d"
    extra=()
    [ "$path" = eager ] && extra=(--set run.amp=false --set run.channels_last=false --set run.fold_bn=false)
    sslseg train --out "$d" --seed "$seed" --quiet "${extra[@]}" > "$out/$path-seed$seed.log" 2>&1
  done
done
python - "$out" <<'PY'
import json, sys, csv
from pathlib import Path
out = Path(sys.argv[1]); rows = []
for seed in (0, 1, 2):
    for path in ('fast', 'eager'):
        m = json.loads((out / f'{path}-seed{seed}' / 'metrics.json').read_text())
        rows.append(dict(path=path, seed=seed, miou=round(100 * m['miou'], 2), train_s=m['train_seconds'], total_s=m['total_seconds']))
with open('experiments/speed/main_job.csv', 'w', newline='') as f:
    w = csv.DictWriter(f, list(rows[0])); w.writeheader(); w.writerows(rows)
for r in rows: print(r)
PY
