"""`python tools/gpu_grid/pack_camvid.py CAMVID_ROOT`: CamVid split into .gpu/a and .gpu/b (each under the device tool's 64 MiB with the
repository and the wheels), images as lossless WebP under their .png names (checked pixel for pixel), annotations and lists as they are.
Why: the device machine gets the repository and carried folders only; CamVid's 122 MB of PNG does not fit one call."""
import io, shutil, sys
from pathlib import Path
from multiprocessing import Pool
from PIL import Image
import numpy as np
src = Path(sys.argv[1]); dst = Path(__file__).resolve().parents[2] / '.gpu'
def enc(f):
    b = io.BytesIO(); im = Image.open(f).convert('RGB'); im.save(b, 'WEBP', lossless=True, quality=100, method=6)
    assert (np.asarray(Image.open(io.BytesIO(b.getvalue())).convert('RGB')) == np.asarray(im)).all()
    return f, b.getvalue()
if __name__ == '__main__':
    files = sorted((src / 'train').glob('*.png')) + sorted((src / 'val').glob('*.png'))
    with Pool(2) as p: out = p.map(enc, files, chunksize=8)
    shutil.rmtree(dst, ignore_errors=True)
    sizes = {'a': 7.4e6, 'b': 0}
    # small files first into a (lists, annotations)
    for f in list(src.glob('*.txt')) + [src / 'README.md']: (dst / 'a').mkdir(parents=True, exist_ok=True); shutil.copy(f, dst / 'a' / f.name)
    for d in ('trainannot', 'valannot'):
        (dst / 'b' / d).mkdir(parents=True, exist_ok=True)
        for f in (src / d).glob('*.png'): shutil.copy(f, dst / 'b' / d / f.name); sizes['b'] += f.stat().st_size
    for f, data in sorted(out, key=lambda x: -len(x[1])):
        k = min(sizes, key=sizes.get); sizes[k] += len(data)
        (dst / k / f.parent.name).mkdir(parents=True, exist_ok=True); (dst / k / f.parent.name / f.name).write_bytes(data)
    print({k: round(v / 1e6, 1) for k, v in sizes.items()}, len(out))
