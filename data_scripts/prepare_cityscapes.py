#!/usr/bin/env python
"""Arrange Cityscapes from the two zips you downloaded (the site needs a login, so this script does not download).

1. Log in at https://www.cityscapes-dataset.com/downloads/ and download
   leftImg8bit_trainvaltest.zip (11 GB) and gtFine_trainvaltest.zip (241 MB).
2. python data_scripts/prepare_cityscapes.py --dest data/cityscapes \\
       --left leftImg8bit_trainvaltest.zip --gt gtFine_trainvaltest.zip [--md5-left MD5 --md5-gt MD5]

Result: dest/leftImg8bit/{train,val,test}/<city>/*_leftImg8bit.png and dest/gtFine/<split>/<city>/*_gtFine_labelIds.png
(2975 / 500 / 1525 images), the layout `sslseg.data.Cityscapes` reads; labelIds are mapped to the 19 train ids when
loading. Only the labelIds masks are extracted from gtFine (pass --all-gt for colour/instance/polygon files too).
If you have the checksums shown on the download page, pass them with --md5-left/--md5-gt."""
from __future__ import annotations
import argparse, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PrepareError, check_hash, extract, report, run

EXPECTED = {'train': 2975, 'val': 500, 'test': 1525}


def _select(top: str, suffix: str):
    def select(name):
        parts = name.replace('\\', '/').split('/')
        return '/'.join(parts[parts.index(top):]) if top in parts and name.endswith(suffix) else None
    return select


def count_pairs(dest) -> dict:
    "Images per split, checking that every image has its labelIds mask and every mask its image."
    dest, out = Path(dest), {}
    for split_dir in sorted((dest / 'leftImg8bit').glob('*')):
        if not split_dir.is_dir(): continue
        s = split_dir.name
        imgs = {p.relative_to(split_dir).as_posix().replace('_leftImg8bit.png', '') for p in split_dir.glob('*/*_leftImg8bit.png')}
        gts = {p.relative_to(dest / 'gtFine' / s).as_posix().replace('_gtFine_labelIds.png', '')
               for p in (dest / 'gtFine' / s).glob('*/*_gtFine_labelIds.png')}
        if imgs != gts:
            odd = sorted(imgs ^ gts)[0]
            raise PrepareError(f"split {s}: {odd} has an image but no labelIds mask or the reverse; are both zips complete?")
        out[s] = len(imgs)
    if not out: raise PrepareError(f"no leftImg8bit/<split> folders under {dest}: pass leftImg8bit_trainvaltest.zip with --left")
    return out


def prepare_cityscapes(dest, left_zip, gt_zip, md5_left=None, md5_gt=None, all_gt: bool = False, quiet: bool = False) -> dict:
    "Extract the images and fine labels into `dest`; returns the image count per split."
    dest = Path(dest)
    for z, md5, what in ((left_zip, md5_left, 'leftImg8bit_trainvaltest.zip'), (gt_zip, md5_gt, 'gtFine_trainvaltest.zip')):
        if z is None or not Path(z).is_file(): raise PrepareError(f"{what} not found at {z}: download it (after logging in) from https://www.cityscapes-dataset.com/downloads/")
        check_hash(z, md5)
    if extract(left_zip, dest, _select('leftImg8bit', '_leftImg8bit.png'), quiet=quiet) == 0:
        raise PrepareError(f"{left_zip} holds no leftImg8bit/*_leftImg8bit.png files: is it leftImg8bit_trainvaltest.zip?")
    if extract(gt_zip, dest, _select('gtFine', '' if all_gt else '_gtFine_labelIds.png'), quiet=quiet) == 0:
        raise PrepareError(f"{gt_zip} holds no gtFine/*_gtFine_labelIds.png files: is it gtFine_trainvaltest.zip?")
    counts = count_pairs(dest)
    if not quiet: report(counts, EXPECTED)
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dest', required=True); p.add_argument('--left', required=True); p.add_argument('--gt', required=True)
    p.add_argument('--md5-left'); p.add_argument('--md5-gt'); p.add_argument('--all-gt', action='store_true')
    a = p.parse_args(argv)
    prepare_cityscapes(a.dest, a.left, a.gt, a.md5_left, a.md5_gt, a.all_gt)
    print(f"done: train with  sslseg train --data cityscapes --root {a.dest}")


if __name__ == '__main__': run(main)
