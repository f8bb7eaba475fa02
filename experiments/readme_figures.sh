#!/usr/bin/env bash
# The README's analysis pictures: a tiny rotation pretext run and a short segmentation run on SyntheticScenes, then one
# picture of each `sslseg analyze` kind. Usage: bash experiments/readme_figures.sh [WORK_DIR]   (writes docs/figures/*.png)
set -euo pipefail
W=${1:-runs/readme}; F=docs/figures; mkdir -p "$F"
[ -f "$W/rot/last.pt" ] || sslseg pretrain --task rotation --steps 30 --batch-size 8 --size 32 48 --n 64 --out "$W/rot" --quiet
[ -f "$W/seg/metrics.json" ] || sslseg train --epochs 6 --size 32 48 --n-train 96 --n-val 16 --batch-size 8 --workers 0 --out "$W/seg" --quiet
M=(--size 64 96 --n 24)
sslseg analyze tsne --model random --model rotation="$W/rot/last.pt" --model segmentation="$W/seg/best.pt" "${M[@]}" --per-class 60 --out "$W/tsne"
sslseg analyze topact --model random --model segmentation="$W/seg/best.pt" "${M[@]}" --layer layer4 --units 0 1 2 3 4 5 --k 6 --distinct-images --out "$W/topact"
sslseg analyze shift --model random --model fine-tuned="$W/seg/best.pt" "${M[@]}" --out "$W/shift"
sslseg analyze filters --model random --model rotation="$W/rot/last.pt" --model segmentation="$W/seg/best.pt" --out "$W/filters"
sslseg analyze clusters --model segmentation="$W/seg/best.pt" "${M[@]}" --k 5 --show 4 --per 6 --out "$W/clusters"
for k in tsne topact shift filters clusters; do cp "$W/$k.png" "$F/$k.png"; done
