"Patch pretext tasks: targets are right (undoing them recovers the input), permutation sets, models on backbones, and (slow) learning beats chance."
import math
import pytest, torch
import torch.nn.functional as F
from sslseg.core import SSLSegError
from sslseg.models import ERFNet
from sslseg.tasks import TASKS
from sslseg.tasks import normalize
from sslseg.tasks import (crop_boxes, color_jitter, tile_normalize, to_gray, rotate_groups, permutation_set, hamming_stats, grid_tiles,
                                to_patches, from_patches, RotationTask, JigsawTask, JigsawPPTask, FCNJigsawTask, RelativePatchTask, NEIGHBOURS)


def unpermute(inputs, perms, k): return inputs[torch.arange(len(k))[:, None], perms.to(k.device)[k].argsort(1)]


def put_back(inputs, targets, grid):
    t = to_patches(inputs, grid); B = len(t); out = torch.empty_like(t)
    out[torch.arange(B)[:, None], targets.reshape(B, -1)] = t
    return from_patches(out, grid)


def test_registry():
    for n in ['rotation', 'jigsaw', 'jigsaw++', 'fcn_jigsaw', 'relative_patch']: assert n in TASKS
    t = JigsawPPTask(n_perms=30)
    assert TASKS['jigsaw++'](**t.config()).config() == t.config()


def test_crop_boxes_exact_and_flip():
    x = torch.rand(3, 3, 20, 30)
    boxes = torch.tensor([[5., 2, 15, 12], [0, 0, 10, 10], [20, 10, 30, 20]])
    out = crop_boxes(x, boxes, 10, flip=torch.tensor([False, True, False]))
    torch.testing.assert_close(out[0], x[0, :, 2:12, 5:15])
    torch.testing.assert_close(out[1], x[1, :, :10, :10].flip(-1))
    torch.testing.assert_close(out[2], x[2, :, 10:20, 20:30])


def test_color_jitter_per_image_and_tile_norm():
    x = torch.rand(32, 3, 8, 8)
    assert torch.equal(color_jitter(x, 0, 0, 0, 0), x)
    y = color_jitter(x.clone())
    assert y.min() >= 0 and y.max() <= 1
    ratio = (y.mean((1, 2, 3)) / x.mean((1, 2, 3)))
    assert ratio.std() > 0.01                                  # factors differ between images
    g = to_gray(x).expand_as(x); torch.testing.assert_close(color_jitter(g, 0, 0, 0, 0.5), g, atol=1e-4, rtol=0)
    t = tile_normalize(torch.rand(2, 9, 3, 16, 16) * 3 + 1)
    torch.testing.assert_close(t.mean((-2, -1)), torch.zeros(2, 9, 3), atol=1e-4, rtol=0)


@pytest.mark.parametrize('kw', [dict(), dict(augment=False), dict(all_rotations=True)])
def test_rotation_unrotate_recovers_crop(kw):
    t = RotationTask(size=24, **kw)
    s = t.sample(torch.rand(7, 3, 30, 40))
    B = 28 if kw.get('all_rotations') else 7
    assert s['inputs'].shape == (B, 3, 24, 24) and s['targets'].shape == (B,)
    assert torch.equal(rotate_groups(s['inputs'], -s['targets']), s['crop'])
    for i in range(B):                                          # reference: one torch.rot90 per sample
        assert torch.equal(s['inputs'][i], torch.rot90(s['crop'][i], int(s['targets'][i]), (1, 2)))
    if kw.get('all_rotations'): assert torch.bincount(s['targets']).tolist() == [7] * 4


def test_rotation_no_augment_is_resize_only():
    t = RotationTask(size=16, augment=False, input_norm='none')
    x = torch.rand(2, 3, 32, 32)
    ref = F.interpolate(x, size=(16, 16), mode='bilinear', antialias=True, align_corners=False)
    torch.testing.assert_close(t.crop(x), ref)
    torch.testing.assert_close(RotationTask(size=16, augment=False).crop(x), normalize(ref))      # ImageNet-normalised by default
    assert t.config()['input_norm'] == 'none' and RotationTask().config()['input_norm'] == 'imagenet'


def test_permutation_sets():
    for n in (1, 10, 100, 1000):
        P = permutation_set(n)
        assert P.shape == (n, 9)
        assert torch.equal(P.sort(1).values, torch.arange(9).expand(n, 9))
        assert len({tuple(p) for p in P.tolist()}) == n
    st = hamming_stats(permutation_set(100))
    P = permutation_set(100); d = (P[:, None] != P[None]).sum(-1).double()
    off = ~torch.eye(100, dtype=torch.bool)
    assert st['min'] == int(d[off].min()) and math.isclose(st['mean'], float(d[off].mean()))
    assert st['min'] >= 2 and st['mean'] > 7.5                   # greedy maximal distance: far above a random set's minimum
    assert hamming_stats(permutation_set(701, min_hamming=3))['min'] >= 3
    assert hamming_stats(permutation_set(9, min_hamming=9))['min'] == 9
    with pytest.raises(SSLSegError, match='minimum Hamming'): permutation_set(20, min_hamming=9)
    with pytest.raises(SSLSegError): permutation_set(0)


def test_grid_tiles_from_their_cells():
    x = torch.rand(3, 3, 90, 90)
    tl, corner = grid_tiles(x, 3, 24)
    for b in range(3):
        for i in range(9):
            r, c = corner[b, i].tolist()
            assert i // 3 * 30 <= r <= i // 3 * 30 + 6 and i % 3 * 30 <= c <= i % 3 * 30 + 6
            assert torch.equal(tl[b, i], x[b, :, r:r + 24, c:c + 24])
    with pytest.raises(SSLSegError): grid_tiles(x, 3, 31)


def test_jigsaw_unpermute_recovers_tiles():
    t = JigsawTask(n_perms=50, crop_size=96, tile=28, jitter=False, input_norm='none')
    s = t.sample(torch.rand(16, 3, 60, 80))
    assert s['inputs'].shape == (16, 9, 3, 28, 28)
    assert torch.equal(unpermute(s['inputs'], t.perms, s['targets']), s['tiles'])
    for b in range(16):                                          # reference: the target's permutation, tile by tile
        for i in range(9): assert torch.equal(s['inputs'][b, i], s['tiles'][b, int(t.perms[s['targets'][b], i])])
    t2 = JigsawTask(n_perms=50, crop_size=96, tile=28, jitter=False)
    s2 = t2.sample(torch.rand(4, 3, 60, 80))
    torch.testing.assert_close(unpermute(s2['inputs'], t2.perms, s2['targets']), tile_normalize(s2['tiles']))


def test_jigsaw_pp_occlusions():
    t = JigsawPPTask(n_perms=100, crop_size=96, tile=28, gray_p=0.0, input_norm='none')
    assert hamming_stats(t.perms)['min'] >= 3
    s = t.sample(torch.rand(64, 3, 60, 80))
    occ, src = s['occluded'], s['source']
    assert (src != torch.arange(64)).all()
    assert set(occ.sum(1).tolist()) == {0, 1, 2}
    un, occ_un = unpermute(s['mixed'], t.perms, s['targets']), unpermute(occ, t.perms, s['targets'])
    assert torch.equal(un[~occ_un], s['tiles'][~occ_un])       # every non-occluded position: the image's own tile, in the target order
    foreign = s['tiles'][src[:, None], s['source_tile']]
    assert torch.equal(s['mixed'][occ], foreign[occ])            # every occluded position: a tile of the source image
    assert torch.equal(s['inputs'], s['mixed'])                  # no jitter / normalisation asked
    # at most 2 tiles occluded and min Hamming >= 3: the permutation is the only one in the set consistent with the visible tiles
    P = t.perms
    vis_pos = ~occ                                               # position i holds tile P[k][i] where visible
    cand = (P[None, :, :] == P[s['targets']][:, None, :]) | ~vis_pos[:, None, :]
    assert (cand.all(-1).sum(1) == 1).all()
    g = JigsawPPTask(n_perms=50, crop_size=48, tile=14).sample(torch.rand(500, 3, 32, 32))['gray'].float().mean()
    assert 0.6 < g < 0.8


@pytest.mark.parametrize('grid', [3, 5])
def test_fcn_jigsaw_put_back(grid):
    t = FCNJigsawTask(grid=grid, size=60)
    s = t.sample(torch.rand(12, 3, 50, 70))
    assert s['inputs'].shape == (12, 3, 60, 60) and s['targets'].shape == (12, grid, grid)
    assert torch.equal(put_back(s['inputs'], s['targets'], grid), s['crop'])
    c = grid // 2
    assert (s['targets'][:, c, c] == grid * grid // 2).all()
    p = 60 // grid
    assert torch.equal(s['inputs'][..., c * p:(c + 1) * p, c * p:(c + 1) * p], s['crop'][..., c * p:(c + 1) * p, c * p:(c + 1) * p])


def test_fcn_jigsaw_loss_is_eq7():
    t = FCNJigsawTask(size=48, hidden=16)
    m = t.build_model(ERFNet())
    x, y = t.make_batch(torch.rand(2, 3, 50, 60))
    out = m(x)
    assert out.shape == (2, 9, 3, 3)
    logp = out.log_softmax(1)
    ref = -logp.gather(1, y[:, None]).mean()                    # (1/9) sum over patches, averaged over the batch
    torch.testing.assert_close(t.loss(out, y), ref)
    t2 = FCNJigsawTask(size=48, include_center=False); _, y2 = t2.make_batch(torch.rand(2, 3, 50, 60))
    assert (y2[:, 1, 1] == -100).all() and t2.metric_state(out, y2)['count'].item() == 16


def test_relative_patch_targets():
    torch.manual_seed(0)   # 40 draws cover all 8 neighbours only with probability ~0.96: fix the draw
    t = RelativePatchTask(crop_size=96, tile=28, jitter=False, input_norm='none')
    s = t.sample(torch.rand(40, 3, 60, 80))
    pos = torch.tensor(NEIGHBOURS)[s['targets']]
    assert torch.equal(s['inputs'][:, 0], s['tiles'][:, 4])
    assert torch.equal(s['inputs'][:, 1], s['tiles'][torch.arange(40), pos])
    d = s['corner'][torch.arange(40), pos] // 32 - s['corner'][:, 4] // 32
    assert torch.equal(d, torch.stack([pos // 3 - 1, pos % 3 - 1], 1))
    assert set(s['targets'].tolist()) == set(range(8))


@pytest.mark.parametrize('arch', ['erfnet', 'mobilenetv2_fcn'])
def test_models_on_backbones(arch):
    from sslseg.models import build_backbone
    x = torch.rand(2, 3, 40, 50)
    bb = build_backbone(arch)
    for task, shape in [(RotationTask(size=32), (2, 4)), (JigsawTask(n_perms=20, crop_size=48, tile=16, hidden=32), (2, 20)),
                        (JigsawPPTask(n_perms=20, crop_size=48, tile=16, hidden=32), (2, 20)), (FCNJigsawTask(size=48, hidden=16), (2, 9, 3, 3)),
                        (FCNJigsawTask(grid=5, size=80, hidden=16), (2, 25, 5, 5)), (RelativePatchTask(crop_size=48, tile=16, hidden=32), (2, 8))]:
        if arch != 'erfnet' and task.name not in ('rotation', 'fcn_jigsaw', 'relative_patch'): continue   # one of each model kind
        bb.zero_grad(set_to_none=True)
        m = task.build_model(bb)
        xb, yb = task.make_batch(x)
        out = m(xb)
        assert out.shape == shape, (task.name, out.shape)
        loss = task.loss(out, yb); loss.backward()
        assert math.isfinite(loss.item())
        assert any(p.grad is not None for p in bb.parameters())   # gradients reach the backbone
        assert m.config['backbone']['arch'] == bb.config['arch']


def test_bad_configs():
    with pytest.raises(SSLSegError): FCNJigsawTask(grid=4)
    with pytest.raises(SSLSegError): JigsawTask(crop_size=90, tile=40)
    with pytest.raises(SSLSegError): JigsawPPTask(n_perms=20, max_occluded=9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_batches_stay_on_device():
    x = torch.rand(4, 3, 64, 80, device='cuda')
    for t in [RotationTask(size=32), JigsawTask(n_perms=20, crop_size=96, tile=28), JigsawPPTask(n_perms=20, crop_size=96, tile=28),
              FCNJigsawTask(size=48), RelativePatchTask(crop_size=96, tile=28)]:
        xb, yb = t.make_batch(x)
        assert xb.is_cuda and yb.is_cuda


# ---- slow: each task learns on SyntheticScenes with the Learner, well above chance ----
# Small, CPU-sized settings: 72x96 scenes, tiny crops/tiles, ERFNet without dropout, ~100 steps. The tile tasks run without
# per-tile normalisation and jitter here: on flat synthetic colours those remove most of the signal a 100-step run can pick up
# (with them, jigsaw stayed at 0.16 after 100 steps); the targets are the same, which is what these tests check.

@pytest.fixture(scope='module')
def scenes():
    from sslseg.data import SyntheticScenes
    def render(n, split):
        ds = SyntheticScenes(n, size=(72, 96), split=split)
        return torch.stack([ds[i][0].as_subclass(torch.Tensor) for i in range(n)])
    return render(512, 'train'), render(128, 'val')


def _train(task, scenes, steps, bs, lr=2e-3):
    from torch.utils.data import DataLoader
    from sslseg.train import Learner
    torch.manual_seed(0)
    model = task.build_model(ERFNet(drop1=0., drop2=0.))
    tr, va = scenes
    learn = Learner(model, task, DataLoader(tr, bs, shuffle=True, drop_last=True), DataLoader(va, 64), lr=lr, max_steps=steps,
                    progress=False, seed=0, device='cpu')
    hist = learn.fit()
    print(task.name, {k: round(v, 3) for k, v in hist[-1].items() if k.startswith('valid_')})
    return hist[-1]


@pytest.mark.slow
def test_rotation_learns(scenes):
    r = _train(RotationTask(size=32, augment=False, hidden=128), scenes, 100, 32)
    assert r['valid_acc'] > 0.6                                  # chance 0.25; measured 0.961


@pytest.mark.slow
def test_jigsaw_learns(scenes):
    r = _train(JigsawTask(n_perms=10, crop_size=66, tile=20, hidden=128, jitter=False, input_norm='none'), scenes, 100, 16, lr=1e-3)
    assert r['valid_acc'] > 0.3                                  # chance 0.10; measured 0.562


@pytest.mark.slow
def test_jigsaw_pp_learns(scenes):
    r = _train(JigsawPPTask(n_perms=10, crop_size=66, tile=20, hidden=128, input_norm='none'), scenes, 200, 16, lr=1e-3)
    assert r['valid_acc'] > 0.3                                  # chance 0.10; measured 0.578


@pytest.mark.slow
def test_fcn_jigsaw_learns(scenes):
    r = _train(FCNJigsawTask(size=48, hidden=128), scenes, 100, 16)
    assert r['valid_acc_shuffled'] > 0.2                         # chance 1/8 on the shuffled patches; measured 0.268


@pytest.mark.slow
def test_relative_patch_learns(scenes):
    # One labelled pair (2 tiles) per image, against jigsaw's 9 tiles: it needs more pairs, so batch 64 pairs for 300 steps
    # (with batch 16 for 200 steps it was still at 0.156). The 512 scenes are listed 5 times (fresh crops and neighbours each
    # time) so that validation runs every 40 steps, not every 8; validation: 4 random neighbours of each of the 128 scenes.
    tr, va = scenes
    r = _train(RelativePatchTask(crop_size=66, tile=20, hidden=128, jitter=False, input_norm='none'), (tr.repeat(5, 1, 1, 1), va.repeat(4, 1, 1, 1)),
               300, 64)
    assert r['valid_acc'] > 0.25                                 # chance 0.125; measured 0.309 (45-190 s on 2 busy cores)
