"On the device: decode .gpu/<part>/ (lossless WebP under .png names) into /tmp/camvid as PNG; print the counts."
import os, shutil, sys
from pathlib import Path
from multiprocessing import Pool
from PIL import Image
dst = Path('/tmp/camvid')
def dec(f):
    out = dst / f.parent.name / f.name; out.parent.mkdir(parents=True, exist_ok=True)
    if f.parent.name.endswith('annot'): shutil.copy(f, out)
    else: Image.open(f).convert('RGB').save(out, compress_level=1)
if __name__ == '__main__':
    part = Path(sys.argv[1])
    for f in part.glob('*.*'): dst.mkdir(exist_ok=True); shutil.copy(f, dst / f.name)
    with Pool(os.cpu_count()) as p: p.map(dec, sorted(part.glob('*/*.png')), chunksize=4)
    print({d: len(list((dst / d).glob('*.png'))) for d in ('train', 'val', 'trainannot', 'valannot')})
