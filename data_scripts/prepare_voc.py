#!/usr/bin/env python
"""Download Pascal VOC 2012 and SBD, and build the 10,582-image `train_aug` split.

    python data_scripts/prepare_voc.py --dest data/voc                      # download (2 GB + 1.4 GB)
    python data_scripts/prepare_voc.py --dest data/voc --voc-tar VOCtrainval_11-May-2012.tar --sbd-tgz benchmark.tgz

Result: dest/VOCdevkit/VOC2012/{JPEGImages, SegmentationClass, SegmentationClassAug, ImageSets/Segmentation/
{train,val,trainval,train_aug}.txt}, the layout `sslseg.data.VOC` reads. Both archives are checked against their
published md5 (the ones torchvision uses). SegmentationClassAug holds single-channel index PNGs: VOC's own
annotation where it exists (finer, with the 255 border), else SBD's (from cls/*.mat). train_aug = (SBD train + SBD val
+ VOC train) - VOC val. Needs scipy (installed with scikit-image) to read SBD's .mat files."""
from __future__ import annotations
import argparse, sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PrepareError, download, extract, run, strip_to

VOC_URL = 'http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar'
VOC_MD5 = '6cd6e144f989b92b3379bac3b3de84fd'
SBD_URL = 'https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz'
SBD_MD5 = '82b4d87ceb2ed10f6038a1cba92111cb'
EXPECTED = {'train': 1464, 'val': 1449, 'train_aug': 10582}


def _voc_select(name):
    parts = name.replace('\\', '/').split('/')
    if 'VOC2012' not in parts: return None
    rel = parts[parts.index('VOC2012') + 1:]
    keep = rel[:1] in (['JPEGImages'], ['SegmentationClass']) or rel[:2] == ['ImageSets', 'Segmentation']
    return '/'.join(rel) if keep and len(rel) > 1 else None


def sbd_to_png(mat_path, png_path):
    "Write SBD's class segmentation (GTcls.Segmentation in a .mat) as a single-channel index PNG."
    from scipy.io import loadmat
    from PIL import Image
    import numpy as np
    try: seg = loadmat(mat_path, squeeze_me=True, struct_as_record=False)['GTcls'].Segmentation
    except Exception as e: raise PrepareError(f"cannot read SBD annotation {mat_path} ({e}); the SBD archive is damaged, download it again") from None
    Image.fromarray(np.asarray(seg, dtype=np.uint8)).save(png_path)


def prepare_voc(dest, voc_tar=None, sbd_tgz=None, quiet: bool = False) -> dict:
    "Download (unless given) and extract VOC2012 + SBD into `dest`, build SegmentationClassAug and train_aug.txt."
    from PIL import Image
    import numpy as np
    dest = Path(dest); voc = dest / 'VOCdevkit' / 'VOC2012'
    voc_tar = voc_tar or download(VOC_URL, dest / 'VOCtrainval_11-May-2012.tar', md5=VOC_MD5, quiet=quiet)
    sbd_tgz = sbd_tgz or download(SBD_URL, dest / 'benchmark.tgz', md5=SBD_MD5, quiet=quiet)
    if extract(voc_tar, voc, _voc_select, quiet=quiet) == 0:
        raise PrepareError(f"{voc_tar} holds no VOC2012 segmentation files: is it VOCtrainval_11-May-2012.tar?")
    sets = voc / 'ImageSets' / 'Segmentation'
    def ids(f):
        if not f.is_file(): raise PrepareError(f"{f} is missing: the archive is incomplete, download it again")
        return set(f.read_text().split())
    voc_train, voc_val = ids(sets / 'train.txt'), ids(sets / 'val.txt')
    aug = voc / 'SegmentationClassAug'; aug.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sel = strip_to('dataset')
        if extract(sbd_tgz, tmp, lambda n: (r := sel(n)) and (r.startswith('cls/') or r in ('train.txt', 'val.txt')) and r, quiet=quiet) == 0:
            raise PrepareError(f"{sbd_tgz} holds no benchmark_RELEASE/dataset/cls files: is it SBD's benchmark.tgz?")
        sbd_ids = ids(tmp / 'train.txt') | ids(tmp / 'val.txt')
        for i in sorted(sbd_ids):
            if not (tmp / 'cls' / f'{i}.mat').is_file(): raise PrepareError(f"SBD lists {i} but has no cls/{i}.mat: download benchmark.tgz again")
            sbd_to_png(tmp / 'cls' / f'{i}.mat', aug / f'{i}.png')
    for p in sorted((voc / 'SegmentationClass').glob('*.png')):            # VOC's own labels win where both exist
        with Image.open(p) as im: Image.fromarray(np.asarray(im, dtype=np.uint8)).save(aug / p.name)
    train_aug = sorted((sbd_ids | voc_train) - voc_val)
    missing = [i for i in train_aug if not (voc / 'JPEGImages' / f'{i}.jpg').is_file()]
    if missing: raise PrepareError(f"{len(missing)} train_aug images (e.g. {missing[0]}.jpg) are not in JPEGImages: is the VOC tar complete?")
    (sets / 'train_aug.txt').write_text('\n'.join(train_aug) + '\n')
    counts = {'train': len(voc_train), 'val': len(voc_val), 'train_aug': len(train_aug)}
    if not quiet:
        for k, n in counts.items(): print(f"{k:>10}: {n} images" + ('' if EXPECTED[k] == n else f"  (the full dataset has {EXPECTED[k]})"))
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dest', required=True); p.add_argument('--voc-tar'); p.add_argument('--sbd-tgz')
    a = p.parse_args(argv)
    prepare_voc(a.dest, a.voc_tar, a.sbd_tgz)
    print(f"done: train with  sslseg train --data voc --root {a.dest}")


if __name__ == '__main__': run(main)
