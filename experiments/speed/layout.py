"""`python experiments/speed/layout.py CAMVID_ROOT [--epochs 5] [--repeats 3] [--out runs/layout]`: the thread/process layout of
`sslseg experiment --jobs 2` on this machine, measured (issue 20). Two CamVid fine-tuning runs like the tables' (96×128, ¼ of the labels,
batch 8, seeds 0 and 1) are done either as 2 processes × 1 thread at once (what `--jobs 2` does) or as 1 process × 2 threads one after the
other (`--jobs 1` on 2 cores). The layouts alternate, `--repeats` times; it prints each wall time, the medians and their ratio. Then it
profiles one fine-tuning run and one pretext run (cProfile, one thread) and prints where their time goes."""
import argparse, cProfile, io, os, pstats, shutil, statistics, subprocess, sys, time
from pathlib import Path

def train_cmd(root, out, seed, epochs):
    return [sys.executable, '-c', 'import sys; from sslseg.run.cli import main; sys.exit(main())', 'train', '--data', 'camvid', '--root', str(root), '--size', '96', '128', '--labeled-fraction', '1/4',
            '--epochs', str(epochs), '--batch-size', '8', '--seed', str(seed), '--workers', '0', '--out', str(out), '--quiet']

def run(cmds, threads: int, parallel: bool) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    if parallel:
        ps = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL) for c in cmds]
        assert all(p.wait() == 0 for p in ps)
    else:
        for c in cmds: subprocess.run(c, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0

def profile(argv, top=12) -> str:
    import torch; torch.set_num_threads(1)
    from sslseg.run.cli import main
    pr = cProfile.Profile(); t0 = time.perf_counter(); pr.enable(); main(argv); pr.disable(); wall = time.perf_counter() - t0
    s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats('tottime').print_stats(top)
    return f"{' '.join(argv[:3])} ...: {wall:.1f} s\n" + '\n'.join(l for l in s.getvalue().splitlines() if l.strip())[-3000:]

if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('root'); a.add_argument('--epochs', type=int, default=5); a.add_argument('--repeats', type=int, default=3)
    a.add_argument('--out', default='runs/layout'); a.add_argument('--no-profile', action='store_true')
    a = a.parse_args(); out = Path(a.out)
    times = {'2 processes x 1 thread': [], '1 process x 2 threads': []}
    for r in range(a.repeats):
        for name in (list(times) if r % 2 == 0 else list(times)[::-1]):
            shutil.rmtree(out, ignore_errors=True)
            cmds = [train_cmd(a.root, out / f's{s}', s, a.epochs) for s in (0, 1)]
            t = run(cmds, 1 if name.startswith('2') else 2, parallel=name.startswith('2'))
            times[name].append(t); print(f"repeat {r}: {name}: {t:.1f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items(): print(f"median {k}: {v:.1f} s for two {a.epochs}-epoch runs")
    print(f"2x1 is {med['1 process x 2 threads'] / med['2 processes x 1 thread']:.2f}x the speed of 1x2")
    if not a.no_profile:
        shutil.rmtree(out, ignore_errors=True)
        print(profile(['train', '--data', 'camvid', '--root', a.root, '--size', '96', '128', '--labeled-fraction', '1/4', '--epochs', '3',
                       '--batch-size', '8', '--workers', '0', '--out', str(out / 'prof_train'), '--quiet']))
        print(profile(['pretrain', '--task', 'colorize', '--data', 'camvid', '--root', a.root, '--size', '96', '128', '--steps', '60',
                       '--batch-size', '16', '--workers', '0', '--out', str(out / 'prof_pretrain'), '--quiet']))
