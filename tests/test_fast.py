"""Fast paths (sslseg.models.fast, sslseg.data.cache, sslseg bench): same predictions as eager within the stated tolerance,
levers that can be switched off, a clean fallback without a compiler or a GPU."""
import contextlib, copy, csv, io, warnings
import pytest
import torch
from torch import nn
import torch.nn.functional as F
from sslseg.core import SSLSegError
from sslseg.models import build_backbone
from sslseg.models.erfnet import ERFNet
from sslseg.models import fast
from sslseg.models.fast import (FastInference, FoldedDownsampler, SafeCompiled, fast_adam, fast_inference, fold_bn, maybe_compile,
                                prepare_train, set_threads, to_channels_last, amp_dtype, cpu_bf16)
from sslseg.data import SyntheticScenes, seg_transforms
from sslseg.data.cache import CachedDataset, cache_dataset, fast_loader


def _trained_bn(m: nn.Module, seed: int = 0) -> nn.Module:
    "Give every BatchNorm non-trivial statistics and affine parameters, as after training."
    g = torch.Generator().manual_seed(seed)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            n = mod.num_features
            mod.running_mean.copy_(torch.randn(n, generator=g) * .5); mod.running_var.copy_(torch.rand(n, generator=g) * 1.5 + .5)
            mod.weight.data.copy_(torch.rand(n, generator=g) + .5); mod.bias.data.copy_(torch.randn(n, generator=g) * .2)
    return m.eval()


@pytest.mark.parametrize('arch', ['erfnet', 'mobilenetv2_fcn'])
def test_fast_inference_matches_eager(one_thread, arch):
    torch.manual_seed(0)
    m = _trained_bn(build_backbone(arch, 12))
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad(): y0 = m(x)
    y1 = FastInference(m, amp=False)(x)                                                     # the float32 fast path
    assert y1.shape == y0.shape and y1.dtype == torch.float32
    assert (y0 - y1).abs().max() < 1e-4 * max(1., y0.abs().max().item())                  # stated tolerance: 1e-4 (relative to the logit range)
    assert (y0.argmax(1) == y1.argmax(1)).float().mean() == 1.0                             # the same class at every pixel
    if arch == 'erfnet': assert sum(isinstance(k, nn.BatchNorm2d) for k in fold_bn(m).modules()) == 0


def test_fold_keeps_the_original(one_thread):
    m = _trained_bn(ERFNet(5))
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    f = fold_bn(m)
    assert isinstance(f.encoder.layer1, FoldedDownsampler) and isinstance(m.encoder.layer1.bn, nn.BatchNorm2d)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in sd.items())                   # weights and keys untouched
    assert not f.training


def test_fast_paths_switch_off(one_thread):
    m = _trained_bn(ERFNet(4)); x = torch.randn(1, 3, 24, 32)
    off = fast_inference(m, enabled=False)
    assert not isinstance(off, FastInference)
    with torch.no_grad(): assert torch.equal(off(x), m(x))
    plain = FastInference(m, fold=False, channels_last=False, amp=False)
    assert isinstance(plain.model.encoder.layer3.bn1, nn.BatchNorm2d) and not plain.channels_last
    p = prepare_train(ERFNet(4), 'cpu', channels_last=False)
    assert p.encoder.layer3.conv3x1_1.weight.is_contiguous()
    assert fast_adam(p.parameters(), fused=False).defaults['fused'] is None


def test_train_step_matches_eager(one_thread):
    torch.manual_seed(3)
    a = ERFNet(6).train(); b = prepare_train(copy.deepcopy(a), 'cpu'); c = copy.deepcopy(a).double()
    x, y = torch.randn(2, 3, 32, 48), torch.randint(0, 6, (2, 32, 48))
    def run(mod, xx):
        torch.manual_seed(4); loss = F.cross_entropy(mod(xx), y); loss.backward()
        return loss.item(), torch.cat([p.grad.flatten().double() for p in mod.parameters()])
    (la, ga), (lb, gb), (_, gc) = run(a, x), run(b, to_channels_last(x)), run(c, x.double())
    assert abs(la - lb) < 1e-5 * abs(la)
    rel = lambda g, h: ((g - h).norm() / h.norm()).item()
    assert rel(gb, gc) < 3 * rel(ga, gc) + 1e-4 and rel(gb, ga) < 0.1                      # as close to float64 as eager float32 is
    assert list(a.state_dict()) == list(b.state_dict())


def test_fused_adam_same_update(one_thread):
    torch.manual_seed(0)
    pa = [torch.randn(5, 3, requires_grad=True), torch.randn(7, requires_grad=True)]; pb = [p.detach().clone().requires_grad_() for p in pa]
    oa, ob = torch.optim.Adam(pa, 1e-2, weight_decay=1e-4), fast_adam(pb, 1e-2, weight_decay=1e-4)
    for _ in range(4):
        for p, q in zip(pa, pb): p.grad = torch.randn_like(p); q.grad = p.grad.clone()
        oa.step(); ob.step()
    for p, q in zip(pa, pb): torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-6)


def test_compile_fallbacks(monkeypatch):
    tiny = nn.Linear(3, 2).requires_grad_(False); x = torch.randn(4, 3)
    def broken(gm, example_inputs): raise RuntimeError('boom: no C++ compiler')
    sc = SafeCompiled(tiny, backend=broken)
    with pytest.warns(UserWarning, match='torch.compile failed'): y = sc(x)
    assert torch.equal(y, tiny(x)) and 'boom' in sc.failed
    monkeypatch.setattr(fast.shutil, 'which', lambda name: None)                            # no compiler on PATH: plain model, no attempt
    assert not fast.compiler_available() and maybe_compile(tiny) is tiny


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_fast_inference_amp():
    m = _trained_bn(ERFNet(12)).cuda(); x = torch.randn(2, 3, 64, 96, device='cuda')
    fi = FastInference(m, amp='on')
    assert fi.amp and torch.backends.cudnn.benchmark
    with torch.no_grad(): y0 = m(x)
    y1 = fi(x)
    assert (y0.argmax(1) == y1.argmax(1)).float().mean() > 0.99                             # fp16 tolerance: 99% of pixels
    assert (y0 - y1).abs().max() < 0.05 * y0.abs().max()


def test_cuda_paths_stay_off_on_cpu():
    fi = FastInference(ERFNet(3), 'cpu', amp='on')
    assert fi.amp and fi.dtype == torch.bfloat16 and fi.device.type == 'cpu'
    assert amp_dtype('cpu', enabled=False) is None and amp_dtype('cuda') == torch.float16
    assert set_threads(torch.get_num_threads(), interop=3) == torch.get_num_threads()       # interop already fixed: no error


def test_cache_workers_and_disk(tmp_path, one_thread):
    ds = SyntheticScenes(5, size=(24, 32), transform=seg_transforms((24, 32)))
    cds = CachedDataset(ds, num_workers=1, path=tmp_path / 'c.pt')
    for i in range(5):
        assert torch.equal(cds.raw(i)[0], ds.raw(i)[0]) and torch.equal(cds.raw(i)[1], ds.raw(i)[1])
    torch.manual_seed(1); a = ds[2]; torch.manual_seed(1); b = cds[2]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    (tmp_path / 'c.pt').write_bytes((tmp_path / 'c.pt').read_bytes())
    assert torch.equal(CachedDataset(ds, path=tmp_path / 'c.pt').imgs, cds.imgs)
    with pytest.raises(SSLSegError, match='another dataset') as e: CachedDataset(SyntheticScenes(5, size=(24, 32), seed=1), path=tmp_path / 'c.pt')
    assert e.value.path == tmp_path / 'c.pt' and 'delete it' in e.value.fix
    assert cache_dataset(list(range(3))) == [0, 1, 2]                                       # nothing to cache without raw()
    dl = fast_loader(cds, 5, num_workers=1)
    assert dl.persistent_workers
    e1, e2 = next(iter(dl))[0], next(iter(dl))[0]
    assert not torch.equal(e1, e2)                                                          # augmentation differs per epoch


def test_cli_bench_prints_ratios(one_thread):
    from sslseg.run.cli import cli_bench
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli_bench(['--sizes', '32x48', '--batch-size', '2', '--repeats', '1', '--rounds', '1', '--camvid', '', '--workers', '0']) == 0
    out = buf.getvalue()
    import re
    for kind in ('train', 'infer'):                # the chosen levers and their ratio, then every candidate timed, eager among them
        row = next(l for l in out.splitlines() if l.startswith(f'erfnet 32x48 {kind}: chose '))
        assert re.search(r'\d+\.\d\dx eager float32', row), out
    assert len(re.findall(r'^ +eager +[\d.]+ ms +1\.00x', out, re.M)) == 2, out
    assert 'cached' in out and 'rendered' in out


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    "A briefly trained ERFNet on SyntheticScenes (the fast training path, the defaults)."
    from sslseg.train.segment import train_segmentation
    out = tmp_path_factory.mktemp('fast') / 'run'
    with torch.random.fork_rng():
        res = train_segmentation(out=out, size=(64, 80), n_train=160, n_val=16, epochs=8, batch_size=8, lr=2e-3, progress=False, n_show=1)
    assert res['miou'] > 0.1, res                                                           # it learned something: predictions have margins
    return out


def test_trained_model_tolerance(trained_run):
    "The stated tolerance on a trained network: float32 fast path the same class everywhere; the mixed-precision path >= 99% of pixels, mIoU within 0.5 points, logits within 2%."
    from sslseg.bench import agreement
    a = agreement(trained_run, size=(64, 80), n=16)
    f32 = a['fast float32']
    assert f32['agreement'] == 1.0 and f32['logit_rel_err'] < 1e-5, a
    assert abs(f32['miou'] - a['eager float32']['miou']) < 1e-9
    if 'fast bfloat16' in a:
        low = a['fast bfloat16']
        assert low['agreement'] >= 0.99 and low['logit_rel_err'] < 0.02, a
        assert abs(low['miou'] - a['eager float32']['miou']) < 0.005, a


def test_learner_defaults_are_the_fast_path(one_thread):
    "The Learner trains channels_last with autocast to amp_dtype and evaluates on a folded copy; each lever switches off in RunConfig."
    from sslseg.config import RunConfig
    from sslseg.tasks import SegmentationTask
    from sslseg.train.learner import Learner, evaluate
    from sslseg.data.cache import loader_workers
    ds = SyntheticScenes(8, size=(32, 48), transform=seg_transforms((32, 48)))
    val = SyntheticScenes(8, size=(32, 48), split='val', transform=seg_transforms((32, 48), train=False))      # deterministic
    learn = Learner(ERFNet(11), SegmentationTask(11), ds, val, epochs=1, batch_size=4, progress=False, device='cpu', amp='on')
    assert learn.raw_model.encoder.layer3.conv3x1_1.weight.is_contiguous(memory_format=torch.channels_last)
    assert learn.amp_dtype == amp_dtype('cpu') and not learn.scaler.is_enabled()         # bf16 needs no loss scaling
    fi = learn.inference_model()
    assert isinstance(fi, FastInference) and not any(isinstance(k, nn.BatchNorm2d) for k in fi.modules())
    learn.fit()
    res, _ = evaluate(learn.raw_model, SegmentationTask(11), val, batch_size=4, amp='on')     # the same folded, mixed-precision path, same batches
    assert res['miou'] == learn.history[-1]['valid_miou'] and res['loss'] == learn.history[-1]['valid_loss']
    plain = Learner(ERFNet(11), SegmentationTask(11), ds, run=RunConfig(out=None, epochs=1, batch_size=4, progress=False, device='cpu',
                                                                          amp=False, channels_last=False, fold_bn=False))
    assert plain.amp_dtype is None and plain.raw_model.encoder.layer3.conv3x1_1.weight.is_contiguous()
    assert any(isinstance(k, nn.BatchNorm2d) for k in plain.inference_model().modules())
    assert loader_workers(None, 'cpu') == 0 and loader_workers(2, 'cpu') == 2


def test_auto_levers_are_chosen_at_the_first_step_and_kept(one_thread, tmp_path, monkeypatch):
    "amp 'auto': the Learner asks the selector at its first step (stubbed here: no timing in tests), applies the levers and saves them; a resumed run keeps them."
    import sslseg.models.autotune as at
    from sslseg.tasks import SegmentationTask
    from sslseg.train.learner import Learner
    from sslseg.core import load_checkpoint
    asked, losses = [], []
    def stub(kind, model, xb, device=None, fixed=None, **kw):
        asked.append((kind, tuple(xb.shape), fixed)); losses.append(kw.get('loss'))
        lv = {'amp': True, 'channels_last': True, 'fused_adam': False} if kind == 'train' else {'amp': False, 'channels_last': True, 'fold_bn': True}
        return {'levers': lv}
    monkeypatch.setattr(at, 'choose', stub)
    ds = SyntheticScenes(8, size=(64, 80), transform=seg_transforms((64, 80)))
    learn = Learner(ERFNet(11), SegmentationTask(11), ds, ds, epochs=1, batch_size=4, progress=False, device='cpu', out=tmp_path / 'r')
    assert learn.levers is None and learn.raw_model.encoder.layer3.conv3x1_1.weight.is_contiguous()     # nothing decided before a batch is seen
    learn.fit()
    assert asked[0] == ('train', (4, 3, 64, 80), {}) and any(k == 'infer' for k, _, _ in asked)
    l = losses[0](learn.raw_model(torch.rand(4, 3, 64, 80)))                           # training candidates are timed on the run's own loss
    assert l.dim() == 0 and l.requires_grad and l.item() > 0
    assert learn.levers == {'amp': True, 'channels_last': True, 'fused_adam': False} and learn.amp_dtype == torch.bfloat16
    assert learn.raw_model.encoder.layer3.conv3x1_1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not learn.opt.defaults.get('fused')                                               # the foreach Adam the choice asked for
    ck = load_checkpoint(tmp_path / 'r' / 'last.pt')
    assert ck['levers'] == learn.levers and ck['meta']['levers'] == learn.levers
    asked.clear()
    again = Learner(ERFNet(11), SegmentationTask(11), ds, ds, epochs=2, batch_size=4, progress=False, device='cpu', out=tmp_path / 'r', resume=True)
    assert again.levers == learn.levers and not again.opt.defaults.get('fused')              # from last.pt, before any batch
    again.fit(); assert not [a for a in asked if a[0] == 'train']                             # not asked again
    small = Learner(ERFNet(11), SegmentationTask(11), SyntheticScenes(8, size=(32, 48), transform=seg_transforms((32, 48))), epochs=1, batch_size=4,
                    progress=False, device='cpu'); small.fit()
    assert small.levers == {'amp': False, 'channels_last': False, 'fused_adam': False}       # under AUTO_MIN_PIXELS: eager float32, not measured


def test_choose_times_training_on_the_given_loss(one_thread, tmp_path, monkeypatch):
    "choose(loss=...) runs that loss in every training candidate's timed step (a layout-blind proxy chose NCHW on this CPU) and keeps its choice apart in the cache."
    import sslseg.models.autotune as at
    monkeypatch.setenv('SSLSEG_CACHE', str(tmp_path)); at._MEMO.clear()
    calls = []
    def loss(out): calls.append(out.shape); return out.float().square().mean()
    m, x = ERFNet(5), torch.rand(2, 3, 64, 64)
    fake = lambda fns: {k: 1.0 + 0.1 * i for i, k in enumerate(sorted(fns))}         # no timing in tests
    with_loss = at.choose('train', m, x, 'cpu', measure=lambda fns: [f() for f in fns.values()] and fake(fns), loss=loss)
    n = len(at.candidates('train', 'cpu'))
    assert len(calls) == n and all(c == (2, 5, 64, 64) for c in calls), calls            # each candidate's step ran the given loss once
    proxy = at.choose('train', m, x, 'cpu', measure=fake)
    assert with_loss['key'].endswith('|run loss') and proxy['key'] != with_loss['key'] and len(at.read_cache()) == 2


def test_fast_and_eager_training_agree(one_thread):
    "Forty steps (lr 2e-3) of the main job's recipe on the fast path (bf16 where the CPU has it, channels_last) and the plain eager path: the same loss curve within bf16 noise."
    from sslseg.tasks import SegmentationTask
    from sslseg.train.learner import Learner
    from sslseg.config import RunConfig
    ds = SyntheticScenes(80, size=(48, 64), transform=seg_transforms((48, 64)))
    losses = {}
    for name, kw in {'fast': {}, 'eager': dict(amp=False, channels_last=False, fold_bn=False)}.items():
        torch.manual_seed(0)
        learn = Learner(ERFNet(11), SegmentationTask(11, 255), ds, lr=2e-3, run=RunConfig(out=None, epochs=4, batch_size=8, progress=False, device='cpu', **kw))
        losses[name] = [h['train_loss'] for h in learn.fit()]
    f, e = losses['fast'], losses['eager']
    assert f[-1] < 0.9 * f[0] and e[-1] < 0.9 * e[0], losses                              # both learn
    assert all(abs(a - b) < 0.05 * b for a, b in zip(f, e)), losses                         # and follow the same curve


def test_val_every_validates_every_kth_and_the_last_epoch(one_thread, tmp_path):
    "run.val_every=2 over 5 epochs validates after epochs 2, 4 and 5; best.pt is the best validated epoch; the metrics come from it."
    from sslseg.train.segment import train_segmentation
    r = train_segmentation(data='synthetic', size=(32, 48), n_train=8, n_val=4, epochs=5, batch_size=4, out=tmp_path / 'r', progress=False,
                           val_every=2, n_show=0)
    rows = list(csv.DictReader(open(tmp_path / 'r' / 'log.csv')))
    assert [bool(x['valid_miou']) for x in rows] == [False, True, False, True, True]
    best = max((x for x in rows if x['valid_miou']), key=lambda x: float(x['valid_miou']))
    assert r['best_epoch'] == int(best['epoch']) and r['epochs_run'] == 5


def test_a_redirected_log_has_one_plain_line_per_epoch(tmp_path):
    "`sslseg train > log.txt`: no tqdm escape codes or bars in the file, one line per epoch with its numbers."
    import subprocess, sys, os
    log = tmp_path / 'log.txt'
    with open(log, 'w') as f:
        r = subprocess.run([sys.executable, '-c', 'import sys; from sslseg.run.cli import main; sys.exit(main())', 'train', '--out', str(tmp_path / 'r'),
                            '--epochs', '2', '--size', '32', '48', '--set', 'data.n_train=8', '--set', 'data.n_val=4'],
                           stdout=f, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS='1'))
    text = log.read_text()
    assert r.returncode == 0, text[-800:]
    assert '\x1b' not in text and '\r' not in text, repr(text[:400])
    epochs = [l for l in text.splitlines() if l.startswith('epoch ')]
    assert [l.split()[1] for l in epochs] == ['1/2', '2/2'] and all('train_loss' in l and 'valid_miou' in l for l in epochs), text


def test_tensorboard_events_are_written_and_read_back(tmp_path):
    "run.tensorboard: event files under OUT/tb with the epoch scalars, the learning rate and the prediction images, readable by TensorBoard."
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from sslseg.train.segment import train_segmentation
    train_segmentation(data='synthetic', size=(32, 48), n_train=8, n_val=4, epochs=2, batch_size=4, out=tmp_path / 'r', progress=False,
                       tensorboard=True, n_show=2)
    ea = EventAccumulator(str(tmp_path / 'r' / 'tb')); ea.Reload()
    tags = ea.Tags()
    assert {'train/loss', 'valid/miou', 'lr'} <= set(tags['scalars']) and 'predictions' in tags['images'], tags
    assert [e.step for e in ea.Scalars('valid/miou')] == [2, 4]                               # 2 steps an epoch
