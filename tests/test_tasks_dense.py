"Targets of the dense / image-level pretext tasks are right (against scikit-image and direct references), and each task trains."
import math
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import skimage.color, skimage.data, skimage.filters
from torch.utils.data import DataLoader

from sslseg.tasks import TASKS, images_of
from sslseg.models import ERFNet
from sslseg.tasks import (rgb_to_lab, lab_to_rgb, rgb_to_hsv, hsv_to_rgb, to_gray, window_hist, hist_kl,
                          gray_levels, multiotsu_thresholds, otsu_labels, nt_xent, kmeans_labels, random_boxes,
                          crop_boxes, gaussian_blur, ColorizeTask, ColorHistTask, OtsuTask, SimCLRTask, ClusterTask,
                          SupervisedClassTask, SimCLRAugment, ClassFolder, gray_of_input, normalize)
from sslseg.data import denormalize


def scenes(n=8, size=(48, 64), seed=0):
    from sslseg.data import SyntheticScenes
    ds = SyntheticScenes(n, size=size, seed=seed)
    return torch.stack([ds[i][0] for i in range(n)])


# ---------------------------------------------------------------- colour conversion
def test_lab_matches_skimage_and_round_trips():
    torch.manual_seed(0)
    rgb = torch.rand(3, 3, 24, 24, dtype=torch.float64)
    lab = rgb_to_lab(rgb)
    ref = np.stack([skimage.color.rgb2lab(im.permute(1, 2, 0).numpy()) for im in rgb])
    np.testing.assert_allclose(lab.permute(0, 2, 3, 1).numpy(), ref, atol=1e-6)
    np.testing.assert_allclose(lab_to_rgb(lab).numpy(), rgb.numpy(), atol=1e-6)
    photo = skimage.data.coffee()[::4, ::4] / 255.
    got = rgb_to_lab(torch.from_numpy(photo).permute(2, 0, 1)[None].float())[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, skimage.color.rgb2lab(photo), atol=2e-3)          # float32 on the device
    lab_any = torch.stack([torch.rand(900) * 100, torch.rand(900) * 200 - 100, torch.rand(900) * 200 - 100]).view(1, 3, 30, 30).double()
    with pytest.warns(UserWarning): ref = skimage.color.lab2rgb(lab_any[0].permute(1, 2, 0).numpy())   # out-of-gamut: skimage clips
    np.testing.assert_allclose(lab_to_rgb(lab_any)[0].permute(1, 2, 0).numpy(), ref, atol=1e-6)


def test_hsv_gray_match_skimage():
    torch.manual_seed(1)
    rgb = torch.rand(2, 3, 10, 10, dtype=torch.float64); rgb[0, :, 0, 0] = 0.25
    np.testing.assert_allclose(rgb_to_hsv(rgb).permute(0, 2, 3, 1).numpy(),            # kornia's kernel: a 1e-8 guard in a division
                               np.stack([skimage.color.rgb2hsv(im.permute(1, 2, 0).numpy()) for im in rgb]), atol=1e-6)
    np.testing.assert_allclose(hsv_to_rgb(rgb_to_hsv(rgb)).numpy(), rgb.numpy(), atol=1e-6)
    # the one gray convention: ITU-R BT.601 luma, as PIL 'L' (which rounds to integers)
    from PIL import Image
    u8 = (rgb[0] * 255).round().byte().permute(1, 2, 0).numpy()
    pil = np.asarray(Image.fromarray(u8).convert('L'), dtype=np.float64)
    assert np.abs(to_gray(torch.from_numpy(u8).permute(2, 0, 1).double())[0].numpy() - pil).max() <= 0.5 + 1e-6


def test_colorize_targets_give_back_the_image():
    x = scenes(4)
    t = ColorizeTask(augment=False)
    xi, yi = t.make_batch(x)
    assert xi.shape == (4, 3, 48, 64) and yi.shape == (4, 2, 48, 64)
    torch.testing.assert_close(gray_of_input(xi), rgb_to_lab(x)[:, :1] / 100, atol=1e-5, rtol=0)   # L*/100, ImageNet-normalised
    assert torch.equal(ColorizeTask(augment=False, input_norm='none').make_batch(x)[0], (rgb_to_lab(x)[:, :1] / 100).expand(-1, 3, -1, -1))
    torch.testing.assert_close(t.to_rgb(xi, yi), x, atol=1e-4, rtol=0)


# ---------------------------------------------------------------- hue / chroma histograms
def _ref_hist_loss(x, logits, hb, cb, win, hue_w):
    B, _, H, W = x.shape; r = win // 2; tot = 0.; hists = torch.zeros(B, hb + cb, H, W, dtype=torch.float64)
    for b in range(B):
        hsv = skimage.color.rgb2hsv(x[b].permute(1, 2, 0).numpy()); hue, chroma = hsv[..., 0], hsv[..., 1] * hsv[..., 2]
        for i in range(H):
            for j in range(W):
                wh = hue[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1].ravel()
                wc = chroma[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1].ravel()
                ph = np.bincount(np.minimum((wh * hb).astype(int), hb - 1), minlength=hb) / len(wh)
                pc = np.bincount(np.minimum((wc * cb).astype(int), cb - 1), minlength=cb) / len(wc)
                hists[b, :, i, j] = torch.from_numpy(np.concatenate([ph, pc]))
                g = float(x[b, :, i, j].mean())
                lh = torch.log_softmax(logits[b, :hb, i, j], 0).numpy(); lc = torch.log_softmax(logits[b, hb:, i, j], 0).numpy()
                kl = lambda p, lq: sum(pi * (math.log(pi) - q) for pi, q in zip(p, lq) if pi > 0)
                tot += hue_w * chroma[i, j] * kl(ph, lh) + 3 * min(g, 1 / 3, 1 - g) * kl(pc, lc)
    return hists, tot / (B * H * W)


def test_histograms_and_kl_equal_direct_computation():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 9, 8, dtype=torch.float64); x[1, :, 3:6, 3:6] = 0.5
    logits = torch.randn(2, 6 + 5, 9, 8, dtype=torch.float64)
    t = ColorHistTask(6, 5, window=5, augment=False)
    hist, w = t.targets(x)
    ref_h, ref_loss = _ref_hist_loss(x, logits, 6, 5, 5, 5.)
    torch.testing.assert_close(hist, ref_h, atol=1e-9, rtol=0)
    assert abs(t.loss(logits, (hist, w)).item() - ref_loss) < 1e-6
    assert abs(hist_kl(torch.log(hist[:, :6].clamp_min(1e-30)), hist[:, :6]).item()) < 1e-6


def test_colorhist_batch_shapes():
    t = ColorHistTask()
    xi, (hist, w, pos) = ColorHistTask(samples=None).make_batch(scenes(2))
    assert xi.shape == (2, 3, 48, 64) and hist.shape == (2, 64, 48, 64) and w.shape == (2, 2, 48, 64)
    torch.testing.assert_close(hist[:, :32].sum(1), torch.ones(2, 48, 64))
    assert t.build_model(ERFNet())(xi).shape == (2, 64, 48, 64)
    torch.manual_seed(0); xs, (hs, ws, pos) = t.make_batch(scenes(2))              # default: 128 sampled pixels per image
    assert hs.shape == (2, 64, 128) and ws.shape == (2, 2, 128) and pos.shape == (2, 128)
    torch.manual_seed(0); xd, (hd, wd, _) = ColorHistTask(samples=None).make_batch(scenes(2))   # same augmentation draw
    torch.testing.assert_close(xs, xd)
    at = lambda t_, p_: t_.flatten(2).gather(2, p_[:, None].expand(-1, t_.shape[1], -1))
    torch.testing.assert_close(hs, at(hd, pos)); torch.testing.assert_close(ws, at(wd, pos))
    out = torch.randn(2, 64, 48, 64)
    assert abs(t.loss(out, (hs, ws, pos)).item() - t.loss(at(out, pos), (hs, ws)).item()) < 1e-6


# ---------------------------------------------------------------- Otsu
def _between_var(g, th):
    p = np.bincount(g.ravel(), minlength=256) / g.size; i = np.arange(256); e = [-1, *th, 255]
    return sum((p[m] * i[m]).sum() ** 2 / p[m].sum() for a, b in zip(e[:-1], e[1:]) if (m := (i > a) & (i <= b)).any() and p[m].sum() > 0)


@pytest.mark.parametrize('classes', [2, 3, 4])
def test_otsu_labels_equal_skimage(classes):
    imgs = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.camera()]
    x = torch.stack([torch.from_numpy(np.asarray(im[:200, :200] if im.ndim == 3 else np.stack([im[:200, :200]] * 3, -1)) / 255.).permute(2, 0, 1).float() for im in imgs])
    x = torch.cat([x, F.interpolate(scenes(8, (96, 128)), size=(200, 200))])
    lv = gray_levels(x); th = multiotsu_thresholds(lv, classes); lab = otsu_labels(lv, th)
    same = 0
    for i in range(len(x)):
        g = lv[i].numpy().astype(np.uint8)
        ref = skimage.filters.threshold_multiotsu(g, classes)
        if th[i].tolist() == ref.tolist():
            np.testing.assert_array_equal(lab[i].numpy(), np.digitize(g, ref, right=True)); same += 1
        else:   # float32 near tie in scikit-image: ours is the exact (float64) optimum
            v, vr = _between_var(g, th[i].tolist()), _between_var(g, ref.tolist())
            assert 0 < v - vr < 1e-6 * v
    assert same >= len(x) - 2
    # photographs: exact, but for at most one float32 near tie of scikit-image on the BT.601 gray images (checked above: ours is the optimum)
    assert sum(skimage.filters.threshold_multiotsu(lv[i].numpy().astype(np.uint8), classes).tolist() == th[i].tolist() for i in range(4)) >= 3


def test_otsu_task_batch():
    t = OtsuTask(3, augment=False)
    x = scenes(4)
    xi, yi = t.make_batch(x)
    assert torch.equal(xi, normalize(x)) and yi.shape == (4, 48, 64) and yi.max() == 2 and yi.min() == 0
    t2 = OtsuTask(3)
    torch.manual_seed(0); xa, ya = t2.make_batch(x)
    lv = gray_levels(denormalize(xa))                                                # the input is the ImageNet-normalised augmented image
    assert (ya != otsu_labels(lv, multiotsu_thresholds(lv, 3))).float().mean() < 1e-3   # labels of the augmented image (float round trip)
    assert t2.build_model(ERFNet())(xa).shape == (4, 3, 48, 64)


# ---------------------------------------------------------------- SimCLR
def test_nt_xent_equals_reference():
    torch.manual_seed(0)
    z = torch.randn(8, 6, dtype=torch.float64); N = 4; tau = 0.5
    cos = lambda a, b: float(a @ b / (a.norm() * b.norm()))
    ref = 0.
    for i in range(2 * N):
        j = (i + N) % (2 * N)
        den = sum(math.exp(cos(z[i], z[k]) / tau) for k in range(2 * N) if k != i)
        ref += -math.log(math.exp(cos(z[i], z[j]) / tau) / den)
    partner = torch.cat([torch.arange(N) + N, torch.arange(N)])
    assert abs(nt_xent(z, partner, tau).item() - ref / (2 * N)) < 1e-5


def test_simclr_views_differ_per_sample():
    torch.manual_seed(0)
    x = scenes(1).repeat(6, 1, 1, 1)                         # the same image six times
    v = SimCLRAugment()(x)
    d = torch.cdist(v.flatten(1), v.flatten(1))
    assert (d + torch.eye(6) * 1e9).min() > 1e-3              # per-sample parameters: all six views differ
    views, partner = SimCLRTask().make_batch(x)
    assert views.shape == (12, 3, 48, 64) and torch.equal(partner[partner], torch.arange(12))


def test_vectorised_ops_match_per_image():
    from torchvision.transforms.v2 import functional as TF
    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 20)
    sig = torch.tensor([0.7, 1.9, 0.])
    ref = torch.stack([TF.gaussian_blur(x[i], [7, 7], [float(s)] * 2) if s > 0 else x[i] for i, s in enumerate(sig)])
    torch.testing.assert_close(gaussian_blur(x, sig, 7), ref, atol=1e-5, rtol=0)
    boxes = torch.tensor([[0., 0., 20., 16.], [0., 0., 10., 8.], [0., 0., 20., 16.]])         # pixel corners (x0, y0, x1, y1)
    y = crop_boxes(x, boxes, size=(8, 10), flip=torch.tensor([False, False, True]), padding_mode='reflection')
    torch.testing.assert_close(y[1], F.interpolate(x[1:2, :, :8, :10], size=(8, 10))[0], atol=1e-5, rtol=0)   # top-left quarter
    torch.testing.assert_close(y[2], F.interpolate(x[2:3].flip(-1), size=(8, 10), mode='bilinear')[0], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- clusters
def test_kmeans_recovers_separated_groups_and_is_stable():
    from sklearn.metrics import adjusted_rand_score
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 10, (6, 8)); true = rng.integers(0, 6, 400)
    feats = centres[true] + rng.normal(0, 0.3, (400, 8))
    lab, _ = kmeans_labels(feats, 6, seed=3)
    assert adjusted_rand_score(true, lab) == 1.0
    assert np.array_equal(kmeans_labels(feats, 6, seed=3)[0], lab)


@pytest.mark.parametrize('teacher', ['random', 'hog'])
def test_pseudo_labels_stable_for_fixed_seed(teacher):
    ds = list(scenes(10))
    a = ClusterTask(k=3, teacher=teacher, seed=7).fit_clusters(ds, batch_size=4).labels
    b = ClusterTask(k=3, teacher=teacher, seed=7).fit_clusters(ds, batch_size=10).labels
    assert np.array_equal(a, b) and len(a) == 10 and set(a.tolist()) <= {0, 1, 2}
    wrapped = ClusterTask(k=3, teacher=teacher, seed=7).prepare(ds)
    xb, yb = next(iter(DataLoader(wrapped, batch_size=10)))
    assert torch.equal(yb, torch.as_tensor(a)) and torch.equal(xb, torch.stack(ds))


def test_cluster_needs_a_teacher_unless_random_by_name():
    from sslseg.core import SSLSegError
    ds = list(scenes(2))
    with pytest.raises(SSLSegError, match="--opt teacher=random") as e: ClusterTask(k=2).features(ds)
    assert '--opt checkpoint=' in e.value.fix and 'random-network control' in str(e.value)
    assert ClusterTask(k=2, teacher='random').source == 'random' and ClusterTask(k=2, teacher='hog').source == 'hog'


def test_hog_teacher_is_a_bag_of_words():
    "Noroozi et al. cluster bag-of-words histograms of HOG: one normalised histogram over a k-means codebook per image."
    from sklearn.cluster import MiniBatchKMeans
    from sslseg.tasks import hog_descriptors, bow_histograms
    ds = list(scenes(6, size=(64, 64)))
    t = ClusterTask(k=2, teacher='hog', hog_size=64, hog_cell=8, hog_words=16, seed=1)
    f = t.features(ds)
    assert f.shape == (6, 16) and np.allclose(f.sum(1), 1)
    g = to_gray(F.interpolate(torch.stack(ds), size=(64, 64), mode='bilinear', antialias=True).clamp(0, 1))[:, 0].numpy()
    d = hog_descriptors(g, 8)
    assert d.shape == (6, 36, 81)                                   # 8x8 cells of 8 px -> 6x6 blocks of 3x3 cells x 9 orientations
    cb = MiniBatchKMeans(16, random_state=1, batch_size=4096, n_init=3).fit(d.reshape(-1, 81))
    np.testing.assert_allclose(f, bow_histograms(d, cb), atol=1e-6)
    np.testing.assert_allclose(t.features(ds[:3]), f[:3], atol=1e-6)     # the codebook is kept for other images (assign)


def test_simclr_warns_once_below_the_thesis_batch():
    t = SimCLRTask()
    with pytest.warns(UserWarning, match='batch 128') as rec:
        t.make_batch(scenes(4)); t.make_batch(scenes(4))
    assert len([w for w in rec if 'SimCLR batch' in str(w.message)]) == 1 and '6 negatives' in str(rec[0].message)


def test_cluster_teacher_from_other_backbone():
    ds = list(scenes(6, size=(64, 64)))
    t = ClusterTask(k=2, teacher='random', arch='mobilenetv2_fcn', grid=1)
    f = t.features(ds)
    assert f.ndim == 2 and f.shape[0] == 6
    assert t.build_model(ERFNet())(torch.stack(ds[:2])).shape == (2, 2)


# ---------------------------------------------------------------- all tasks: config, models on other backbones
@pytest.mark.parametrize('name', ['colorize', 'colorize_hist', 'otsu', 'simclr', 'cluster', 'supervised_cls'])
def test_config_round_trip_and_backbone(name):
    from sslseg.models import build_backbone
    cls = TASKS[name]
    t = cls(num_classes=3) if name == 'supervised_cls' else cls(k=3, teacher='random') if name == 'cluster' else cls()
    assert cls(**t.config()).config() == t.config()
    x = scenes(2, size=(64, 64))
    batch = (x, torch.tensor([0, 2])) if t.needs_labels else x
    xi, yi = t.make_batch(batch)
    model = t.build_model(build_backbone('mobilenetv2_fcn', num_classes=5))
    out = model(xi)
    loss = t.loss(out, yi)
    assert torch.isfinite(loss)
    t.metric_values(t.metric_state(out.detach(), yi))


def test_supervised_folder(tmp_path):
    from PIL import Image
    for c, col in (('cat', (200, 30, 30)), ('dog', (30, 30, 200))):
        (tmp_path / c).mkdir()
        for i in range(2): Image.new('RGB', (30, 20), col).save(tmp_path / c / f'{i}.jpg')
    ds = ClassFolder(tmp_path, (16, 16))
    t = SupervisedClassTask.from_folder(ds)
    assert t.num_classes == 2 and t.class_names == ['cat', 'dog']
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 3, 16, 16) and y.tolist() == [0, 0, 1, 1]


# ---------------------------------------------------------------- slow: each task trains and beats a trivial baseline
def _fit(task, train, valid, steps, lr=2e-3, bs=16):
    from sslseg.train import Learner
    torch.manual_seed(0)
    model = task.build_model(ERFNet())
    learn = Learner(model, task, DataLoader(train, batch_size=bs, shuffle=True, drop_last=True),
                    DataLoader(valid, batch_size=bs), lr=lr, max_steps=steps, progress=False, seed=0)
    hist = learn.fit()
    return hist[-1], learn


def _scene_sets(n_train=96, n_valid=32, size=(48, 64)):
    from sslseg.data import SyntheticScenes, Unlabeled
    return Unlabeled(SyntheticScenes(n_train, size=size, seed=0)), Unlabeled(SyntheticScenes(n_valid, size=size, seed=1, split='val'))


@pytest.mark.slow
def test_colorize_trains_beats_mean():
    tr, va = _scene_sets(256)
    row, _ = _fit(ColorizeTask(augment=False), tr, va, 200)   # the colour jitter makes targets partly random: learns slower
    print('colorize valid r2 (0 = predicting the mean colour):', row['valid_r2'])
    assert row['valid_r2'] > 0.1


@pytest.mark.slow
def test_colorize_hist_trains_beats_best_constant():
    tr, va = _scene_sets(256)
    t = ColorHistTask()
    row, _ = _fit(t, tr, va, 200)
    # baseline: the best constant prediction, the mean histogram of the validation targets themselves
    torch.manual_seed(0); hs, ws = [], []
    for x in DataLoader(va, batch_size=16):
        _, (h, w, _) = t.make_batch(x); hs.append(h); ws.append(w)           # (B, 64, 128 sampled pixels)
    H, W = torch.cat(hs), torch.cat(ws)
    const = torch.log(H.mean((0, 2)).clamp_min(1e-8)).view(1, -1, 1).expand_as(H)
    base = t.loss(const, (H, W)).item()
    print('colorize_hist valid KL loss:', row['valid_loss'], 'best constant:', base, 'mode acc:', row['valid_acc'])
    assert row['valid_loss'] < base - 0.1


@pytest.mark.slow
def test_otsu_trains_beats_constant():
    tr, va = _scene_sets(256)
    t = OtsuTask(4)
    row, _ = _fit(t, tr, va, 200)
    torch.manual_seed(0)
    counts = sum(torch.bincount(t.make_batch(x)[1].flatten(), minlength=4) for x in DataLoader(va, batch_size=16))
    freq = (counts.max() / counts.sum()).item()      # constant prediction: pixel acc = freq, mIoU = freq / 4
    print('otsu valid miou:', row['valid_miou'], 'pixel acc:', row['valid_pixel_acc'], 'constant: pixel acc', freq, 'miou', freq / 4)
    assert row['valid_miou'] > freq / 4 + 0.2 and row['valid_pixel_acc'] > freq + 0.2


@pytest.mark.slow
def test_simclr_trains_beats_chance():
    tr, va = _scene_sets(256)
    # SimCLR's full-strength augmentation needs far more than a CPU test's 200 steps; milder crops and jitter show the learning
    row, _ = _fit(SimCLRTask(scale=(0.5, 1.0), jitter=(0.4, 0.4, 0.4, 0.1)), tr, va, 200, lr=1e-3, bs=32)
    chance = 1 / 63                                                                 # 2N-1 candidates, N = 32
    print('simclr valid contrastive acc:', row['valid_acc'], 'train:', row['train_acc'], 'chance:', chance)
    assert row['valid_acc'] > 5 * chance


@pytest.mark.slow
def test_cluster_trains_beats_majority():
    tr, va = _scene_sets(256)
    t = ClusterTask(k=3, teacher='hog', augment=False)
    trw = t.prepare(tr)
    vl = t.assign(va)                                 # validation images labelled by the fitted centres (paper Table 2)
    major = np.bincount(vl, minlength=3).max() / len(va)
    row, _ = _fit(t, trw, t.wrap(va, vl), 300)
    print('cluster (HOG, k=3) valid acc:', row['valid_acc'], 'train acc:', row['train_acc'], 'majority:', major)
    assert row['valid_acc'] > major + 0.15


@pytest.mark.slow
def test_supervised_cls_trains_beats_chance(tmp_path):
    from PIL import Image
    tr, va = _scene_sets(64, 32)
    for split, ds in (('train', tr), ('valid', va)):
        for c in ('upright', 'upside_down'): (tmp_path / split / c).mkdir(parents=True)
        for i in range(len(ds)):
            im = ds[i] if i % 2 == 0 else ds[i].flip(-2)
            Image.fromarray((im.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(tmp_path / split / ('upright' if i % 2 == 0 else 'upside_down') / f'{i}.png')
    trf, vaf = ClassFolder(tmp_path / 'train', (48, 64)), ClassFolder(tmp_path / 'valid', (48, 64))
    row, _ = _fit(SupervisedClassTask.from_folder(trf), trf, vaf, 120)
    print('supervised_cls valid acc:', row['valid_acc'], 'chance: 0.5')
    assert row['valid_acc'] > 0.75
