"`pretrain` / `sslseg pretrain`: a tiny end-to-end run writes transfer-ready checkpoints, PARAM-AT-N snapshots and a log; bad options are SSLSegErrors."
import csv, json
import pytest, torch
from sslseg.core import SSLSegError
from sslseg.train import pretrain, make_task, pretext_dataset
from sslseg.tasks import TASKS
from sslseg.run.cli import cli_pretrain, parse_opts


def test_tiny_run(tmp_path):
    out = tmp_path / 'run'
    res = pretrain('jigsaw', data='synthetic', n=8, size=(48, 64), steps=4, batch_size=4, out=out, snapshots=(1, 3), progress=False,
                   n_perms=12, crop_size=48, tile=14, hidden=32)
    assert res['step'] == 4 and res['epoch'] == 2                # 8 images, batch 4: 2 steps per epoch
    ck = torch.load(out / 'last.pt', weights_only=True)
    meta = ck['meta']
    assert meta['task']['name'] == 'jigsaw' and meta['task']['config']['n_perms'] == 12
    assert meta['backbone']['arch'] == 'erfnet' and meta['backbone_prefix'] == 'backbone.'
    assert (meta['step'], meta['epoch']) == (4, 2)
    assert meta['pretrain']['data']['name'] == 'synthetic' and meta['pretrain']['snapshots'] == [1, 3]
    for s in (1, 3):
        sn = torch.load(out / 'snapshots' / f'param_at_{s}.pt', weights_only=True)
        assert sn['meta']['step'] == s and sn['meta']['task'] == meta['task']
    assert sorted(p.name for p in (out / 'snapshots').iterdir()) == ['param_at_1.pt', 'param_at_3.pt']
    k = 'backbone.encoder.layer1.conv.weight'
    s1 = torch.load(out / 'snapshots' / 'param_at_1.pt', weights_only=True)['model']
    assert not torch.equal(s1[k], ck['model'][k])               # a snapshot is a copy, not the final weights
    rows = list(csv.DictReader(open(out / 'log.csv')))
    assert len(rows) == 2 and {'train_loss', 'train_acc', 'epoch', 'step'} <= set(rows[0])
    assert json.load(open(out / 'summary.json'))['final_loss'] == pytest.approx(float(rows[-1]['train_loss']))
    # the backbone's weights load strictly into a backbone rebuilt from the meta
    from sslseg.models import backbone_from_config
    p = meta['backbone_prefix']
    fresh = backbone_from_config(meta['backbone'])
    fresh.load_state_dict({k[len(p):]: v for k, v in ck['model'].items() if k.startswith(p)})


def test_cli_run_and_summary_line(tmp_path, capsys):
    rc = cli_pretrain(['--task', 'rotation', '--data', 'synthetic', '--n', '6', '--size', '40', '40', '--steps', '2', '--batch-size', '3',
                       '--out', str(tmp_path / 'r'), '--opt', 'size=32', '--opt', 'augment=false', '--opt', 'hidden=16', '--quiet'])
    assert rc == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith('pretrain rotation') and 'final loss' in line and 'acc' in line
    cfg = torch.load(tmp_path / 'r' / 'last.pt', weights_only=True)['meta']['task']['config']
    assert (cfg['size'], cfg['augment'], cfg['hidden']) == (32, False, 16)


def test_help_lists_tasks(capsys):
    with pytest.raises(SystemExit): cli_pretrain(['--help'])
    txt = capsys.readouterr().out
    for n in ['rotation', 'jigsaw', 'jigsaw++', 'fcn_jigsaw', 'relative_patch']: assert n in txt


def test_bad_options(tmp_path):
    with pytest.raises(SSLSegError, match='valid options: n_perms'): make_task('jigsaw', n_perm=10)
    with pytest.raises(SSLSegError, match='unknown task'): make_task('jigsw')
    with pytest.raises(SSLSegError, match='valid options'):
        cli_pretrain(['--task', 'rotation', '--steps', '1', '--out', str(tmp_path / 'a'), '--opt', 'bogus=3'])
    with pytest.raises(SSLSegError, match='key=value'):
        cli_pretrain(['--task', 'rotation', '--steps', '1', '--out', str(tmp_path / 'a'), '--opt', 'bogus'])
    with pytest.raises(SSLSegError, match='exactly one'): pretrain('rotation', steps=None, out=tmp_path / 'a', progress=False)
    with pytest.raises(SSLSegError, match='exactly one'): pretrain('rotation', steps=2, epochs=1, out=tmp_path / 'a', progress=False)
    with pytest.raises(SSLSegError, match='after the last training step'):
        pretrain('rotation', n=4, size=(32, 32), steps=2, batch_size=2, snapshots=(3,), out=tmp_path / 'a', progress=False)
    with pytest.raises(SSLSegError, match='unknown data'): pretext_dataset('imagenet')
    with pytest.raises(SSLSegError): pretrain('rotation', data='folder', root=tmp_path / 'missing', steps=1, out=tmp_path / 'a', progress=False)
    with pytest.raises(SSLSegError): pretrain('rotation', backbone='lenet', n=4, steps=1, out=tmp_path / 'a', progress=False)
    with pytest.raises(SSLSegError, match='exactly one'): cli_pretrain(['--task', 'rotation', '--steps', '1', '--epochs', '1', '--out', str(tmp_path / 'a')])
    assert not (tmp_path / 'a').exists()                         # nothing written by a refused run


def test_parse_opts():
    assert parse_opts(['n_perms=1000', 'augment=false', 'scale=[0.3,1]', 'name=abc', 'flip=False', 'min-hamming=None']) == \
        {'n_perms': 1000, 'augment': False, 'scale': [0.3, 1], 'name': 'abc', 'flip': False, 'min_hamming': None}


def test_folder_data(tmp_path):
    from PIL import Image
    import numpy as np
    (tmp_path / 'imgs' / 'sub').mkdir(parents=True)
    for i in range(5): Image.fromarray((np.random.rand(30, 40, 3) * 255).astype('uint8')).save(tmp_path / 'imgs' / 'sub' / f'{i}.png')
    ds = pretext_dataset('folder', tmp_path / 'imgs', size=(32, 32))
    assert len(ds) == 5 and ds[0].shape == (3, 32, 32) and 0 <= ds[0].min() and ds[0].max() <= 1
    res = pretrain('relative_patch', data='folder', root=tmp_path / 'imgs', size=(32, 32), steps=1, batch_size=4, out=tmp_path / 'o',
                   progress=False, crop_size=48, tile=14, hidden=16)
    assert res['step'] == 1 and (tmp_path / 'o' / 'last.pt').is_file()
