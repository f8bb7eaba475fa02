"""Regenerate the README's result blocks from the committed results, so its numbers cannot drift from them.

Blocks are delimited by `<!-- NAME:start -->` and `<!-- NAME:end -->` lines:
  grid         which budget each of the nine tables' committed results come from: runs, their fine-tuning time, claims and changed verdicts
  claims       every claim of the nine miniature tables (experiments/repro/results/*/claims: budget, paired Δ, 95% CI, smallest detectable Δ, verdict)
  ranking      every setting of the tables ranked by its paired gain over random init, one table per budget (gain_ranking)
  convergence  the learning-curve runs (experiments/convergence/results/convergence): table, plateau test and budget
  recipe       the shipped recipe (recipe.yaml), its 200-epoch check (recipe_200.yaml), the 200-epoch budget check and the pretext-length curve
Usage: python tools/readme_tables.py [--check]   (--check: exit 1 when README.md differs from what the results give)
"""
import argparse, functools, re, statistics, sys
from pathlib import Path
from sslseg.experiment import load_spec, read_spec, read_results, claims_table, claims_markdown, summarize, table_markdown
from sslseg.experiment import budget, gain_ranking, ranking_markdown, read_claims, verdict_change
from sslseg.experiment import paired
from sslseg.experiment.curves import mean_curve, plateau_gain, final_scores

ROOT = Path(__file__).resolve().parent.parent

@functools.cache
def repro_tables() -> dict:
    """name -> (the spec that ran its committed results, their rows, their claims, the previous results set's claims or []): spec.json where
    the results have one, else the first pass's spec file. Read once for every block."""
    repro, out = ROOT / 'experiments' / 'repro', {}
    for p in sorted((repro / 'specs').glob('*.yaml')):
        if p.stem == 'base': continue
        res = repro / 'results' / p.stem
        s, rows = read_spec(res, fallback=p), read_results(res / 'results.csv')
        prev = [dict(table=p.stem, **c) for c in read_claims(res / 'claims_previous.csv')] if (res / 'claims_previous.csv').is_file() else []
        out[p.stem] = (s, rows, [dict(table=p.stem, budget=budget(s), **c) for c in claims_table(s, rows)], prev)
    return out

def _changed(claims: list[dict], prev: list[dict]) -> int: return sum(bool(verdict_change(c, prev)) for c in claims)

def claims_block() -> str:
    tabs = repro_tables()
    cl, prev = [c for *_, t_cl, _ in tabs.values() for c in t_cl], [c for *_, t_prev in tabs.values() for c in t_prev]
    n = {v: sum(c['verdict'] == v for c in cl) for v in ('reproduced', 'not reproduced', 'inconclusive')}
    changed = _changed(cl, prev)
    return (claims_markdown(cl, prev, paper=True) + f"\n\nOf the {len(cl)} claims, {n['reproduced']} are reproduced, {n['not reproduced']} not reproduced and "
            f"{n['inconclusive']} inconclusive" + (f"; {changed} changed verdict since the previous results set (marked: was …)." if changed else "."))

def _mmss(s: float) -> str:
    s = int(round(s)); return f"{s // 60} min {s % 60:02d} s"

def grid_block() -> str:
    "One row per table: the budget its committed results come from, its runs and their fine-tuning times, its claims and changed verdicts."
    lines = ['| table | budget | runs | median fine-tuning time a run | claims | verdicts changed |', '|---|---|---|---|---|---|']
    for k, (s, rows, cl, prev) in repro_tables().items():
        secs = [float(r['train_seconds']) for r in rows if r.get('train_seconds') not in (None, '')]
        t = _mmss(statistics.median(secs)) if secs else '–'
        lines.append(f"| {k} | {budget(s)} | {len(rows)} | {t} | {len(cl)} | {_changed(cl, prev) if prev else '–'} |")
    return '\n'.join(lines) + ("\n\nRuns shared by several tables (the random-init runs, the plain rotation encoder) are counted in each. "
                               "Times are training only (fine-tuning and validation), two runs at a time on this 2-core CPU, one thread each; "
                               "the median, because a run resumed after a stop before 2026-12-05 counted only its epochs after the resume.")

def ranking_block() -> str:
    tabs, out = repro_tables(), []
    for b in dict.fromkeys(budget(s) for s, *_ in tabs.values()):
        pooled = [r for s, rows, *_ in tabs.values() if budget(s) == b for r in rows]
        base = [r['miou'] for r in {r['id']: r for r in pooled if r['setting'] == 'random'}.values()]
        out.append(f"At {b} ({', '.join(k for k, (s, *_) in tabs.items() if budget(s) == b)}; random init {statistics.mean(base):.1f} mIoU, "
                   f"n = {len(base)}):\n\n" + ranking_markdown(gain_ranking(pooled, 'random', '1/4')))
    return '\n\n'.join(out)

def convergence_block() -> str:
    here = ROOT / 'experiments' / 'convergence'
    s = load_spec(here / 'spec.yaml'); res = here / 'results' / 'convergence'
    rows, curves = read_results(res / 'results.csv'), read_results(res / 'curves.csv')
    summ, cl = summarize(s, rows), claims_table(s, rows)
    lines = [table_markdown(summ, cl, s.baseline), '', '| setting | seeds with curves | gain over the last fifth of the epochs | plateaued (< 0.5) |', '|---|---|---|---|']
    for st in dict.fromkeys(r['setting'] for r in curves):
        c = mean_curve(curves, st); g = plateau_gain(c)
        lines.append(f"| {st} | {c['n']} | {g:+.2f} | {'yes' if g < 0.5 else 'no'} |")
    fs, fr = final_scores(curves), s.fractions[0]
    for st in s.settings:
        p = paired(fs, st, s.baseline, fr) if st != s.baseline else None
        if p: lines.append(f"\nScored at the end of each run (mean of its last 5 epochs) instead of at its best val epoch: {st} − {s.baseline} = "
                           f"{p['delta']:+.1f} mIoU (std {p['std']:.1f}, n = {p['n']}; per seed {', '.join(f'{d:+.1f}' for d in p['diffs'])}).")
    return '\n'.join(lines)

def recipe_block() -> str:
    here = ROOT / 'experiments' / 'convergence'; out = []
    for name in ('recipe', 'recipe_200', 'budget'):
        f = here / 'results' / name / 'results.csv'
        if not f.is_file(): continue
        s = load_spec(here / f'{name}.yaml'); rows = read_results(f)
        out.append(f"`{name}.yaml`: {s.description}\n\n" + table_markdown(summarize(s, rows), claims_table(s, rows), s.baseline))
    f = here / 'results' / 'pretext_length' / 'pretext_length.csv'
    if f.is_file():
        rows = read_results(f)
        out.append("`pretext_length.yaml`: colorization snapshots of one 10k-step run (poly schedule over 10k steps), fine-tuned 100 epochs, paired "
                   "over 3 seeds with the same random-init runs.\n\n| pretext steps | val mIoU | gain over random | 95% CI |\n|---|---|---|---|\n" +
                   '\n'.join(f"| {int(float(r['steps'])):,} | {float(r['miou']):.1f} ± {float(r['std']):.1f} | {float(r['gain']):+.1f} | ±{float(r['ci']):.1f} |"
                              for r in rows))
    return '\n\n'.join(out)

BLOCKS = {'grid': grid_block, 'claims': claims_block, 'ranking': ranking_block, 'convergence': convergence_block, 'recipe': recipe_block}

def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pat = re.compile(rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
        if not pat.search(text): continue
        body = fn()
        text = pat.sub(lambda m: m.group(1) + body + '\n' + m.group(2), text)
    return text

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); p.add_argument('--check', action='store_true')
    a = p.parse_args(argv)
    readme = ROOT / 'README.md'; old = readme.read_text(); new = render(old)
    if a.check:
        if new != old: print("README.md's result blocks differ from the committed results: run python tools/readme_tables.py"); return 1
        return 0
    if new != old: readme.write_text(new); print('README.md updated')
    return 0

if __name__ == '__main__': sys.exit(main())
