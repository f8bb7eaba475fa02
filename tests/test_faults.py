"""Faults a user meets (issue 19): finished results are never replaced, disk faults are one-line errors before any work."""
import os, subprocess, sys
import pytest
from sslseg.core import SSLSegError
from sslseg.train.pretrain import pretrain

TINY = ['--size', '32', '48', '--set', 'data.n_train=8', '--set', 'data.n_val=4', '--quiet']

def _cli(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-c', 'import sys; from sslseg.run.cli import main; sys.exit(main())', *args], capture_output=True, text=True, env=env)

def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-800:])
    assert 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words: assert w in r.stderr, (w, r.stderr)

def test_pretrain_never_replaces_a_finished_run(tmp_path):
    out = tmp_path / 'rot'
    pretrain('rotation', out=out, steps=2, batch_size=4, size=(32, 32), n=8, progress=False, task_options={'size': 32})
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(SSLSegError, match='finished run'):
        pretrain('rotation', out=out, steps=2, batch_size=4, size=(32, 32), n=8, progress=False, task_options={'size': 32})
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before

@pytest.mark.parametrize('job', ['train', 'pretrain'])
def test_out_that_is_a_file_is_one_line(tmp_path, job):
    f = tmp_path / 'results.txt'; f.write_text('keep me')
    r = _cli(job, '--out', str(f), '--epochs', '1', *TINY)
    _one_line_error(r, 'is a file', '--out')
    assert f.read_text() == 'keep me'

def test_out_under_a_file_is_one_line(tmp_path):
    f = tmp_path / 'results.txt'; f.write_text('keep me')
    _one_line_error(_cli('train', '--out', str(f / 'run'), '--epochs', '1', *TINY), 'cannot write into the output folder')

def test_pretrain_into_a_finished_folder_is_one_line(tmp_path):
    args = ['pretrain', '--task', 'rotation', '--steps', '2', '--batch-size', '4', '--out', str(tmp_path / 'p'), *TINY]
    assert _cli(*args).returncode == 0
    _one_line_error(_cli(*args), 'finished run', '--resume')

def test_resume_without_a_run_is_one_line(tmp_path):
    _one_line_error(_cli('train', '--out', str(tmp_path / 'new'), '--resume', '--epochs', '1', *TINY), 'nothing to resume', '--resume')
    assert not (tmp_path / 'new' / 'metrics.json').exists()

def test_kt_finetune_refuses_a_finished_folder_before_writing(tmp_path):
    from sslseg.tune.mixmatch import finetune
    from sslseg.core import atomic_json
    out = tmp_path / 'ft'; atomic_json({'miou': 0.5}, out / 'metrics.json')
    with pytest.raises(SSLSegError, match='finished run') as e: finetune(tmp_path / 'any.pt', out=out)
    assert '--resume' not in str(e.value)                          # kt has no --resume: the fix names what the user can do
    assert sorted(p.name for p in out.iterdir()) == ['metrics.json']   # init_encoder.pt not written

def test_eval_and_analyze_never_replace_a_runs_files(tmp_path):
    run = tmp_path / 'run'
    assert _cli('train', '--out', str(run), '--epochs', '1', *TINY).returncode == 0
    before = (run / 'metrics.json').read_bytes()
    _one_line_error(_cli('eval', str(run), '--out', str(run / 'metrics.json'), '--size', '32', '48', '--set', 'data.n_val=4'), 'belongs to the run', '--out')
    _one_line_error(_cli('analyze', 'filters', '--model', f'ft={run}/last.pt', '--out', str(run / 'metrics')), 'belongs to the run')
    assert (run / 'metrics.json').read_bytes() == before
    r = _cli('eval', str(run), '--size', '32', '48', '--set', 'data.n_val=4')     # its own file beside the run
    assert r.returncode == 0 and (run / 'eval_synthetic_val_32x48.json').is_file(), r.stderr[-500:]
