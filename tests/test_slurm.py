"""The submitit launchers of `sslseg experiment` (sslseg.experiment.slurm): a tiny grid through submitit's local executor in CI, and
through a real Slurm (slow; skipped when `sinfo` does not answer), each with one run killed mid-way and the grid re-submitted."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from sslseg.core import SSLSegError
from sslseg.experiment import experiment, ExperimentConfig, load_spec
from sslseg.experiment.slurm import slurm_config

TINY = dict(name='tiny', train={'data': {'name': 'synthetic', 'size': [32, 32], 'n_train': 8, 'n_val': 4}, 'run': {'epochs': 5, 'batch_size': 4}},
            pretrain={'data': {'name': 'synthetic', 'size': [32, 32], 'n_train': 8}, 'run': {'steps': 3, 'batch_size': 4}},
            stages={'rot': {'task': 'rotation'}}, settings={'random': {}, 'rotation': {'transfer': {'encoder': '@rot'}}}, seeds=[0, 1])
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
RUN = "import json, sys; from sslseg.experiment import experiment, ExperimentConfig; experiment(json.loads(sys.argv[1]), ExperimentConfig(out=sys.argv[2]))"

def _results(out: Path) -> dict:
    "(setting, seed) -> val mIoU of every finished run of the tiny grid."
    rows = [json.loads(p.read_text()) for p in (out / 'runs').glob('*/result.json')]
    return {(r['setting'], r['seed']): r['val']['miou'] for r in rows}

def _kill_one_run_midway(proc, out: Path, kill, timeout=600) -> Path:
    "Wait until a fine-tuning run has written last.pt but not its result, kill its job with `kill(job_id)`; returns that run's folder."
    t0 = time.time()
    while time.time() - t0 < timeout:
        for f in (out / 'runs').glob('*'):
            if (f / 'last.pt').is_file() and not (f / 'result.json').is_file() and (f / 'submitted.json').is_file():
                kill(json.loads((f / 'submitted.json').read_text())['job_id']); return f
        if proc.poll() is not None: pytest.fail(f"the experiment ended before a run could be killed:\n{proc.stdout.read()}")
        time.sleep(0.02)
    pytest.fail("no run reached its first checkpoint in time")

def _grid_killed_and_resubmitted(tmp_path, launcher: str, slurm: dict, kill, epochs: int = 5):
    "The tiny grid inline, then through `launcher` with one run killed by `kill(job_id)` after its first epoch, then re-submitted."
    grid = {**TINY, 'train': {**TINY['train'], 'run': {**TINY['train']['run'], 'epochs': epochs}}}
    inline = tmp_path / 'inline'
    subprocess.run([sys.executable, '-c', RUN, json.dumps({**grid, 'launcher': 'inline'}), str(inline)], env=ENV, check=True, capture_output=True)
    spec, out = {**grid, 'launcher': launcher, 'slurm': slurm}, tmp_path / launcher
    proc = subprocess.Popen([sys.executable, '-c', RUN, json.dumps(spec), str(out)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = _kill_one_run_midway(proc, out, kill)
    head = (killed / 'log.csv').read_text().splitlines()     # the epochs done before the kill, with their times
    log = proc.communicate(timeout=600)[0]
    assert proc.returncode != 0 and 'FAILED train' in log and '1 job(s) failed' in log, log       # the failure is reported, with its log's end
    prog = json.loads((out / 'progress.json').read_text())
    assert prog['states']['failed'] == 1 and prog['states']['done'] == 4, prog['states']
    finished = {p: p.stat().st_mtime_ns for p in (out / 'runs').glob('*/result.json')}
    assert len(finished) == 3
    r = subprocess.run([sys.executable, '-c', RUN, json.dumps(spec), str(out)], env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '4 already done, 1 to do' in r.stdout and 'submitted 1 job(s)' in r.stdout, r.stdout      # only the missing job went out
    assert {p: p.stat().st_mtime_ns for p in finished} == finished                                    # finished runs untouched
    assert (killed / 'log.csv').read_text().splitlines()[:len(head)] == head                           # resumed: its first epochs kept
    assert len((killed / 'log.csv').read_text().splitlines()) == 1 + epochs
    assert _results(out) == _results(inline) and len(_results(out)) == 4                               # the same table as inline
    assert (out / 'tiny' / 'table.csv').read_text() == (inline / 'tiny' / 'table.csv').read_text()

def test_submitit_local_grid_survives_a_killed_job(tmp_path):
    pytest.importorskip('submitit')
    _grid_killed_and_resubmitted(tmp_path, 'submitit-local', {'poll': 0.3, 'max_jobs': 2}, lambda pid: _kill_tree(int(pid)))

def _kill_tree(pid: int):
    "SIGKILL a process and its descendants (submitit's local executor runs each job as a controller process with one child per task)."
    kids = [int(d.name) for d in Path('/proc').iterdir() if d.name.isdigit() and _ppid(d) == pid]
    for k in kids: _kill_tree(k)
    try: os.kill(pid, signal.SIGKILL)
    except ProcessLookupError: pass

def _ppid(d: Path) -> int:
    try: return int((d / 'stat').read_text().rsplit(')', 1)[1].split()[1])
    except (OSError, IndexError, ValueError): return -1

def _slurm_answers() -> bool:
    try: return shutil.which('sinfo') is not None and subprocess.run(['sinfo', '-h'], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired): return False

@pytest.mark.slow
def test_real_slurm_grid_survives_scancel(tmp_path):
    pytest.importorskip('submitit')
    if not _slurm_answers(): pytest.skip("no Slurm answers here (sinfo): start one with `sudo bash tools/slurm/local_slurm.sh`")
    # scancel sends SIGTERM (which submitit lets pass, waiting for a preemption signal), then SIGKILL after the cluster's KillWait (2 s in
    # tools/slurm/local_slurm.sh): 30 epochs keep the killed run going well past that
    _grid_killed_and_resubmitted(tmp_path, 'slurm', {'poll': 1, 'time': 10, 'cpus': 1, 'max_jobs': 2},
                                 lambda jid: subprocess.run(['scancel', str(jid)], check=True), epochs=30)

def test_slurm_settings_are_checked_before_anything_runs(tmp_path):
    with pytest.raises(SSLSegError, match=r"slurm\.partiton"): load_spec(None, None, **{**TINY, 'slurm': {'partiton': 'gpu'}})
    with pytest.raises(SSLSegError, match="unknown launcher 'slurmm'"): load_spec(None, None, **{**TINY, 'launcher': 'slurmm'})
    with pytest.raises(SSLSegError, match="slurm.time must be >= 1"): slurm_config({'time': 0})
    sc = slurm_config({'partition': 'cpu', 'time': 30}, {'partition': 'gpu', 'account': None})
    assert (sc.partition, sc.account, sc.time) == ('gpu', None, 30)      # a flag given wins, a flag not given keeps the spec's value

def test_slurm_launcher_without_slurm_says_what_to_do(tmp_path, monkeypatch):
    if _slurm_answers(): pytest.skip("Slurm is installed here")
    monkeypatch.setenv('PATH', str(tmp_path))       # no sbatch on PATH
    with pytest.raises(SSLSegError, match="needs Slurm's sbatch") as e:
        experiment({**TINY, 'launcher': 'slurm'}, ExperimentConfig(out=str(tmp_path / 'x')))
    assert '--launcher process' in e.value.fix and not (tmp_path / 'x' / 'runs').exists()

def test_cli_launcher_flags(tmp_path):
    from sslseg.run.cli import main
    spec = tmp_path / 'tiny.yaml'; spec.write_text(json.dumps(TINY))
    with pytest.raises(SystemExit) as e: main(['experiment', str(spec), '--launcher', 'slurmm', '--out', str(tmp_path / 'o')])
    assert e.value.code == 2
    r = experiment(str(spec), ExperimentConfig(out=str(tmp_path / 'o'), dry_run=True, launcher='slurm', partition='gpu', time=30))
    assert len(r['jobs']) == 5     # a dry run plans without Slurm

def test_a_restarted_experiment_follows_its_queued_jobs(tmp_path):
    "The experiment process dies while its jobs run: run again, it follows those jobs (no second submission) and submits the rest."
    pytest.importorskip('submitit')
    spec, out = {**TINY, 'launcher': 'submitit-local', 'slurm': {'poll': 0.3, 'max_jobs': 2}}, tmp_path / 'grid'
    proc = subprocess.Popen([sys.executable, '-c', RUN, json.dumps(spec), str(out)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    t0 = time.time()
    while not list(out.glob('runs/*/submitted.json')) and time.time() - t0 < 300: time.sleep(0.05)
    proc.kill(); proc.wait()                      # SIGKILL: no cleanup; the submitted jobs keep running
    following = {json.loads(p.read_text())['job_id'] for p in out.glob('*/*/submitted.json') if not (p.parent / 'result.json').is_file()
                 and not (p.parent / 'summary.json').is_file()}
    r = subprocess.run([sys.executable, '-c', RUN, json.dumps(spec), str(out)], env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(_results(out)) == 4
    submitted = [l for l in r.stdout.splitlines() if l.startswith('submitted ')]
    assert not any(f'[{j}]' in l for l in submitted for j in following)   # a job of the first call is never submitted again
    assert sum(1 for _ in out.glob('submitit/*/*_submitted.pkl')) == 5     # each of the 5 jobs was submitted once

def test_a_run_with_two_gpus_trains_ddp_across_its_tasks(tmp_path):
    "gpus: 2 gives the job two tasks; submitit's torch environment makes them one DDP group (gloo here, without GPUs)."
    pytest.importorskip('submitit')
    grid = {**TINY, 'stages': {}, 'settings': {'random': {}}, 'seeds': [0], 'launcher': 'submitit-local', 'gpus': 2, 'slurm': {'poll': 0.3, 'cpus': 1}}
    grid['train'] = {**TINY['train'], 'run': {'epochs': 2, 'batch_size': 4}}
    r = subprocess.run([sys.executable, '-c', RUN, json.dumps(grid), str(tmp_path)], env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (res,) = [json.loads(p.read_text()) for p in tmp_path.glob('runs/*/result.json')]
    assert res['processes'] == 2 and res['epochs_run'] == 2
    assert len(list(tmp_path.glob('submitit/*/*_log.out'))) == 2      # one log per task

def test_job_lock_holders_on_this_and_other_hosts(monkeypatch, tmp_path):
    "A lock names pid, host and Slurm job: a dead pid here, or this job's own lock from before a requeue elsewhere, is taken over."
    import socket
    from sslseg.experiment.execute import _holder_alive, job_lock
    here = socket.gethostname()
    dead = subprocess.Popen([sys.executable, '-c', 'pass']); dead.wait()
    assert not _holder_alive(f"{dead.pid} {here}") and not _holder_alive(str(dead.pid))            # old one-field locks still read
    assert _holder_alive(f"{os.getppid()} {here}")                                                   # a live process here
    monkeypatch.setenv('SLURM_JOB_ID', '77')
    assert not _holder_alive("123 othernode 77")                                                     # ourselves, requeued on another node
    monkeypatch.setenv('PATH', str(tmp_path))                                                        # no squeue to ask
    assert _holder_alive("123 othernode 78")                                                         # unknown: wait rather than run twice
    (tmp_path / 'job.lock').write_text("123 othernode 77")
    lock = job_lock(tmp_path, poll=0.01)
    assert lock.read_text().split()[1:] == [here, '77']
