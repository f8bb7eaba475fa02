"""The analysis notebooks' pictures on converged CamVid models (issue 18, item 6).

Models, all ERFNet at 96x128 from experiments/convergence/spec.yaml, seed 0, 1/4 of the labels, 100 fine-tuning epochs:
  random init              the He-init weights the random-init run started from (rebuilt by sslseg.analysis.run_start)
  colorization pretext     the colorization stage's last checkpoint (300 steps on the 367 unlabeled train images)
  fine-tuned from random   that run's final weights
  fine-tuned from colorization

Writes into experiments/analysis/results/: tsne, topact (layer 4, receptive field 39 px, before/after fine-tuning), shift (random -> fine-tuned and
pretext -> fine-tuned, every layer), filters (layer 1; filters_moved.json: each filter's cosine to itself before fine-tuning), each as PNG + JSON (+ CSV for shift), and models.json naming the checkpoints.
Usage: python experiments/analysis/run.py CAMVID_ROOT [EXPERIMENT_DIR=runs/repro] [tsne|topact|shift|filters ...]   (about 5 min on 2 cores)
"""
import json, sys
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import torch
from sslseg.core import SSLSegError
from sslseg.data import get_dataset
from sslseg.experiment import load_spec, plan
from sslseg.analysis import (load_model, run_start, collect_patch_features, tsne_figure, top_activations, top_activation_figure,
                             feature_shift, shift_figure, filters_figure)
from sslseg.analysis.filters import first_conv

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / 'convergence' / 'spec.yaml'

def models_of(root, out='runs/repro', seed=0):
    "{name: checkpoint or config} of the convergence spec's seed-`seed` runs and the colorization stage, from experiment folder `out`."
    s = load_spec(SPEC); jobs = plan(s, out, root)
    run = {j.setting: j for j in jobs if j.kind == 'train' and j.seed == seed}
    stage = next(j for j in jobs if j.kind == 'pretrain' and j.name == 'colorize')
    need = [run['random'], run['colorize'], stage]
    missing = [j.name for j in need if not j.done]
    if missing: raise SSLSegError(f"unfinished jobs: {', '.join(missing)}", out, f"run: sslseg experiment {SPEC} --out {out} --root {root}")
    return {'random init': run['random'].folder / 'config.yaml', 'colorization pretext': stage.folder / 'last.pt',
            'fine-tuned from random': run['random'].folder / 'last.pt', 'fine-tuned from colorization': run['colorize'].folder / 'last.pt'}

def main(root, out='runs/repro', only=None):
    "Every analysis, or those named in `only` (tsne, topact, shift, filters)."
    want = lambda k: only is None or k in only
    paths = models_of(root, out)
    res = HERE / 'results'; res.mkdir(exist_ok=True)
    ds = get_dataset('camvid', root, 'val', size=(96, 128), augment=False)
    m = {k: run_start(v) if v.name == 'config.yaml' else load_model(str(v), num_classes=ds.num_classes) for k, v in paths.items()}
    (res / 'models.json').write_text(json.dumps({k: str(v) for k, v in paths.items()}, indent=1))
    if want('tsne'):
        pf = collect_patch_features(m, ds, 'layer16', per_class=100, seed=0)
        _, nums = tsne_figure(pf, res / 'tsne', seed=0)
        for k, v in nums['models'].items(): print(f"tsne layer16 {k}: 5-NN acc {v['knn_accuracy']:.3f}, silhouette {v['silhouette']:.3f}")
    if want('topact'):
        pair = {k: m[k] for k in ('colorization pretext', 'fine-tuned from colorization')}
        ta = {k: top_activations(v, ds, 'layer4', 8, 9, distinct_images=True) for k, v in pair.items()}   # 39 px field: a part of a 96x128 image
        _, nums = top_activation_figure(pair, ta, ds, res / 'topact')
        for k, v in nums['models'].items(): print(f"topact layer4 {k}: top-9 shared with the pretext model {sum(v['shared_with_first'])}/{9 * len(v['shared_with_first'])}")
    if want('shift'):
        sh = {'random init → fine-tuned': feature_shift(m['random init'], m['fine-tuned from random'], ds),
              'colorization → fine-tuned': feature_shift(m['colorization pretext'], m['fine-tuned from colorization'], ds)}
        _, rows = shift_figure(sh, res / 'shift', title='Feature shift under fine-tuning, ERFNet on CamVid (Larsson et al. Fig. 3)')
        for r in rows:
            if r.get('median') is not None: print(f"shift {r['pair']} {r['layer']}: median {r['median']:.3f}, CKA {r['cka']:.3f}")
    if want('filters'):
        _, nums = filters_figure(m, res / 'filters')
        for k, v in nums.items(): print(f"filters {k}: mean norm {v['mean_norm']:.3f}" + ('' if v['mean_cosine_to_first'] is None else f", mean cosine to the first {v['mean_cosine_to_first']:.3f}"))
        w = {k: first_conv(v).weight.detach().flatten(1) for k, v in m.items()}
        moved = {f"{a} → {b}": torch.nn.functional.cosine_similarity(w[a], w[b]).mean().item()
                 for a, b in (('random init', 'fine-tuned from random'), ('colorization pretext', 'fine-tuned from colorization'))}
        (res / 'filters_moved.json').write_text(json.dumps(moved, indent=1))
        for k, v in moved.items(): print(f"filters {k}: mean cosine of each filter to itself before fine-tuning {v:.4f}")

if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    main(*sys.argv[1:3], only=sys.argv[3:] or None)
