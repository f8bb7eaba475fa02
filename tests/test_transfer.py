"""Transfer from real pretext checkpoints (`pretrain`): exactly which tensors change and which stay for each mode; bad input is a one-line error."""
import copy, json
import pytest
import torch
from torch import nn
from sslseg.core import SSLSegError, save_checkpoint, load_checkpoint
from sslseg.models.backbones import build_backbone
from sslseg.tasks import SegmentationTask
from sslseg.data import get_dataset
from sslseg.train.learner import Learner
from sslseg.train.pretrain import pretrain
from sslseg.transfer import (TransferSpec, apply_transfer, load_parts, read_source, parse_units, Intermediary, FrozenBN,
                             conv_bn_pairs, map_energy, out_dim, sparsity)
from sslseg.run.transfer_cli import cli_eval, add_transfer_args, transfer_spec_from_args

@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    "Rotation and Otsu checkpoints from two real pretraining steps each (tiny synthetic images)."
    d = tmp_path_factory.mktemp('pre')
    torch.set_num_threads(1)
    for task in ('rotation', 'otsu'):
        pretrain(task, backbone='erfnet', data='synthetic', steps=2, batch_size=4, size=(32, 32), out=d / task, n=8, progress=False, device='cpu')
    return {t: str(d / t / 'last.pt') for t in ('rotation', 'otsu')}

def layer(k): return int(k.split('.')[1][5:])

def fresh(seed=0, n=11):
    torch.manual_seed(seed); return build_backbone('erfnet', num_classes=n)

def check(model, before, expect):
    "expect(layer number, key) -> tensor the key must equal, or None: must differ from before."
    for k, v in model.state_dict().items():
        e = expect(layer(k), k)
        if e is None:
            if k.endswith('conv3x1_1.weight') or k.endswith('conv.weight'): assert not torch.equal(v, before[k]), k
        else: assert torch.equal(v, e), k

def test_rotation_encoder_otsu_decoder(ckpts, one_thread):
    rot, ot = read_source(ckpts['rotation']), read_source(ckpts['otsu'])
    m = fresh(); before = copy.deepcopy(m.state_dict())
    r = apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], decoder=ckpts['otsu']))
    check(m, before, lambda n, k: rot.state[k] if n <= 16 else ot.state[k] if n <= 22 else before[k])
    d = r.to_dict()
    assert d['units']['layer23']['loaded'] == 0 and 'class count differs' in d['units']['layer23']['skipped'][0][1]
    assert d['units']['layer5']['source'] == ckpts['rotation'] and json.dumps(d)

@pytest.mark.parametrize('reset', ['13-16', '8-16'])
def test_layer_range_with_reset(ckpts, reset, one_thread):
    rot = read_source(ckpts['rotation']); lo = int(reset.split('-')[0])
    m = fresh(); before = copy.deepcopy(m.state_dict())
    apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], reset=reset))
    check(m, before, lambda n, k: rot.state[k] if n < lo else before[k] if n > 16 else None)
    for k, v in m.state_dict().items():   # reset layers are new, not the checkpoint's
        if lo <= layer(k) <= 16 and k.endswith('weight') and 'bn' not in k: assert not torch.equal(v, rot.state[k]), k

def test_layers_from_two_checkpoints(ckpts, one_thread):
    rot, ot = read_source(ckpts['rotation']), read_source(ckpts['otsu'])
    m = fresh(); before = copy.deepcopy(m.state_dict())
    apply_transfer(m, TransferSpec(layers={'1-12': ckpts['rotation'], '13-16': ckpts['otsu']}))
    check(m, before, lambda n, k: rot.state[k] if n <= 12 else ot.state[k] if n <= 16 else before[k])

def test_reset_bn(ckpts, one_thread):
    rot = read_source(ckpts['rotation'])
    m = fresh(); apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], reset_bn='all'))
    for k, v in m.state_dict().items():
        if layer(k) > 16: continue
        if 'running_mean' in k or k.endswith('bn.bias') or k.endswith(('bn1.bias', 'bn2.bias')): assert (v == 0).all(), k
        elif 'running_var' in k or k.endswith(('bn.weight', 'bn1.weight', 'bn2.weight')): assert (v == 1).all(), k
        elif 'num_batches' not in k: assert torch.equal(v, rot.state[k]), k

def _fit(model, cbs, epochs=1, steps=None):
    ds = get_dataset('synthetic', None, 'train', size=(32, 48), n=8)
    learn = Learner(model, SegmentationTask(ds.num_classes, ds.ignore_index), ds, epochs=epochs, max_steps=steps, batch_size=4,
                    device='cpu', progress=False, cbs=cbs, amp=False)
    learn.fit(); return learn

def test_yang_block3_frozen_bit_identical(ckpts, one_thread):
    "Yang's block12 frozen = setting block345: blocks 1-2 (layers 1-7) bit-identical, weights and BN statistics, after an epoch."
    m = fresh(); r = apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], learn_blocks='block345'))
    before = copy.deepcopy(m.state_dict())
    assert {type(c) for c in r.callbacks} == {FrozenBN}
    _fit(m, r.callbacks)
    for k, v in m.state_dict().items():
        if layer(k) <= 7: assert torch.equal(v, before[k]), k
        elif 'running_mean' in k: assert not torch.equal(v, before[k]), k

def test_frozen_bn_before_train(ckpts, one_thread):
    "The callback also works through the lead's before_train hook (called right after model.train())."
    m = fresh(); r = apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], learn_blocks='block5'))
    cb = r.callbacks[0]; cb.learn = type('L', (), {'raw_model': m})()
    m.train(); cb.before_train()
    assert not m.encoder.layer3.bn1.training and m.decoder.layer18.bn1.training

def test_intermediary_adds_param_group(ckpts, one_thread):
    m = fresh(); r = apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], unfreeze_epoch=2))
    inter = next(c for c in r.callbacks if isinstance(c, Intermediary))
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    learn = type('L', (), dict(raw_model=m, model=m, opt=opt, epoch=0))()
    inter.learn = learn; inter.before_fit()
    assert all(not p.requires_grad for n, p in m.named_parameters() if n.startswith('encoder.'))
    learn.epoch = 1; inter.before_epoch(); assert len(opt.param_groups) == 1
    learn.epoch = 2; inter.before_epoch()
    assert len(opt.param_groups) == 2 and len(opt.param_groups[1]['params']) == sum(1 for n, _ in m.named_parameters() if n.startswith('encoder.'))
    assert all(p.requires_grad for p in m.parameters())

def test_energy_kaiming_exact_maps(ckpts, one_thread):
    m0 = fresh(); apply_transfer(m0, TransferSpec(encoder=ckpts['rotation'])); before = copy.deepcopy(m0.state_dict())
    m = fresh(); apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], energy_keep=0.75))
    sd = m.state_dict()
    for name, conv, bn in conv_bn_pairs(m):
        w0 = before[name + '.weight']; d = out_dim(conv); n = w0.shape[d]
        order = w0.abs().transpose(0, d).flatten(1).sum(1).argsort(descending=True, stable=True); keep = round(.75 * n)
        if layer(name) > 16: assert torch.equal(sd[name + '.weight'], w0); continue
        assert torch.equal(sd[name + '.weight'].index_select(d, order[:keep]), w0.index_select(d, order[:keep])), name
        assert (sd[name + '.bias'][order[keep:]] == 0).all()

def test_lotto_masks_zero_after_steps_and_export(ckpts, tmp_path, one_thread):
    m = fresh(); r = apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], prune_amount=0.5))
    masks = r.callbacks[0].masks
    learn = _fit(m, r.callbacks, epochs=3, steps=5)
    assert learn.step == 5
    for n, k in masks.items(): assert (m.get_parameter(n)[~k] == 0).all(), n
    assert abs(sparsity(m, parse_units(m, 'encoder'))['total'] - 0.5) < 1e-3
    save_checkpoint(tmp_path / 'p.pt', m)
    plain = fresh(1); load_checkpoint(tmp_path / 'p.pt', plain)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in plain.state_dict().items())
    copy.deepcopy(m)

@pytest.mark.parametrize('spec,words', [
    (dict(layers={'0-12': 'R'}), 'outside 1-23'),
    (dict(layers={'20-30': 'R'}), 'outside 1-23'),
    (dict(encoder='R', learn_blocks='block6'), 'unknown block setting'),
    (dict(encoder='R', freeze='stage3'), 'unknown layer/block'),
    (dict(encoder='R', prune_amount=1.0), 'prune_amount must lie in (0, 1)'),
    (dict(encoder='R', prune_amount=0.0), 'prune_amount must lie in (0, 1)'),
    (dict(encoder='R', energy_keep=1.2), 'energy_keep must lie in (0, 1)'),
    (dict(encoder='R', layers={'16-18': 'O'}), 'layer16 has two sources'),
    (dict(init='R', encoder='O'), 'two sources'),
])
def test_bad_input_one_line(ckpts, spec, words, one_thread):
    spec = {k: ({r: ckpts['rotation' if c == 'R' else 'otsu'] for r, c in v.items()} if isinstance(v, dict)
                else ckpts['rotation'] if v == 'R' else ckpts['otsu'] if v == 'O' else v) for k, v in spec.items()}
    m = fresh(); before = copy.deepcopy(m.state_dict())
    with pytest.raises(SSLSegError) as e: apply_transfer(m, TransferSpec(**spec))
    msg = str(e.value)
    assert words in msg and '\n' not in msg and 'fix:' in msg
    if 'two sources' in words or 'outside' in words:   # checked before any tensor is copied
        assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())

def test_other_backbone_checkpoint(tmp_path, one_thread):
    mn = build_backbone('mobilenetv2_fcn'); save_checkpoint(tmp_path / 'mn.pt', mn, meta=dict(backbone=dict(mn.config), backbone_prefix=''))
    with pytest.raises(SSLSegError, match="holds a 'mobilenetv2_fcn' backbone, the model is 'erfnet'"):
        apply_transfer(fresh(), TransferSpec(encoder=str(tmp_path / 'mn.pt')))

def test_rotation_decoder_is_an_error(ckpts, one_thread):
    "A rotation head sits on the encoder: the checkpoint's decoder is untrained, so asking for it fails instead of loading noise."
    with pytest.raises(SSLSegError, match='holds no trained weights for layer17'): load_parts(fresh(), ckpts['rotation'], 'decoder')

def test_cli_flags_to_spec(ckpts):
    import argparse
    ns = add_transfer_args(argparse.ArgumentParser()).parse_args(['--encoder', ckpts['rotation'], '--unfreeze-epoch', '40', '--energy-keep', '0.9', '--energy-fill', ckpts['otsu']])
    s = transfer_spec_from_args(ns)
    assert s == TransferSpec(encoder=ckpts['rotation'], unfreeze_epoch=40, energy_keep=0.9, energy_fill=ckpts['otsu'])
    assert TransferSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s

def test_cli_eval_writes_and_keeps_on_error(ckpts, tmp_path, capsys, one_thread):
    run = tmp_path / 'run'; run.mkdir(); save_checkpoint(run / 'best.pt', fresh())
    assert cli_eval([str(run), '--split', 'val', '--size', '32', '48', '--n-val', '3']) == 0
    out = run / 'eval_synthetic_val_32x48.json'; res = json.loads(out.read_text())
    assert set(res) >= {'miou', 'iou', 'pixel_acc'} and len(res['iou']) == 11 and res['checkpoint'].endswith('best.pt')
    assert 'val mIoU' in capsys.readouterr().out
    text = out.read_text()
    with pytest.raises(SSLSegError, match='not a segmentation checkpoint'):
        cli_eval([ckpts['rotation'], '--size', '32', '48', '--n-val', '3', '--out', str(out)])
    assert out.read_text() == text


def test_lotto_with_frozen_blocks_and_intermediary(ckpts, one_thread):
    "Masks hold on frozen parameters and on parameters unfrozen by the intermediary stage."
    m = fresh(); r = apply_transfer(m, TransferSpec(encoder=ckpts['rotation'], learn_blocks='block345', unfreeze_epoch=1, prune_amount=0.5))
    masks = next(c for c in r.callbacks if hasattr(c, 'masks')).masks
    before = copy.deepcopy(m.state_dict())
    _fit(m, r.callbacks, epochs=2)
    for n, k in masks.items():
        p = m.get_parameter(n); assert (p[~k] == 0).all(), n
        if layer(n) <= 7: assert torch.equal(p, before[n]), n
        else: assert not torch.equal(p, before[n]), n

def test_resume_after_the_intermediary_stage_unfroze(tmp_path):
    "A run whose last.pt was written after the encoder was unfrozen resumes with both parameter groups."
    import json
    from sslseg.train import train_segmentation
    from sslseg.core import load_checkpoint
    kw = dict(data='synthetic', n_train=8, n_val=4, size=(32, 48), batch_size=4, workers=0, progress=False, transfer={'unfreeze_epoch': 1})
    train_segmentation(out=tmp_path / 'b', epochs=2, **kw)              # a 2-epoch run: its last.pt is after the unfreezing
    ck = load_checkpoint(tmp_path / 'b' / 'last.pt')
    assert len(ck['optimizer']['param_groups']) == 2 and ck['callbacks']['Intermediary'] == {'unfrozen': True}
    (tmp_path / 'b' / 'metrics.json').unlink()
    from sslseg.config import load_config
    cfg = load_config(tmp_path / 'b' / 'config.yaml')
    cfg.run.epochs, cfg.run.resume = 3, True
    b = train_segmentation(cfg)
    assert b['epochs_run'] == 3 and len(json.load(open(tmp_path / 'b' / 'metrics.json'))['config']) > 0
