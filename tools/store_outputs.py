"""Run notebooks and store their outputs (figures, tables, printed numbers) in place, so they show their results without running; then nbdev_clean.

Usage: python tools/store_outputs.py [NOTEBOOK ...] [--jobs 2] [--timeout 1200]   (default: every notebook under nbs/)
Cells marked `#| eval: false` are not run (as under nbdev_test); `#| slow` cells print what they skip unless SSLSEG_RUN_SLOW=1; CamVid cells
run when SSLSEG_CAMVID is set. Each notebook runs in its own kernel with one torch thread. `tests/test_stored_outputs.py` checks that at
least half of the notebooks keep outputs, and re-runs the notebooks with cells marked `# NBVAL_CHECK_OUTPUT` and compares those cells (CI), so they cannot go stale.
"""
import argparse, os, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def run_one(path: str, timeout: int) -> tuple[str, float, str]:
    import nbformat
    from nbclient import NotebookClient
    p = Path(path); t0 = time.time()
    nb = nbformat.read(p, as_version=4)
    for c in nb.cells:                                   # nbdev's `#| eval: false`: not run, as nbdev_test does
        if c.cell_type == 'code' and '#| eval: false' in c.source: c.metadata.setdefault('tags', []).append('skip-execution')
    try: NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(p.parent)}},
                        skip_cells_with_tag='skip-execution').execute()
    except Exception as e: return path, time.time() - t0, f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:300] if str(e).strip() else ''}"
    for c in nb.cells: c.metadata.pop('tags', None)
    nbformat.write(nb, p)
    return path, time.time() - t0, ''

def main(argv=None) -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('notebooks', nargs='*'); a.add_argument('--jobs', type=int, default=2); a.add_argument('--timeout', type=int, default=1200)
    args = a.parse_args(argv)
    nbs = [str(Path(n).resolve()) for n in args.notebooks] or sorted(str(p) for p in (ROOT / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
    os.environ['OMP_NUM_THREADS'] = '1'
    failed = []
    with ProcessPoolExecutor(args.jobs) as ex:
        for f in as_completed([ex.submit(run_one, n, args.timeout) for n in nbs]):
            path, dt, err = f.result()
            print(f"{'FAILED ' if err else ''}{Path(path).relative_to(ROOT)}  {dt:.0f} s {err}", flush=True)
            if err: failed.append(path)
    subprocess.run(['nbdev_clean'], cwd=ROOT, check=False)
    print(f"{len(nbs) - len(failed)} of {len(nbs)} notebooks stored with outputs" + (f"; failed (left as they were): {len(failed)}" if failed else ''))
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
