#!/usr/bin/env bash
# Wall time of the `camvid-quarter` preset (experiments/speed/preset.yaml: 1 colorization stage of 1000 steps + 10 fine-tuning
# runs of 100 epochs, --jobs 2) with the code from before issue 20 (commit d7d677d: levers chosen by the CPU's bf16 flag, pretext
# runs decoding every image at every step) and with this checkout, one after the other, each into a fresh folder.
# usage: bash experiments/speed/preset_time.sh CAMVID_ROOT OUT [BEFORE_COMMIT]   -> OUT/times.csv, OUT/{before,after}/ (logs, results)
# A variant already in OUT/times.csv is skipped; AFTER_NAME=NAME times this checkout's HEAD again under another name (e.g. after a fix).
set -euo pipefail
ROOT=$(realpath "$1"); OUT=$(realpath -m "$2"); BEFORE=${3:-d7d677d}
REPO=$(cd "$(dirname "$0")/../.." && pwd); SPEC=$REPO/experiments/speed/preset.yaml
mkdir -p "$OUT"; [ -f "$OUT/times.csv" ] || echo "variant,commit,wall_s,started" > "$OUT/times.csv"
run() {  # variant, code dir (its sslseg/ is imported), commit
  local v=$1 code=$2 c=$3
  if grep -q "^$v," "$OUT/times.csv"; then echo "$v: already timed"; return; fi
  rm -rf "$OUT/$v"; local t0; t0=$(date +%s.%N)
  (cd "$code" && PYTHONPATH="$code" python -c "import sys; from sslseg.run.cli import main; sys.exit(main())" \
      experiment "$SPEC" --out "$OUT/$v" --root "$ROOT" --jobs 2) > "$OUT/$v.log" 2>&1
  local t1; t1=$(date +%s.%N)
  echo "$v,$c,$(python -c "print(round($t1-$t0,1))"),$(date -d @${t0%.*} -Iseconds)" >> "$OUT/times.csv"; tail -1 "$OUT/times.csv"
}
unpack() {  # commit -> OUT/code_COMMIT/sslseg; its sitecustomize drops the editable-install finder so that it and its job processes import it
  local c; c=$(git -C "$REPO" rev-parse --short "$1"); local d=$OUT/code_$c
  if [ ! -d "$d/sslseg" ]; then mkdir -p "$d"; git -C "$REPO" archive "$c" sslseg | tar -x -C "$d"
    printf "import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n" > "$d/sitecustomize.py"; fi
  echo "$d"; }
AFTER=$(git -C "$REPO" rev-parse --short HEAD)   # the committed code (not the work tree), unpacked now so that later edits do not leak in
B=$(unpack "$BEFORE"); A=$(unpack "$AFTER")
run before "$B" "$BEFORE"
run "${AFTER_NAME:-after}" "$A" "$AFTER"
cat "$OUT/times.csv"
