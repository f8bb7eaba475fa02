"""Collect the preset timing of preset_time.sh: the wall time of each variant (OUT/times.csv) and every job's time and val mIoU
(the runner's `[k/n] kind name  val mIoU x  time` lines of OUT/VARIANT.log) into experiments/speed/preset_time.csv.
usage: python experiments/speed/preset_summary.py OUT"""
import csv, re, sys
from pathlib import Path

def seconds(s: str) -> float:
    "'1h2m3s', '11m30s' or '42s' in seconds."
    return sum(float(n) * {'h': 3600, 'm': 60, 's': 1}[u] for n, u in re.findall(r'([\d.]+)([hms])', s))

LINE = re.compile(r'^\[(\d+)/(\d+)\] (\w+)\s+(.+?)(?:\s+val mIoU ([\d.]+))?\s+((?:\d+h)?(?:\d+m)?[\d.]+s)\s+\|')

def main(out):
    out = Path(out); rows = []
    for t in csv.DictReader(open(out / 'times.csv')):
        rows.append(dict(variant=t['variant'], commit=t['commit'], kind='preset', job='wall time', seconds=t['wall_s'], val_miou=''))
        for line in open(out / f"{t['variant']}.log"):
            if m := LINE.match(line.strip()):
                rows.append(dict(variant=t['variant'], commit=t['commit'], kind=m[3], job=m[4].strip(), seconds=round(seconds(m[6]), 1),
                                 val_miou=m[5] or ''))
    dest = Path(__file__).parent / 'preset_time.csv'
    with open(dest, 'w', newline='') as f:
        w = csv.DictWriter(f, list(rows[0])); w.writeheader(); w.writerows(rows)
    print(f"{len(rows)} rows -> {dest}")

if __name__ == '__main__': main(sys.argv[1])
