"""Two processes under torchrun (gloo, CPU) agree with one process: same data order, same gradients, same metrics."""
import json, os, subprocess, sys
from pathlib import Path
import torch

HERE = Path(__file__).parent

def _run(cmd, out):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'): env.pop(k, None)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.load(open(out / 'result.json')), torch.load(out / 'final.pt', weights_only=True)

def test_two_process_ddp_matches_single_process(tmp_path):
    one, two = tmp_path / 'one', tmp_path / 'two'
    r1, w1 = _run([sys.executable, str(HERE / 'ddp_worker.py'), str(one), '16'], one)
    r2, w2 = _run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                   str(HERE / 'ddp_worker.py'), str(two), '8'], two)
    assert (r1['world'], r2['world']) == (1, 2)
    # evaluation shards the data without padding: the summed confusion matrix is exactly the single-process one
    assert r1['cm'] == r2['cm'] and sum(map(sum, r2['cm'])) == 41 * 64
    # training: 2 x batch 8 sees the same samples per step as 1 x batch 16, so weights and losses agree
    for k in w1: torch.testing.assert_close(w1[k], w2[k], rtol=1e-4, atol=1e-5)
    for h1, h2 in zip(r1['history'], r2['history']):
        assert abs(h1['train_loss'] - h2['train_loss']) < 1e-4 and abs(h1['valid_miou'] - h2['valid_miou']) < 1e-6
    assert r2['history'][-1]['train_loss'] < r2['history'][0]['train_loss']
    assert (two / 'last.pt').is_file() and (two / 'log.csv').is_file()

def test_sslseg_train_runs_under_torchrun(tmp_path):
    "The CLI job unchanged under torchrun: all processes evaluate, rank 0 writes metrics.json, nobody hangs."
    import shutil
    exe = shutil.which('sslseg') or str(Path(sys.executable).parent / 'sslseg')
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', exe, 'train',
                        '--epochs', '1', '--size', '32', '48', '--n-train', '8', '--n-val', '4', '--workers', '0', '--quiet',
                        '--out', str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.load(open(tmp_path / 'metrics.json'))
    assert m['n_val'] == 4 and (tmp_path / 'predictions.png').is_file()

def test_collective_tensors_stay_referenced_from_python(tmp_path):
    "all_reduce_sum keeps its works and tensors, so gloo's worker thread never drops the last reference to a Python tensor (which needs the GIL, and aborts at exit)."
    import torch.distributed as dist
    from sslseg.train.learner import all_reduce_sum, _COMM_KEEP
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/pg', rank=0, world_size=1)
    try:
        out = all_reduce_sum({'cm': torch.ones(3, 3), 'n': torch.tensor([4.])})
        assert out['cm'].sum().item() == 9 and out['n'].item() == 4
        kept = [t for t, _ in _COMM_KEEP]
        assert any(t is out['cm'] for t in kept) and any(t is out['n'] for t in kept)
        assert all(w.is_completed() for _, w in _COMM_KEEP)   # the works too, so Python frees them, not gloo's worker thread
        for _ in range(100): all_reduce_sum({'x': torch.zeros(1)})
        assert len(_COMM_KEEP) == _COMM_KEEP.maxlen      # bounded: a long run does not accumulate them
    finally:
        dist.destroy_process_group()
