#!/usr/bin/env bash
# Headline search (issue 11, item 4): ERFNet on CamVid at 1/4 of the labels, random init vs a rotation-pretrained encoder,
# 3 initialisation seeds (SIZE, STEPS, EPOCHS from the environment; defaults 120x160, 600 pretext steps, 20 epochs), one fixed labeled subset (subset seed 0). Resumable: a finished run (metrics.json) is skipped.
# Usage: bash experiments/headline/run.sh CAMVID_ROOT OUT_DIR [PRETEXT_CKPT]
set -euo pipefail
ROOT=${1:?CamVid root}; OUT=${2:?output folder}; CKPT=${3:-$OUT/rot_cv/last.pt}
SIZE=${SIZE:-120 160}; STEPS=${STEPS:-600}
COMMON=(--data camvid --root "$ROOT" --size $SIZE --labeled-fraction 1/4 --subset-seed 0 --epochs ${EPOCHS:-20} --batch-size 8 --workers 1 --quiet)
if [ ! -f "$CKPT" ]; then
  sslseg pretrain --task rotation --data camvid --root "$ROOT" --size $SIZE --opt size=96 --batch-size 16 --steps $STEPS --workers 1 --out "$OUT/rot_cv" --quiet
fi
for seed in 0 1 2; do
  [ -f "$OUT/random_s$seed/metrics.json" ] || sslseg train "${COMMON[@]}" --seed $seed --out "$OUT/random_s$seed"
  [ -f "$OUT/rotation_s$seed/metrics.json" ] || sslseg train "${COMMON[@]}" --seed $seed --encoder "$CKPT" --out "$OUT/rotation_s$seed"
done
python - "$OUT" <<'PY'
import json, sys, statistics as st
from pathlib import Path
out = Path(sys.argv[1]); rows = {}
for m in sorted(out.glob('*_s*/metrics.json')):
    name = m.parent.name.rsplit('_s', 1)[0]; rows.setdefault(name, []).append(json.load(open(m))['miou'] * 100)
for k, v in rows.items(): print(f"{k:10} mIoU {st.mean(v):5.1f} ± {st.stdev(v) if len(v) > 1 else 0:.1f} (n={len(v)})  {[round(x, 1) for x in v]}")
if 'random' in rows and 'rotation' in rows and len(rows['random']) == len(rows['rotation']):
    d = [a - b for a, b in zip(rows['rotation'], rows['random'])]
    print(f"rotation - random: {st.mean(d):+.1f} ± {st.stdev(d) if len(d) > 1 else 0:.1f} mIoU (paired over seeds)")
PY
