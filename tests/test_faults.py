"""Faults a user meets (issue 19): finished results are never replaced, disk faults are one-line errors before any work."""
import csv, json, os, subprocess, sys
from pathlib import Path
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


# --- exact resume at every kill point: a kill is injected at each file write of an epoch, not timed ---
class Killed(BaseException): "A SIGKILL stand-in: no handler in the package catches it."

def _killing_writes(monkeypatch, at: int):
    "Make the `at`-th atomic write of the run raise Killed after the file is complete but before it replaces the old one."
    import sslseg.core as core
    real, count = core.os.replace, {'n': 0}
    def replace(src, dst):
        count['n'] += 1
        if count['n'] == at: raise Killed(str(dst))
        return real(src, dst)
    monkeypatch.setattr(core.os, 'replace', replace)
    return count

def _tiny_learner(out, resume=False):
    import torch
    from torch.utils.data import DataLoader
    from sslseg.data import get_dataset
    from sslseg.models import ERFNet
    from sslseg.tasks import SegmentationTask
    from sslseg.train.learner import Learner
    torch.manual_seed(0)
    tr = get_dataset('synthetic', None, 'train', size=(32, 48), augment=True, n=8)
    va = get_dataset('synthetic', None, 'val', size=(32, 48), n=4)
    return Learner(ERFNet(tr.num_classes), SegmentationTask(tr.num_classes), DataLoader(tr, 4), DataLoader(va, 4), epochs=3, out=out,
                   progress=False, seed=7, resume=resume)

def test_resume_is_exact_whatever_write_the_kill_hits(tmp_path, monkeypatch):
    import torch
    from sslseg.core import load_checkpoint
    a = _tiny_learner(tmp_path / 'a'); a.fit()
    n_writes = _killing_writes(monkeypatch, 10 ** 9); _tiny_learner(tmp_path / 'count').fit(); total = n_writes['n']
    monkeypatch.undo()
    assert total >= 6                                               # best.pt, last.pt and log.csv per epoch
    for at in range(1, total + 1):
        out = tmp_path / f'k{at}'
        _killing_writes(monkeypatch, at)
        try: _tiny_learner(out).fit(); raise AssertionError(f"write {at} was not killed")
        except Killed: pass
        monkeypatch.undo()
        b = _tiny_learner(out, resume=(out / 'last.pt').is_file()); b.fit()
        assert [h['valid_miou'] for h in b.history] == [h['valid_miou'] for h in a.history], at
        for (k, va), vb in zip(a.raw_model.state_dict().items(), b.raw_model.state_dict().values()): assert torch.equal(va, vb), (at, k)
        best_a, best_b = (load_checkpoint(d / 'best.pt')['meta']['epoch'] for d in (tmp_path / 'a', out))
        assert best_a == best_b, (at, best_a, best_b)                # best.pt is the uninterrupted run's best epoch
        strip = lambda f: [{k: v for k, v in r.items() if k != 'time'} for r in csv.DictReader(open(f))]
        assert strip(out / 'log.csv') == strip(tmp_path / 'a' / 'log.csv'), at
def test_stale_temporaries_of_a_killed_write_are_cleaned(tmp_path):
    from sslseg.core import output_folder
    out = tmp_path / 'run'; out.mkdir()
    (out / '.last.ptx81k2.tmp').write_bytes(b'half a checkpoint'); (out / '.write-testab12').write_text(''); (out / 'notes.txt').write_text('mine')
    output_folder(out)
    assert sorted(p.name for p in out.iterdir()) == ['notes.txt']

def test_resume_with_other_settings_is_refused_and_more_epochs_recorded(tmp_path):
    out = str(tmp_path / 'run'); base = ['train', '--out', out, *TINY]
    assert _cli(*base, '--epochs', '1').returncode == 0
    _one_line_error(_cli(*base, '--epochs', '2', '--lr', '0.001', '--batch-size', '4', '--resume'), 'optim.lr 0.0005 -> 0.001', 'run.batch_size 8 -> 4')
    r = _cli(*base, '--epochs', '2', '--resume')
    assert r.returncode == 0, r.stderr[-800:]
    assert json.loads((tmp_path / 'run' / 'resumes.jsonl').read_text()) == {'run.epochs': {'was': 1, 'now': 2}}
    assert json.loads((tmp_path / 'run' / 'metrics.json').read_text())['epochs_run'] == 2

def test_unfreeze_epoch_after_the_run_is_refused(tmp_path):
    _one_line_error(_cli('train', '--out', str(tmp_path / 'r'), '--epochs', '1', '--unfreeze-epoch', '5', *TINY), '--unfreeze-epoch 5', '--epochs')

def test_report_only_on_an_empty_folder_says_so(tmp_path):
    r = _cli('experiment', 'camvid-quarter', '--out', str(tmp_path / 'empty'), '--root', str(tmp_path), '--report-only')
    assert r.returncode == 0 and 'no finished runs' in r.stdout, (r.stdout, r.stderr[-500:])

def test_a_failing_stage_is_named(tmp_path):
    from sslseg.experiment import load_spec, plan, execute
    s = load_spec(None, name='bad', train={'data': {'size': [32, 48], 'n_train': 8, 'n_val': 4, 'workers': 0}, 'run': {'epochs': 1, 'batch_size': 4, 'device': 'cpu'}},
                  pretrain={'data': {'size': [32, 32], 'n_train': 8, 'workers': 0}, 'run': {'steps': 2, 'batch_size': 4, 'device': 'cpu'}},
                  stages={'cl': {'task': 'cluster', 'task_options': {'teacher': 'erfnet', 'checkpoint': str(tmp_path / 'missing.pt'), 'k': 2}}},
                  settings={'random': {}, 'cluster': {'transfer': {'encoder': '@cl'}}}, seeds=[0], fractions=['1'])
    with pytest.raises(SSLSegError, match=r"pretrain cl \(job \w+\) failed: checkpoint not found"): execute(plan(s, tmp_path / 'x'), tmp_path / 'x', 1, log=lambda *a: None)


# --- the same kill sweep on the other jobs: pretrain (with a snapshot), tune with its fine-tuning, kt all (clusters, student, fine-tuning) ---
def _pretrain_job(out, resume):
    from sslseg.train.pretrain import pretrain
    return pretrain('rotation', out=out, steps=6, batch_size=4, size=(32, 32), n=8, progress=False, task_options={'size': 32}, snapshots=[2],
                    resume=resume)

def _tune_job(out, resume):
    from sslseg.tune.mixmatch import mixmatch_tune
    return mixmatch_tune(out=str(out), steps=4, images_per_batch=4, size=(32, 48), n=8, n_val=4, finetune_epochs=1, ft_batch_size=4,
                         progress=False, resume=resume, n_show=0)

def _kt_job(out, resume):
    from sslseg.tune.knowledge import knowledge_transfer
    return knowledge_transfer(teacher='random', out=str(out), k=3, grid=1, epochs=2, batch_size=4, size=(32, 48), n=8, n_val=4,
                              finetune_epochs=1, ft_batch_size=4, progress=False, resume=resume, views=0, n_show=0)

_CLOCK = {'time', 'time_s', 'train_seconds', 'total_seconds', 'resumed_at_epoch', 'history', 'transfer_report', 'config', 'out'}   # wall times, where a run resumed, and copies of what is compared elsewhere

def _numbers(v):
    "A summary without its wall times, its paths reduced to file names (the reference run lives in another folder)."
    if isinstance(v, dict): return {k: _numbers(x) for k, x in v.items() if k not in _CLOCK}
    if isinstance(v, list): return [_numbers(x) for x in v]
    return Path(v).name if isinstance(v, str) and '/' in v else v

def _outcome(out) -> dict:
    "What a finished job leaves: every checkpoint's weights, every log without its times, the summaries' numbers."
    import torch
    from sslseg.core import load_checkpoint
    res = {}
    for p in sorted(out.rglob('*')):
        k = p.relative_to(out).as_posix()
        if p.suffix == '.pt': res[k] = {n: t for n, t in load_checkpoint(p)['model'].items()}
        elif p.name == 'log.csv': res[k] = [{c: v for c, v in r.items() if c != 'time'} for r in csv.DictReader(open(p))]
        elif p.name in ('summary.json', 'metrics.json', 'kt.json'): res[k] = _numbers(json.loads(p.read_text()))
    return res

def _same(a, b, where):
    import torch
    assert a.keys() == b.keys(), (where, sorted(set(a) ^ set(b)))
    for k in a:
        if isinstance(a[k], dict) and a[k] and all(isinstance(v, torch.Tensor) for v in a[k].values()):
            for n in a[k]: assert torch.equal(a[k][n], b[k][n]), (where, k, n)
        else: assert a[k] == b[k], (where, k, a[k], b[k])

@pytest.mark.parametrize('job,marker', [(_pretrain_job, 'last.pt'), (_tune_job, 'last.pt'), (_kt_job, 'config.yaml')], ids=['pretrain', 'tune', 'kt-all'])
def test_every_job_resumes_exactly_whatever_write_the_kill_hits(tmp_path, monkeypatch, job, marker):
    """Kill at each atomic write in turn, rerun as the job's errors tell a user (--resume once the folder holds `marker`: last.pt for a training
    run, config.yaml for the kt chain), and compare every checkpoint, log and summary with the uninterrupted run."""
    import torch
    torch.set_num_threads(1)
    job(tmp_path / 'ref', False); ref = _outcome(tmp_path / 'ref')
    n = _killing_writes(monkeypatch, 10 ** 9); job(tmp_path / 'count', False); total = n['n']; monkeypatch.undo()
    assert total >= 8, total
    for at in range(1, total + 1):
        out = tmp_path / f'k{at}'
        _killing_writes(monkeypatch, at)
        with pytest.raises(Killed): job(out, False)
        monkeypatch.undo()
        job(out, (out / marker).is_file())
        assert not list(out.rglob('.*.tmp')), (at, list(out.rglob('.*.tmp')))
        _same(ref, _outcome(out), f'kill at write {at}')
