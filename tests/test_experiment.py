"""sslseg experiment: a small SyntheticScenes grid through the command line, in processes; a killed experiment resumes without redoing finished
runs; job ids are stable and follow the data, not the folder it is in."""
import json, math, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, yaml
from sslseg.core import SSLSegError
from sslseg.data import fake_camvid
from sslseg.experiment import experiment, load_spec, plan, run_job, collect, summarize, ExperimentConfig
from sslseg.experiment import (min_detectable_effect, verdict_markdown, claims_markdown, write_claims, read_claims, read_results, claims_table,
                               table_file_text)
from sslseg.run.cli import main

SPEC = dict(name='mini', train={'data': {'size': [32, 48], 'n_train': 16, 'n_val': 4, 'workers': 0}, 'run': {'epochs': 1, 'batch_size': 4, 'device': 'cpu'}},
            pretrain={'data': {'size': [32, 32], 'n_train': 8, 'workers': 0}, 'run': {'steps': 2, 'batch_size': 4, 'device': 'cpu'}},
            stages={'rot': {'task': 'rotation', 'task_options': {'size': 32}}},
            settings={'random': {}, 'rotation': {'transfer': {'encoder': '@rot'}}}, fractions=['1', '1/2'], seeds=[0, 1],
            claims=[{'a': 'rotation', 'b': 'random', 'expect': '+'}])

def write_spec(tmp_path, **kw) -> Path:
    p = tmp_path / 'spec.yaml'; p.write_text(yaml.safe_dump({**SPEC, **kw})); return p

def sslseg(*args, **kw):
    return subprocess.run([sys.executable, '-c', 'import sys; from sslseg.run.cli import main; sys.exit(main(sys.argv[1:]))', *map(str, args)],
                          capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'), **kw)

def test_cli_runs_grid_in_processes(tmp_path):
    spec = write_spec(tmp_path)
    r = sslseg('experiment', spec, '--out', tmp_path / 'exp', '--jobs', '2', '--per-class')
    assert r.returncode == 0, r.stderr + r.stdout
    assert 'experiment: 9 jobs (8 runs, 1 stages); 0 already done, 9 to do' in r.stdout
    assert '[9/9]' in r.stdout and 'left 0' in r.stdout
    res = tmp_path / 'exp' / 'mini'
    for f in ('results.csv', 'table.csv', 'table.md', 'claims.csv', 'chart.png'): assert (res / f).is_file(), f
    md = (res / 'table.md').read_text()
    assert '| rotation | 1/2 |' in md and '(n=2)' in md and 'iou_' not in md and 'Road' in md   # per-class columns on request
    assert '| smallest detectable Δ |' in md and 'mde' in (res / 'claims.csv').read_text().splitlines()[0]
    assert '- **' in r.stdout and 'smallest detectable effect' in r.stdout                    # the verdicts in words, in the log
    r2 = sslseg('experiment', spec, '--out', tmp_path / 'exp')                        # all done: nothing runs again
    assert r2.returncode == 0 and '9 already done, 0 to do' in r2.stdout

def test_killed_experiment_resumes(tmp_path):
    spec = write_spec(tmp_path, seeds=[0, 1, 2], fractions=['1'])
    out = tmp_path / 'exp'
    p = subprocess.Popen([sys.executable, '-c', 'import sys; from sslseg.run.cli import main; sys.exit(main(sys.argv[1:]))', 'experiment', str(spec),
                          '--out', str(out), '--jobs', '2'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    t0 = time.time()
    while len(list(out.glob('runs/*/result.json'))) < 2 and time.time() - t0 < 300 and p.poll() is None: time.sleep(0.1)
    p.send_signal(signal.SIGKILL); p.wait()
    t0 = time.time()      # its job processes die with it (PR_SET_PDEATHSIG): none goes on writing into the folder
    while subprocess.run(['pgrep', '-f', str(out)], capture_output=True).returncode == 0 and time.time() - t0 < 30: time.sleep(0.2)
    assert subprocess.run(['pgrep', '-f', str(out)], capture_output=True).returncode == 1, 'a job outlived the killed experiment'
    done = {f.parent.name: f.stat().st_mtime_ns for f in out.glob('runs/*/result.json')}
    assert 2 <= len(done) < 6, f"kill came too late or too early: {len(done)} runs done"
    r = sslseg('experiment', spec, '--out', out)
    assert r.returncode == 0, r.stderr + r.stdout
    assert f"{1 + len(done)} already done, {6 - len(done)} to do" in r.stdout        # the stage and the finished runs are skipped
    for rid, t in done.items(): assert (out / 'runs' / rid / 'result.json').stat().st_mtime_ns == t   # and not rewritten
    assert len(list(out.glob('runs/*/result.json'))) == 6

def test_run_job_resumes_half_trained_run(tmp_path):
    s = load_spec(None, **{**SPEC, 'settings': {'random': {}}, 'claims': [], 'fractions': ['1'], 'seeds': [0], 'train': {**SPEC['train'], 'run': {**SPEC['train']['run'], 'epochs': 2}}})
    job = [j for j in plan(s, tmp_path) if j.kind == 'train'][0]
    run_job(job)
    log = (job.folder / 'log.csv').read_text().splitlines()
    (job.folder / 'result.json').unlink(); (job.folder / 'metrics.json').unlink()      # as if killed after its last checkpoint
    run_job(job)
    assert (job.folder / 'log.csv').read_text().splitlines() == log                  # the finished epochs were not trained again
    assert json.loads((job.folder / 'result.json').read_text())['val']['miou'] >= 0

def test_failed_job_is_reported_and_others_finish(tmp_path):
    stages = {'rot': {'task': 'cluster', 'task_options': {'teacher': 'erfnet', 'checkpoint': str(tmp_path / 'missing.pt'), 'k': 2}}}   # no teacher file
    spec = write_spec(tmp_path, stages=stages, fractions=['1'], seeds=[0])
    r = sslseg('experiment', spec, '--out', tmp_path / 'exp', '--jobs', '2')
    assert r.returncode == 2 and 'FAILED pretrain rot' in r.stdout and 'job.log' in r.stdout
    assert 'job(s) failed: rot' in r.stderr
    assert len(list((tmp_path / 'exp').glob('runs/*/result.json'))) == 1           # the random-init run does not need the stage

def test_spec_errors_name_file_and_fix(tmp_path, capsys):
    bad = tmp_path / 'bad.yaml'; bad.write_text("name: x\nsettings: {random: {}, r: {transfer: {encoder: '@nope'}}}\n")
    assert main(['experiment', str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown stage '@nope'" in err and str(bad) in err and 'fix:' in err
    bad.write_text("name: [unclosed\n")
    assert main(['experiment', str(bad)]) == 2 and 'not valid YAML' in capsys.readouterr().err

def test_base_file_and_overrides(tmp_path):
    (tmp_path / 'base.yaml').write_text(yaml.safe_dump({k: v for k, v in SPEC.items() if k in ('train', 'pretrain', 'stages', 'seeds')}))
    (tmp_path / 't.yaml').write_text(yaml.safe_dump({'base': 'base.yaml', 'name': 't', 'settings': {'random': {}}}))
    s = load_spec(tmp_path / 't.yaml', {'train.run.epochs': 3})
    assert s.seeds == [0, 1] and s.train['run']['epochs'] == 3 and s.stages == {}      # the unused stage is not planned

def test_torchrun_launcher_two_processes(tmp_path):
    "launcher: torchrun runs each fine-tuning run as one torchrun of `gpus` processes (here gloo on the CPU); rank 0 alone writes the result."
    env_clean = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')}
    spec = write_spec(tmp_path, settings={'random': {}}, claims=[], fractions=['1'], seeds=[0], launcher='torchrun', gpus=2)
    r = subprocess.run([sys.executable, '-c', 'import sys; from sslseg.run.cli import main; sys.exit(main(sys.argv[1:]))', 'experiment', str(spec),
                        '--out', str(tmp_path / 'exp')], capture_output=True, text=True, env=dict(env_clean, OMP_NUM_THREADS='1'), timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = list((tmp_path / 'exp').glob('runs/*/result.json'))
    assert len(res) == 1 and '[1/1] train' in r.stdout
    assert json.loads(res[0].read_text())['processes'] == 2 and json.loads(res[0].read_text())['n_labeled'] == 16

GOLDEN = dict(name='golden', train={'data': {'size': [32, 48], 'n_train': 16, 'n_val': 4}, 'run': {'epochs': 1, 'batch_size': 4}},
              pretrain={'data': {'size': [32, 32], 'n_train': 8}, 'run': {'steps': 2, 'batch_size': 4}},
              stages={'rot': {'task': 'rotation', 'task_options': {'size': 32}}}, settings={'random': {}, 'rotation': {'transfer': {'encoder': '@rot'}}})

def test_golden_job_ids(tmp_path):
    """The ids of a fixed spec's jobs, as literals. A job's id names the results in every experiment folder (finished jobs are found by it),
    so these literals change only with a deliberate change of what a job means: what enters the hash (`job_id`, `HASH_SKIP`, the data
    fingerprint), or the resolved configs themselves (a new config field, another default). A refactor that changes them orphans every
    finished run: then either undo it, or change the literals here and say in the change that all experiments re-run."""
    ids = [(j.name, j.id) for j in plan(load_spec(None, **GOLDEN), tmp_path / 'a')]
    assert ids == [('rot', '9bb241c4e3a2'), ('random f=1 s=0', '5e03672ece35'), ('rotation f=1 s=0', '7c662529b6df')]
    assert [j.id for j in plan(load_spec(None, **GOLDEN), tmp_path / 'b', root=tmp_path)] == [i for _, i in ids]   # synthetic: no root

CAMVID = dict(GOLDEN, name='cv', train={'data': {'name': 'camvid', 'size': [12, 16]}, 'run': {'epochs': 1}},
              pretrain={'data': {'name': 'camvid', 'size': [12, 16]}, 'run': {'steps': 2}}, stages={'rot': {'task': 'rotation'}})

def test_ids_follow_the_data_not_the_folder(tmp_path):
    "Two CamVid-layout roots with different files: different ids for the same spec; the same files in two folders: the same ids."
    a = fake_camvid(tmp_path / 'a')
    b = fake_camvid(tmp_path / 'b', n=4)                                    # one image more in each split
    same = shutil.copytree(a, tmp_path / 'elsewhere' / 'camvid')
    s = load_spec(None, **CAMVID)
    ids = lambda root: [j.id for j in plan(s, tmp_path / 'exp', root=root)]
    assert len(set(ids(a))) == 3 and not set(ids(a)) & set(ids(b))        # the stage and both runs
    assert ids(same) == ids(a)
    c = shutil.copytree(a, tmp_path / 'c'); (c / 'val' / 'f1.png').write_bytes((c / 'val' / 'f1.png').read_bytes() + b'\0')
    ic = ids(c)                                                             # one val image changed: the runs change, the stage (train split) does not
    assert ic[0] == ids(a)[0] and not set(ic[1:]) & set(ids(a)[1:])

def test_missing_root_is_one_line(tmp_path, capsys):
    with pytest.raises(SSLSegError, match='camvid root folder not found'): plan(load_spec(None, **CAMVID), tmp_path / 'exp', root=tmp_path / 'nope')
    p = tmp_path / 'cv.yaml'; p.write_text(yaml.safe_dump(CAMVID))
    assert main(['experiment', str(p), '--out', str(tmp_path / 'exp'), '--root', str(tmp_path / 'nope'), '--dry-run']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'camvid root folder not found' in err and str(tmp_path / 'nope') in err

def test_experiment_config(tmp_path):
    "The in-process call: one finished run, then a dry run that finds it done."
    spec = {**SPEC, 'settings': {'random': {}}, 'claims': [], 'fractions': ['1'], 'seeds': [0]}
    r = experiment(spec, ExperimentConfig(out=str(tmp_path / 'exp'), per_class=True), log=lambda *a: None)
    assert len(r['rows']) == 1 and any(k.startswith('iou_') for k in r['summary'][0])
    lines = []; experiment(spec, ExperimentConfig(out=str(tmp_path / 'exp'), dry_run=True), log=lines.append)
    assert len(lines) == 1 and lines[0].startswith('done  train')

def test_test_split_is_evaluated(tmp_path):
    "A run on a dataset with a test split is also evaluated there (sslseg.train.evaluate), and the table gets a test column."
    r = fake_camvid(tmp_path / 'cv', n=4, size=(32, 48))
    shutil.copytree(r / 'val', r / 'test'); shutil.copytree(r / 'valannot', r / 'testannot')
    (r / 'test.txt').write_text((r / 'val.txt').read_text().replace('/val', '/test'))
    spec = dict(name='evt', train={'data': {'name': 'camvid', 'size': [32, 48], 'workers': 0}, 'run': {'epochs': 1, 'batch_size': 2, 'device': 'cpu'}},
                settings={'random': {}}, seeds=[0])
    rep = experiment(spec, ExperimentConfig(out=str(tmp_path / 'exp'), root=str(r)), log=lambda *a: None)
    t = json.loads(next((tmp_path / 'exp' / 'runs').glob('*/eval_test.json')).read_text())
    assert t['split'] == 'test' and t['n_images'] == 4 and rep['rows'][0]['test_miou'] == 100 * t['miou']
    assert '| test mIoU |' in (tmp_path / 'exp' / 'evt' / 'table.md').read_text()

def test_min_detectable_effect():
    "(t_{0.975,n-1} + t_{0.8,n-1}) sd / √n at known sd and n; smaller with more seeds or a looser alpha; none for one seed."
    assert min_detectable_effect(1.0, 10) == pytest.approx(0.99471, abs=1e-4)
    assert min_detectable_effect(2.0, 3) == pytest.approx(6.19302, abs=1e-4)
    assert min_detectable_effect(1.0, 5) < min_detectable_effect(1.0, 3) and min_detectable_effect(1.0, 3, alpha=0.1) < min_detectable_effect(1.0, 3)
    assert math.isnan(min_detectable_effect(1.0, 1)) and math.isnan(min_detectable_effect(float('nan'), 3))

CLAIM = dict(claim='rotation encoder beats random init', a='rotation', b='random', fraction='1/4', expect='+', delta=1.9805, std=0.14163, ci=0.35182,
             n=3, mde=0.43855, verdict='reproduced')

def test_verdict_bullet_is_exact():
    assert verdict_markdown([CLAIM]) == ("- **reproduced**: rotation encoder beats random init. Ours: `rotation` − `random` = +2.0 mIoU, 95% interval ±0.4, "
                                         "std 0.1, n = 3 seeds; smallest detectable effect 0.4 mIoU (power 0.8).")
    assert verdict_markdown([{**CLAIM, 'mde': None}]) == verdict_markdown([CLAIM])      # a claims.csv from before the column: computed from std and n
    two = verdict_markdown([CLAIM, {**CLAIM, 'fraction': '1', 'delta': -0.25, 'verdict': 'inconclusive'}]).splitlines()
    assert two[1] == ("- **inconclusive**: rotation encoder beats random init. Ours, labeled fraction 1: `rotation` − `random` = -0.2 mIoU, "
                      "95% interval ±0.4, std 0.1, n = 3 seeds; smallest detectable effect 0.4 mIoU (power 0.8).")

def test_changed_verdict_is_marked(tmp_path):
    write_claims([{**CLAIM, 'verdict': 'inconclusive'}], tmp_path)
    write_claims([CLAIM], tmp_path)                                   # other claims: the earlier ones are kept as claims_previous.csv
    assert [c['verdict'] for c in read_claims(tmp_path / 'claims_previous.csv')] == ['inconclusive']
    assert read_claims(tmp_path / 'claims.csv')[0]['mde'] == pytest.approx(0.43855)
    md = verdict_markdown([CLAIM], previous=tmp_path / 'claims_previous.csv')
    assert md == verdict_markdown([CLAIM]).replace('**reproduced**:', '**reproduced** (was: inconclusive):')
    assert '| **reproduced** (was: inconclusive) |' in claims_markdown([CLAIM], tmp_path / 'claims_previous.csv')
    write_claims([CLAIM], tmp_path)                                   # the same claims again: the previous set stays
    assert [c['verdict'] for c in read_claims(tmp_path / 'claims_previous.csv')] == ['inconclusive']
    assert verdict_markdown([CLAIM], previous=[CLAIM]) == verdict_markdown([CLAIM]) == verdict_markdown([CLAIM], previous=tmp_path / 'none.csv')

def test_committed_repro_tables_are_current():
    "Each committed table.md and claims.csv of experiments/repro is what `report` writes for its committed results.csv."
    repro = Path(__file__).parent.parent / 'experiments' / 'repro'
    for f in sorted((repro / 'results').glob('*/results.csv')):
        s = load_spec(repro / 'specs' / f'{f.parent.name}.yaml'); rows = read_results(f); cl = claims_table(s, rows)
        assert (f.parent / 'table.md').read_text() == table_file_text(s, summarize(s, rows), cl), f.parent.name
        assert [(c['claim'], c['verdict'], round(c['mde'], 6)) for c in read_claims(f.parent / 'claims.csv')] == [(c['claim'], c['verdict'], round(c['mde'], 6)) for c in cl]
