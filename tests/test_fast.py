"""Fast paths (sslseg.models.fast, sslseg.data.cache, sslseg bench): same predictions as eager within the stated tolerance,
levers that can be switched off, a clean fallback without a compiler or a GPU."""
import contextlib, copy, io, warnings
import pytest
import torch
from torch import nn
import torch.nn.functional as F
from sslseg.core import SSLSegError
from sslseg.models import build_backbone
from sslseg.models.erfnet import ERFNet
from sslseg.models import fast
from sslseg.models.fast import (FastInference, FoldedDownsampler, SafeCompiled, fast_adam, fast_inference, fold_bn, maybe_compile,
                                prepare_train, set_threads, to_channels_last)
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
    y1 = FastInference(m)(x)
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
    plain = FastInference(m, fold=False, channels_last=False)
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
    fi = FastInference(m)
    assert fi.amp and torch.backends.cudnn.benchmark
    with torch.no_grad(): y0 = m(x)
    y1 = fi(x)
    assert (y0.argmax(1) == y1.argmax(1)).float().mean() > 0.99                             # fp16 tolerance: 99% of pixels
    assert (y0 - y1).abs().max() < 0.05 * y0.abs().max()


def test_cuda_paths_stay_off_on_cpu():
    fi = FastInference(ERFNet(3), 'cpu')
    assert not fi.amp and fi.device.type == 'cpu'
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
    row = next(l for l in out.splitlines() if l.startswith('erfnet'))
    import re
    assert '32x48' in row and len(re.findall(r'\d+\.\d\dx', row)) == 2, out                      # two ratios: train and inference
    assert 'cached' in out and 'rendered' in out
