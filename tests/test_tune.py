"Mix-and-Match tuning and knowledge transfer (sslseg.tune): graph, triplets, loss, patch labels, short runs, pseudo-labels, student transfer."
import json
import numpy as np, pytest, torch
from torchvision.ops import roi_align
from sslseg.core import SSLSegError
from sslseg.data import get_dataset
from sslseg.models.backbones import build_backbone
from sslseg.transfer.load import load_parts
from sslseg.tune import (sample_patches, extract_patches, class_graph, random_triplets, class_components, triplet_loss,
                         MixMatchTask, mixmatch_tune, cluster_teacher, train_student, teacher_identity)
from sslseg.run.tune_cli import cli_tune, cli_kt

def _batch(n=4, size=(48, 64)):
    ds = get_dataset('synthetic', None, 'train', size=size, augment=False, n=n)
    return torch.stack([ds[i][0] for i in range(n)]), torch.stack([ds[i][1] for i in range(n)])

@pytest.mark.parametrize('seed', range(8))
def test_graph_classes_connected_and_triplets_valid(seed):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, 5, (int(torch.randint(2, 80, (1,), generator=g)),), generator=g)
    G = class_graph(lab, g)
    comps = class_components(lab, G['attract'])
    assert set(comps) == set(lab.tolist()) and all(v == 1 for v in comps.values())
    if lab.unique().numel() > 1:
        assert len(G['anchor']) == len(lab) and sorted(G['anchor'].tolist()) == list(range(len(lab)))   # every node an anchor
    assert (lab[G['anchor']] == lab[G['positive']]).all() and (lab[G['anchor']] != lab[G['negative']]).all()
    # each attractive edge goes to a node absorbed earlier
    pos = torch.empty_like(G['order']); pos[G['order']] = torch.arange(len(lab))
    assert (pos[G['attract'][:, 1]] < pos[G['attract'][:, 0]]).all()

def test_unique_label_is_its_own_positive():
    lab = torch.tensor([0, 0, 1, 2, 2, 2])
    G = class_graph(lab, torch.Generator().manual_seed(0))
    assert G['positive'][G['anchor'] == 2].tolist() == [2]
    assert (G['positive'][G['anchor'] != 2] != G['anchor'][G['anchor'] != 2]).all()

def test_single_class_has_no_triplets_and_zero_loss():
    G = class_graph(torch.zeros(4, dtype=torch.long))
    f = torch.randn(4, 3, requires_grad=True)
    loss = triplet_loss(f, G['anchor'], G['positive'], G['negative'])
    assert len(G['anchor']) == 0 and loss.item() == 0 and loss.requires_grad

def test_random_triplets_valid():
    lab = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])
    R = random_triplets(lab, torch.Generator().manual_seed(0))
    assert len(R['anchor']) == len(lab)
    assert (lab[R['anchor']] == lab[R['positive']]).all() and (lab[R['anchor']] != lab[R['negative']]).all()

def test_loss_equals_eq1_eq2():
    torch.manual_seed(0)
    f, lab = torch.randn(12, 5), torch.tensor([0, 1, 1, 2, 2, 2, 0, 3, 1, 0, 3, 3])
    G = class_graph(lab, torch.Generator().manual_seed(1))
    n = f / f.norm(dim=1, keepdim=True)
    direct = np.mean([max(float(((n[a] - n[p]) ** 2).sum() - ((n[a] - n[q]) ** 2).sum()) + 2.1, 0.0)
                      for a, p, q in zip(G['anchor'].tolist(), G['positive'].tolist(), G['negative'].tolist())])
    assert abs(triplet_loss(f, G['anchor'], G['positive'], G['negative']).item() - direct) < 1e-5
    # a scaled feature gives the same loss (D is on L2-normalised features), and D is within [0, 4]
    assert abs(triplet_loss(3 * f, G['anchor'], G['positive'], G['negative']).item() - direct) < 1e-5

def test_patch_labels_are_centre_pixels():
    x, m = _batch()
    boxes, labels = sample_patches(m, per_image=10, generator=torch.Generator().manual_seed(0))
    assert len(labels) == 40 and boxes[:, 0].long().bincount().tolist() == [10] * 4   # mixed from all images
    crops = roi_align(m[:, None].float(), boxes, output_size=(15, 15), sampling_ratio=1, aligned=True)
    assert torch.equal(crops[:, 0, 7, 7].round().long(), labels)
    mv = m.clone(); mv[:, :24] = 255
    _, lv = sample_patches(mv, generator=torch.Generator().manual_seed(0))
    assert len(lv) and (lv != 255).all()
    assert extract_patches(x, boxes, 24).shape == (40, 3, 24, 24)

def test_patches_do_not_overlap_heavily():
    "Zhan et al. §3: 'Heavily overlapped patches are discarded' (ours: box IoU > 0.5 within an image); 10 patches per image kept."
    from torchvision.ops import box_iou
    from sslseg.tune.mixmatch import MM_MAX_IOU
    _, m = _batch(16)
    def same_image_ious(bx):
        iou, same = box_iou(bx[:, 1:], bx[:, 1:]), bx[:, None, 0] == bx[None, :, 0]
        return iou[same & ~torch.eye(len(bx), dtype=torch.bool)]
    for seed in range(3):
        bx, _ = sample_patches(m, per_image=10, generator=torch.Generator().manual_seed(seed))
        assert bx[:, 0].long().bincount(minlength=16).tolist() == [10] * 16
        assert MM_MAX_IOU == 0.5 and same_image_ious(bx).max() <= MM_MAX_IOU
    off, _ = sample_patches(m, per_image=10, max_iou=None, generator=torch.Generator().manual_seed(0))
    assert same_image_ious(off).max() > MM_MAX_IOU                                  # without the rule, heavy overlaps occur
    # patches as large as the image all overlap: fewer survivors than per_image -> fewer patches (one per image), never duplicates
    few, _ = sample_patches(m, per_image=10, sides=(256, 256), generator=torch.Generator().manual_seed(0))
    assert few[:, 0].long().bincount(minlength=16).tolist() == [1] * 16

def test_images_per_batch_default_is_the_papers_16(tmp_path):
    "Zhan et al. §4: 'From a batch of 16 images in each CNN iteration'; `--recipe zhan-mm` sets it too."
    from sslseg.config import TuneConfig, resolve, parse_config
    assert TuneConfig().run.batch_size == 16
    assert resolve(TuneConfig, resolve(TuneConfig, images_per_batch=10), recipe='zhan-mm').run.batch_size == 16
    assert parse_config(TuneConfig, ['--recipe', 'zhan-mm'], 'sslseg tune', '').run.batch_size == 16
    with pytest.raises(SystemExit): cli_tune(['--recipe', 'no-such-recipe', '--out', str(tmp_path)])

def test_task_batch_and_errors():
    x, m = _batch(2)
    xb, (lab, a, p, n) = MixMatchTask().make_batch((x, m))
    assert xb.shape[0] == len(lab) == len(a) and xb.shape[-1] == 24
    with pytest.raises(SSLSegError, match='label map'): MixMatchTask().make_batch(x)
    with pytest.raises(SSLSegError, match='unknown triplet strategy'): MixMatchTask(strategy='hard')

def test_short_run_lowers_loss_and_tightens(tmp_path, one_thread):
    r = mixmatch_tune(method='mix-and-match', out=tmp_path / 'mm', size=(48, 64), n=12, steps=48, images_per_batch=4, progress=False, per_image=8)
    losses = [h['train_loss'] for h in r['history']]
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    b, a = r['distances_before'], r['distances_after']
    assert a['same'] / a['other'] < b['same'] / b['other']
    rep = load_parts(build_backbone('erfnet', num_classes=11), tmp_path / 'mm' / 'last.pt', 'encoder')
    assert rep.n_loaded > 0

def test_pseudo_labels_stable_and_student_transfers(tmp_path, one_thread):
    kw = dict(size=(32, 48), n=16, k=3, grid=1, views=0)
    c1, c2 = cluster_teacher(teacher='random', out=tmp_path / 'a', **kw), cluster_teacher(teacher='random', out=tmp_path / 'b', **kw)
    assert np.array_equal(c1['labels'], c2['labels']) and len(c1['labels']) == 16
    with pytest.raises(SSLSegError, match='another teacher'): cluster_teacher(teacher='random', out=tmp_path / 'a', **{**kw, 'k': 4})
    s = train_student(clusters=tmp_path / 'a', out=tmp_path / 'student', steps=2, batch_size=8, progress=False, task_options=dict(augment=False))
    rep = load_parts(build_backbone('erfnet', num_classes=11), s['checkpoint'], 'encoder')
    assert rep.n_loaded > 0

def test_teacher_identity_hash(tmp_path):
    import hashlib
    from sslseg.core import save_checkpoint
    from sslseg.models import build_backbone
    p = tmp_path / 't.pt'; save_checkpoint(p, build_backbone('erfnet'))
    i = teacher_identity(str(p))
    assert i['kind'] == 'checkpoint' and i['sha256'] == hashlib.sha256(p.read_bytes()).hexdigest()
    (tmp_path / 'junk.pt').write_bytes(b'abc')
    with pytest.raises(SSLSegError, match='not a readable sslseg checkpoint'): teacher_identity(str(tmp_path / 'junk.pt'))
    assert teacher_identity('hog') == {'kind': 'hog'}

def test_cli_errors(tmp_path):
    with pytest.raises(SSLSegError, match='needs --teacher'): cli_kt(['cluster', '--out', str(tmp_path)])
    with pytest.raises(SSLSegError, match='needs --init'): cli_kt(['finetune', '--out', str(tmp_path)])
    with pytest.raises(SystemExit): cli_tune(['--method', 'hard-triplets', '--out', str(tmp_path)])

def test_kt_all_config_repeats_the_chain(tmp_path, one_thread):
    "`sslseg kt all` writes the whole chain's config; `--config` of it repeats the run, fine-tuning batch included."
    from sslseg.config import load_config, KTConfig, TrainConfig
    a, b = tmp_path / 'a', tmp_path / 'b'
    assert cli_kt(['all', '--teacher', 'random', '--out', str(a), '--size', '32', '48', '--n', '12', '--n-val', '4', '--k', '3', '--grid', '1',
                   '--steps', '2', '--batch-size', '4', '--finetune-epochs', '1', '--ft-batch-size', '3', '--quiet']) == 0
    assert cli_kt(['--config', str(a / 'config.yaml'), '--out', str(b)]) == 0
    ka, kb = (json.loads((d / 'kt.json').read_text()) for d in (a, b))
    assert ka['miou'] == kb['miou'] and ka['cluster_sizes'] == kb['cluster_sizes']
    assert load_config(b / 'finetune' / 'config.yaml', TrainConfig).run.batch_size == 3
    assert load_config(b / 'config.yaml', KTConfig).run.steps == 2

def test_kt_student_of_random_control_uses_noroozi_lr(tmp_path, one_thread):
    "`sslseg kt student` on a random teacher's clusters: the student trains at Noroozi et al.'s 0.001 (recipe noroozi-random) unless --lr is given."
    from sslseg.config import load_config, KTConfig, PretrainConfig
    c = tmp_path / 'c'
    assert cli_kt(['cluster', '--teacher', 'random', '--out', str(c), '--size', '32', '48', '--n', '8', '--k', '2', '--grid', '1', '--quiet']) == 0
    assert json.loads((c / 'clusters.json').read_text())['identity']['input_norm'] == 'imagenet'
    for out, args, want in [('s', [], ('sgd', 0.001, 'noroozi-random')), ('s_lr', ['--lr', '0.002'], ('adam', 0.002, None))]:
        assert cli_kt(['student', '--clusters', str(c), '--out', str(tmp_path / out), '--steps', '1', '--batch-size', '4', '--quiet'] + args) == 0
        k, p = load_config(tmp_path / out / 'kt_config.yaml', KTConfig), load_config(tmp_path / out / 'config.yaml', PretrainConfig)
        assert (k.optim.name, k.optim.lr) == want[:2] and (p.optim.name, p.optim.lr, p.recipe) == want
