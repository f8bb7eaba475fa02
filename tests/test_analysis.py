"Tests of sslseg.analysis and `sslseg analyze`: numbers, not pixels."
import json
import numpy as np
import pytest
import torch
from sslseg.core import SSLSegError
from sslseg.data import get_dataset
from sslseg.models import receptive_fields
from sslseg.analysis import (load_model, collect_patch_features, labels_at, unit_pixels, merge_topk, knn_accuracy, top_activations,
                             recompute_check, unit_boxes, crop_box, feature_shift, ShiftSums, normalize_filters, nearest_to_centres)
from sslseg.run.analyze_cli import cli_analyze


@pytest.fixture(scope='module')
def ds(): return get_dataset('synthetic', split='val', size=(32, 48), augment=False, n=8)

@pytest.fixture(scope='module')
def models():
    return {'a': load_model('random', num_classes=11, seed=0), 'b': load_model('random', num_classes=11, seed=1)}


def test_self_correlation_is_one(one_thread, ds, models):
    res = feature_shift(models['a'], models['a'], ds, layers=['layer1', 'layer5', 'layer16', 'layer20'], batch_size=3)
    for l, v in res.items():
        r = v['corr'][np.isfinite(v['corr'])]
        assert len(r) > 0 and np.allclose(r, 1, atol=1e-9), l
        assert v['median'] == pytest.approx(1, abs=1e-9) and v['cka'] == pytest.approx(1, abs=1e-9)
    other = feature_shift(models['a'], models['b'], ds, layers=['layer5'])['layer5']
    assert abs(other['median']) < 0.9 and other['cka'] < 1 - 1e-6


def test_shift_sums_match_numpy():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 3, 4, 4, generator=g), torch.randn(5, 3, 4, 4, generator=g)
    b = b + a
    s = ShiftSums(); s.update(a[:2], b[:2]); s.update(a[2:], b[2:])
    X, Y = (t.transpose(0, 1).reshape(3, -1).double().numpy() for t in (a, b))
    assert np.allclose(s.correlation(), [np.corrcoef(X[c], Y[c])[0, 1] for c in range(3)], atol=1e-12)


def test_topk_equals_brute_force(one_thread, ds, models):
    m = models['a']
    ta = top_activations(m, ds, 'layer6', units=[1, 5, 9, 20], k=6, batch_size=3)
    with torch.no_grad(): allx = m.features(torch.stack([ds[i][0] for i in range(len(ds))]), 'layer6')[:, [1, 5, 9, 20]]
    flat = allx.transpose(0, 1).reshape(4, -1)
    bv, bi = flat.topk(6, -1)
    assert torch.allclose(ta.values, bv, atol=1e-5)
    h, w = allx.shape[-2:]
    for u in range(4):   # places agree wherever the value is not tied
        for j in range(6):
            if (flat[u] - bv[u, j]).abs().lt(1e-6).sum() == 1:
                assert ta.where[u, j].tolist() == [int(bi[u, j]) // (h * w), int(bi[u, j]) % (h * w) // w, int(bi[u, j]) % w]
    assert recompute_check(m, ds, ta) < 1e-5


def test_topk_distinct_images_brute_force(one_thread, ds, models):
    m = models['a']
    ta = top_activations(m, ds, 'layer6', units=[2, 11], k=3, batch_size=3, distinct_images=True)
    with torch.no_grad(): allx = m.features(torch.stack([ds[i][0] for i in range(len(ds))]), 'layer6')[:, [2, 11]]
    per_img = allx.flatten(2).amax(-1).T                                   # (units, images): each image's best position
    bv, bi = per_img.topk(3, -1)
    assert torch.allclose(ta.values, bv, atol=1e-5) and ta.where[..., 0].tolist() == bi.tolist()
    assert recompute_check(m, ds, ta) < 1e-5


def test_merge_topk_streaming():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(2, 40, generator=g); p = torch.arange(80).reshape(2, 40)
    acc, (pp,) = v[:, :0], [p[:, :0]]
    for s in range(0, 40, 9): acc, (pp,) = merge_topk(acc, v[:, s:s + 9], 4, [pp], [p[:, s:s + 9]], largest=False)
    bv, bi = v.topk(4, -1, largest=False)
    assert torch.equal(acc, bv) and torch.equal(pp, torch.gather(p, 1, bi))


def test_patch_box_is_receptive_field(ds, models):
    m = models['a']
    ta = top_activations(m, ds, 'layer4', units=3, k=4)
    rf = receptive_fields(m, (32, 48), layers=['layer4'])['layer4']
    boxes = unit_boxes(m, ta)
    for u in range(3):
        for j in range(4):
            _, i, jj = ta.where[u, j].tolist()
            assert tuple(boxes[u, j].tolist()) == rf.box(i, jj)
            t, l, b, r = boxes[u, j].tolist()
            assert (b - t + 1, r - l + 1) == rf.rf
            img = ds[int(ta.where[u, j, 0])][0]
            assert tuple(crop_box(img, boxes[u, j]).shape[-2:]) == rf.rf


def test_crop_box_pads_at_borders():
    img = torch.arange(12.).reshape(1, 3, 4)
    p = crop_box(img, (-1, -1, 1, 1), fill=-5.)
    assert p.tolist() == [[[-5, -5, -5], [-5, 0, 1], [-5, 4, 5]]]


def test_tsne_input_holds_sampled_counts(one_thread, ds, models):
    pf = collect_patch_features(models, ds, 'layer8', per_class=4, seed=3, batch_size=3)
    pix = unit_pixels(models['a'], 'layer8', (32, 48))
    avail = torch.bincount(torch.cat([labels_at(ds[i][1][None], *pix).reshape(-1) for i in range(len(ds))]), minlength=256)[:11]
    counts = np.bincount(pf.labels, minlength=11)
    assert counts.tolist() == avail.clamp(max=4).tolist()
    for n in models: assert pf.feats[n].shape == (counts.sum(), 128)
    assert len({tuple(w) for w in pf.where.tolist()}) == len(pf.labels)          # no position twice
    assert [int(ds[i][1][pix[0][a], pix[1][b]]) for i, a, b in pf.where] == pf.labels.tolist()
    pf2 = collect_patch_features({'a': models['a']}, ds, 'layer8', per_class=4, seed=3, batch_size=5)
    assert np.array_equal(pf2.where, pf.where) and np.array_equal(pf2.feats['a'], pf.feats['a'])


def test_knn_accuracy_brute_force():
    g = np.random.default_rng(0)
    X, y = g.normal(size=(30, 3)), g.integers(0, 3, 30)
    D = np.linalg.norm(X[:, None] - X[None], axis=-1); np.fill_diagonal(D, np.inf)
    assert knn_accuracy(X, y, k=1) == pytest.approx((y[D.argmin(1)] == y).mean())


def test_filters_normalised_per_filter():
    w = torch.randn(4, 3, 5, 5) * torch.tensor([1., 10., 0.1, 3.])[:, None, None, None]
    f = normalize_filters(w)
    assert torch.allclose(f.amin((1, 2, 3)), torch.zeros(4)) and torch.allclose(f.amax((1, 2, 3)), torch.ones(4))


def test_nearest_to_centres_brute_force():
    g = np.random.default_rng(2)
    X, C = g.normal(size=(25, 4)), g.normal(size=(4, 4))
    res = nearest_to_centres(X, C, [3, 1], n=5)
    for c, (idx, d) in res.items():
        assert idx.tolist() == np.argsort(np.linalg.norm(X - C[c], axis=1))[:5].tolist()


def test_cli_writes_and_never_overwrites_on_error(one_thread, tmp_path):
    out = tmp_path / 'shift'
    assert cli_analyze(['shift', '--n', '4', '--size', '32', '48', '--model', 'random', '--model', 'b=random', '--layers', 'layer3',
                        '--out', str(out)]) == 0
    js = json.loads((tmp_path / 'shift.json').read_text())
    assert set(js['pairs']) == {'random → b'} and (tmp_path / 'shift.csv').read_text().count('\n') == 2
    before = (tmp_path / 'shift.json').read_text()
    with pytest.raises(SSLSegError, match='checkpoint not found'):
        cli_analyze(['shift', '--model', 'random', '--model', str(tmp_path / 'none.pt'), '--out', str(out)])
    assert (tmp_path / 'shift.json').read_text() == before
