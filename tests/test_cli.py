"""The CLI answers bad input with one line naming the problem, the file and the fix (exit code 2, no traceback)."""
import json, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image

def sslseg(*args, timeout=300):
    exe = shutil.which('sslseg') or str(Path(sys.executable).parent / 'sslseg')
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=timeout)

def fake_camvid(root: Path, n_train=4, n_val=2, h=40, w=56):
    "A CamVid tree in the SegNet layout with tiny random images and labels 0-11 (11 = void)."
    rng = np.random.default_rng(0)
    for split, n in (('train', n_train), ('val', n_val)):
        (root / split).mkdir(parents=True); (root / f'{split}annot').mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / split / f'f{i}.png')
            Image.fromarray(rng.integers(0, 12, (h, w), dtype=np.uint8)).save(root / f'{split}annot' / f'f{i}.png')
    return root

TRAIN = ['train', '--data', 'camvid', '--epochs', '1', '--batch-size', '2', '--quiet']

def assert_one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    lines = [l for l in r.stderr.splitlines() if l.strip() and 'Warning' not in l]
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    for w in words: assert w in lines[0], (w, lines[0])
    assert 'fix' in lines[0]

def test_fake_camvid_trains(tmp_path):
    root = fake_camvid(tmp_path / 'cv')
    r = sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'out', '--workers', '0')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.load(open(tmp_path / 'out' / 'metrics.json'))
    assert len(m['iou']) == 11 and 'Unlabelled' not in m['iou'] and m['n_val'] == 2

def test_missing_root(tmp_path):
    assert_one_line_error(sslseg(*TRAIN, '--root', tmp_path / 'nowhere', '--out', tmp_path / 'o'), str(tmp_path / 'nowhere'))

def test_image_without_mask(tmp_path):
    root = fake_camvid(tmp_path / 'cv'); (root / 'trainannot' / 'f1.png').unlink()
    assert_one_line_error(sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o'), 'f1.png')

def test_mask_without_image(tmp_path):
    root = fake_camvid(tmp_path / 'cv'); (root / 'train' / 'f2.png').unlink()
    assert_one_line_error(sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o'), 'f2.png')

@pytest.mark.parametrize('workers', [0, 2])
def test_mask_size_mismatch(tmp_path, workers):
    root = fake_camvid(tmp_path / 'cv')
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(root / 'trainannot' / 'f0.png')
    assert_one_line_error(sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o', '--workers', workers), 'f0.png')

def test_label_out_of_range(tmp_path):
    root = fake_camvid(tmp_path / 'cv')
    Image.fromarray(np.full((40, 56), 37, np.uint8)).save(root / 'valannot' / 'f1.png')
    assert_one_line_error(sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o'), 'f1.png', '37')

def test_corrupt_image(tmp_path):
    root = fake_camvid(tmp_path / 'cv'); (root / 'train' / 'f3.png').write_bytes(b'\x89PNG broken')
    assert_one_line_error(sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o'), 'f3.png')

def test_empty_split(tmp_path):
    root = fake_camvid(tmp_path / 'cv', n_val=0)
    assert_one_line_error(sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o'), 'val')

def test_grayscale_and_rgba_images_are_converted(tmp_path):
    root = fake_camvid(tmp_path / 'cv')
    Image.fromarray(np.zeros((40, 56), np.uint8)).save(root / 'train' / 'f0.png')
    Image.fromarray(np.zeros((40, 56, 4), np.uint8)).save(root / 'train' / 'f1.png')
    r = sslseg(*TRAIN, '--root', root, '--out', tmp_path / 'o', '--workers', '0')
    assert r.returncode == 0, r.stderr[-2000:]

def test_checkpoint_from_other_architecture(tmp_path):
    from sslseg.core import save_checkpoint
    m = torch.nn.Conv2d(3, 3, 1); m.config = {'arch': 'alexnet_fcn'}
    save_checkpoint(tmp_path / 'other.pt', m)
    r = sslseg('train', '--epochs', '1', '--size', '32', '48', '--n-train', '4', '--n-val', '2', '--quiet',
               '--init', tmp_path / 'other.pt', '--out', tmp_path / 'o')
    assert_one_line_error(r, 'other.pt', 'alexnet_fcn')

def test_bad_results_are_not_overwritten(tmp_path):
    "A run that fails on bad input leaves an earlier run's results in the same folder intact."
    out = tmp_path / 'o'; out.mkdir(); (out / 'metrics.json').write_text('{"miou": 0.5}')
    root = fake_camvid(tmp_path / 'cv'); (root / 'val' / 'f0.png').write_bytes(b'junk')
    assert sslseg(*TRAIN, '--root', root, '--out', out).returncode == 2
    assert json.load(open(out / 'metrics.json')) == {'miou': 0.5}

def test_zero_batch_and_zero_epochs_are_one_line_errors(tmp_path):
    for flag, fix in (('--batch-size', '--batch-size 8'), ('--epochs', '--epochs 1')):
        r = sslseg('train', '--n-train', '4', '--n-val', '2', '--size', '32', '48', flag, '0', '--out', tmp_path / 'o', '--quiet')
        assert_one_line_error(r, fix)
        assert not (tmp_path / 'o').exists()

def test_config_file_reproduces_and_unknown_key_is_one_line(tmp_path):
    base = ['train', '--n-train', '6', '--n-val', '2', '--size', '32', '48', '--epochs', '1', '--batch-size', '3', '--workers', '0', '--quiet']
    assert sslseg(*base, '--out', tmp_path / 'a').returncode == 0
    r = sslseg('train', '--config', tmp_path / 'a' / 'config.yaml', '--out', tmp_path / 'b', '--quiet')
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = (json.load(open(tmp_path / x / 'metrics.json')) for x in 'ab')
    assert a['miou'] == b['miou'] and a['iou'] == b['iou']
    (tmp_path / 'bad.yaml').write_text('optim:\n  lrr: 0.1\n')
    assert_one_line_error(sslseg('train', '--config', tmp_path / 'bad.yaml', '--out', tmp_path / 'c'), "'optim.lrr'", 'bad.yaml')

def _flags(text: str) -> set:
    import re
    return set(re.findall(r'(?<![\w-])--[a-z][a-z0-9-]*', text))

def test_every_flag_named_in_the_library_exists():
    "Each `--flag` that an SSLSegError text (problem or fix) in sslseg/ names is accepted by some sslseg subcommand."
    import ast, contextlib, io
    import sslseg
    from sslseg.run.cli import COMMANDS, main
    known = set()
    for cmd in COMMANDS:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), pytest.raises(SystemExit): main([cmd, '--help'])
        known |= _flags(buf.getvalue())
    external = {'--nproc-per-node', '--flags', '--runslow', '--help'}   # torchrun, nbdev_test, pytest
    named, n_errors = {}, 0
    for f in Path(sslseg.__file__).parent.rglob('*.py'):
        for call in ast.walk(ast.parse(f.read_text())):
            if not (isinstance(call, ast.Call) and getattr(call.func, 'id', getattr(call.func, 'attr', None)) == 'SSLSegError'): continue
            n_errors += 1
            for node in ast.walk(call):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    for fl in _flags(node.value): named.setdefault(fl, f.name)
    assert n_errors > 100 and len(named) > 10, (n_errors, named)     # the scan really reads the error texts
    missing = {fl: where for fl, where in named.items() if fl not in known | external}
    assert not missing, missing

def test_sigkill_then_resume_gives_the_same_metrics(tmp_path):
    "A run killed with SIGKILL after its first epoch and resumed ends with the metrics of an uninterrupted run."
    import os, signal, time
    base = ['train', '--n-train', '12', '--n-val', '4', '--size', '32', '48', '--epochs', '3', '--batch-size', '4', '--workers', '2', '--quiet']
    assert sslseg(*base, '--out', tmp_path / 'straight').returncode == 0
    exe = shutil.which('sslseg') or str(Path(sys.executable).parent / 'sslseg')
    p = subprocess.Popen([exe, *base, '--out', str(tmp_path / 'killed')], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last, t0 = tmp_path / 'killed' / 'last.pt', time.time()
    while not last.exists() and p.poll() is None and time.time() - t0 < 240: time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    assert not (tmp_path / 'killed' / 'metrics.json').exists()
    r = sslseg(*base, '--out', tmp_path / 'killed', '--resume')
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = (json.load(open(tmp_path / x / 'metrics.json')) for x in ('straight', 'killed'))
    assert a['miou'] == b['miou'] and a['iou'] == b['iou']
    assert a['resumed_at_epoch'] is None and b['resumed_at_epoch'] >= 1            # the resumed run says where it picked up
    import csv
    logged = sum(float(row['time']) for row in csv.DictReader(open(tmp_path / 'killed' / 'log.csv')))
    assert b['train_seconds'] >= 0.95 * logged   # its time counts the epochs before the kill too, not only those after the resume
