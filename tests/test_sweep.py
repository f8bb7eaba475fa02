"""A sweep of the bad inputs and faults a new user meets, on every subcommand (issue 19).

Each case runs `sslseg ...` in-process and must end in one of two ways:
- `err`: exit code 2 and a one-line error (argparse's usage line aside), no traceback; every command line its fix suggests parses with
  the parser of the subcommand that printed it (or of the `sslseg CMD` it names);
- `ok`: exit code 0.
Every case also checks that a finished run's files are byte-for-byte unchanged afterwards. `python tests/test_sweep.py` prints the counts.
"""
import argparse, contextlib, io, json, os, re, shlex, sys
from pathlib import Path
import pytest

TINY = '--size 32 48 --set data.n_train=8 --set data.n_val=4 --quiet'
TRAIN = f'train --epochs 1 --batch-size 4 {TINY}'
PRE = f'pretrain --task rotation --steps 2 --batch-size 4 --opt size=32 {TINY}'

# (id, command line with {placeholders}, expected 'err' | 'ok', words the error must contain)
CASES = [
    # --- train: types and values of every way a setting enters ---
    ('train-epochs-text', f'{TRAIN} --epochs abc --out {{new}}', 'err', ['--epochs']),
    ('train-set-epochs-text', f'{TRAIN} --set run.epochs=abc --out {{new}}', 'err', ["'run.epochs'", 'int']),
    ('train-set-batch-float', f'{TRAIN} --set run.batch_size=1.5 --out {{new}}', 'err', ["'run.batch_size'", 'int']),
    ('train-set-size-int', f'{TRAIN} --set data.size=48 --out {{new}}', 'err', ["'data.size'"]),
    ('train-set-size-three', f'{TRAIN} --set data.size=[32,48,3] --out {{new}}', 'err', ['data.size']),
    ('train-set-lr-text', f'{TRAIN} --set optim.lr=fast --out {{new}}', 'err', ["'optim.lr'", 'float']),
    ('train-set-no-equals', f'{TRAIN} --set run.epochs --out {{new}}', 'err', ['run.epochs']),
    ('train-set-unknown-top', f'{TRAIN} --set nothing.here=1 --out {{new}}', 'err', ['nothing.here']),
    ('train-set-unknown-leaf', f'{TRAIN} --set run.epoch=1 --out {{new}}', 'err', ['run.epoch']),
    ('train-set-bool-text', f'{TRAIN} --set data.augment=maybe --out {{new}}', 'err', ['data.augment']),
    ('train-config-missing', f'{TRAIN} --config {{tmp}}/nope.yaml --out {{new}}', 'err', ['nope.yaml', 'not found']),
    ('train-config-syntax', f'{TRAIN} --config {{bad_syntax}} --out {{new}}', 'err', ['bad_syntax.yaml']),
    ('train-config-list', f'{TRAIN} --config {{list_yaml}} --out {{new}}', 'err', ['mapping']),
    ('train-config-epochs-text', f'{TRAIN} --config {{epochs_text}} --out {{new}}', 'err', ["'run.epochs'", 'epochs_text.yaml']),
    ('train-config-unknown-key', f'{TRAIN} --config {{unknown_key}} --out {{new}}', 'err', ["'optim.lrr'"]),
    ('train-config-yaml11-float', f'{TRAIN} --config {{lr_yaml11}} --out {{new}}', 'ok', []),
    ('train-config-is-dir', f'{TRAIN} --config {{tmp}} --out {{new}}', 'err', ['not found']),
    ('train-epochs-zero', f'{TRAIN} --epochs 0 --out {{new}}', 'err', ['epochs']),
    ('train-epochs-negative', f'{TRAIN} --epochs -3 --out {{new}}', 'err', ['epochs']),
    ('train-batch-zero', f'{TRAIN} --batch-size 0 --out {{new}}', 'err', ['batch']),
    ('train-lr-negative', f'{TRAIN} --lr -1 --out {{new}}', 'err', ['lr']),
    ('train-size-zero', f'{TRAIN} --size 0 48 --out {{new}}', 'err', ['size']),
    ('train-size-odd', f'{TRAIN} --size 33 47 --out {{new}}', 'ok', []),
    ('train-size-tiny', f'{TRAIN} --size 4 48 --out {{new}}', 'err', ['data.size']),
    ('train-fraction-zero', f'{TRAIN} --labeled-fraction 0 --out {{new}}', 'err', ['fraction']),
    ('train-fraction-big', f'{TRAIN} --labeled-fraction 1.5 --out {{new}}', 'err', ['fraction']),
    ('train-fraction-text', f'{TRAIN} --labeled-fraction half --out {{new}}', 'err', ['fraction']),
    ('train-data-unknown', f'{TRAIN} --data nosuch --out {{new}}', 'err', ['nosuch']),
    ('train-root-missing', f'{TRAIN} --data camvid --root {{tmp}}/nowhere --out {{new}}', 'err', ['nowhere']),
    ('train-root-file', f'{TRAIN} --data camvid --root {{file}} --out {{new}}', 'err', ['results.txt']),
    ('train-root-empty', f'{TRAIN} --data camvid --root {{empty}} --out {{new}}', 'err', ['empty']),
    ('train-backbone-unknown', f'{TRAIN} --backbone nosuch --out {{new}}', 'err', ['nosuch']),
    ('train-device-tpu', f'{TRAIN} --device tpu --out {{new}}', 'err', ['tpu']),
    ('train-workers-negative', f'{TRAIN} --workers -1 --out {{new}}', 'err', ['workers']),
    ('train-steps-zero', f'{TRAIN} --max-steps 0 --out {{new}}', 'err', ['steps']),
    ('train-ntrain-zero', 'train --epochs 1 --batch-size 4 --size 32 48 --n-train 0 --quiet --out {new}', 'err', ['n_train']),
    ('train-lr-zero', f'{TRAIN} --lr 0 --out {{new}}', 'err', ['learning rate']),
    ('train-recipe-unknown', f'{TRAIN} --recipe nosuch --out {{new}}', 'err', ['nosuch']),
    # --- train: transfer flags and transfer configs ---
    ('train-init-missing', f'{TRAIN} --init {{tmp}}/gone.pt --out {{new}}', 'err', ['gone.pt']),
    ('train-init-not-checkpoint', f'{TRAIN} --init {{file}} --out {{new}}', 'err', ['results.txt']),
    ('train-init-pretext', f'{TRAIN} --init {{pre}}/last.pt --out {{new}}', 'ok', []),
    ('train-encoder-not-checkpoint', f'{TRAIN} --encoder {{file}} --out {{new}}', 'err', ['results.txt']),
    ('train-reset-out-of-range', f'{TRAIN} --init {{pre}}/last.pt --reset 99 --out {{new}}', 'err', ['99']),
    ('train-freeze-text', f'{TRAIN} --init {{pre}}/last.pt --freeze abc --out {{new}}', 'err', ['abc']),
    ('train-unfreeze-after-end', f'{TRAIN} --unfreeze-epoch 5 --out {{new}}', 'err', ['--unfreeze-epoch 5']),
    ('train-prune-text', f'{TRAIN} --init {{pre}}/last.pt --prune-amount half --out {{new}}', 'err', ['half']),
    ('train-prune-over-one', f'{TRAIN} --init {{pre}}/last.pt --prune-amount 1.5 --out {{new}}', 'err', ['1.5']),
    ('train-energy-over-one', f'{TRAIN} --init {{pre}}/last.pt --energy-keep 2 --out {{new}}', 'err', ['2']),
    ('train-layers-backwards', f'{TRAIN} --init {{pre}}/last.pt --layers 5-2 --out {{new}}', 'err', ['5-2']),
    ('train-transfer-config-missing', f'{TRAIN} --transfer-config {{tmp}}/t.json --out {{new}}', 'err', ['t.json']),
    ('train-transfer-config-prune-text', f'{TRAIN} --transfer-config {{tc_half}} --out {{new}}', 'err', ['prune_amount', 'half']),
    ('train-transfer-config-unknown', f'{TRAIN} --transfer-config {{tc_unknown}} --out {{new}}', 'err', ['pruning']),
    ('train-transfer-config-list', f'{TRAIN} --transfer-config {{list_yaml}} --out {{new}}', 'err', ['mapping']),
    # --- train: output folders and resume ---
    ('train-out-file', f'{TRAIN} --out {{file}}', 'err', ['is a file']),
    ('train-out-under-file', f'{TRAIN} --out {{file}}/run', 'err', ['results.txt']),
    ('train-out-finished', f'{TRAIN} --out {{run}}', 'err', ['finished run']),
    ('train-resume-nothing', f'{TRAIN} --out {{new}} --resume', 'err', ['nothing to resume']),
    ('train-resume-changed', f'{TRAIN} --out {{run}} --resume --lr 0.1 --epochs 2', 'err', ['optim.lr']),
    ('train-resume-changed-size', f'train --epochs 2 --batch-size 4 --size 48 64 --set data.n_train=8 --set data.n_val=4 --quiet --out {{run}} --resume', 'err', ['data.size']),
    # --- pretrain ---
    ('pretrain-task-unknown', f'{PRE} --task nosuch --out {{new}}', 'err', ['nosuch']),
    ('pretrain-steps-and-epochs', f'{PRE} --epochs 2 --out {{new}}', 'err', ['--steps']),
    ('pretrain-opt-text', f'{PRE} --task jigsaw --opt n_perms=abc --out {{new}}', 'err', ['n_perms']),
    ('pretrain-opt-unknown', f'{PRE} --opt colour=1 --out {{new}}', 'err', ['colour']),
    ('pretrain-opt-no-equals', f'{PRE} --opt size --out {{new}}', 'err', ['size']),
    ('pretrain-backbone-opt-unknown', f'{PRE} --backbone-opt depth=3 --out {{new}}', 'err', ['depth']),
    ('pretrain-out-finished', f'{PRE} --out {{pre}}', 'err', ['finished run']),
    ('pretrain-out-file', f'{PRE} --out {{file}}', 'err', ['is a file']),
    ('pretrain-snapshot-after-end', f'{PRE} --snapshots 5 --out {{new}}', 'err', ['snapshot']),
    ('pretrain-set-steps-text', f'{PRE} --set run.steps=many --out {{new}}', 'err', ["'run.steps'"]),
    ('pretrain-steps-negative', f'{PRE} --steps -2 --out {{new}}', 'err', ['steps']),
    # --- tune ---
    ('tune-sides-backwards', f'tune --init {{run}}/last.pt --sides 200 100 --out {{new}} --quiet', 'err', ['--sides']),
    ('tune-init-missing', f'tune --init {{tmp}}/gone.pt --out {{new}} --quiet', 'err', ['gone.pt']),
    ('tune-init-not-checkpoint', f'tune --init {{file}} --out {{new}} --quiet', 'err', ['results.txt']),
    ('tune-method-unknown', f'tune --method nosuch --init {{run}}/last.pt --out {{new}}', 'err', ['nosuch']),
    ('tune-steps-zero', f'tune --init {{run}}/last.pt --steps 0 --out {{new}} --quiet', 'err', ['steps']),
    ('tune-out-file', f'tune --init {{run}}/last.pt --out {{file}} --quiet', 'err', ['is a file']),
    ('tune-out-finished', f'tune --init {{run}}/last.pt --out {{run}} --quiet', 'err', ['finished run']),
    ('tune-patch-zero', f'tune --init {{run}}/last.pt --patch-size 0 --out {{new}} --quiet', 'err', ['patch']),
    ('tune-images-zero', f'tune --init {{run}}/last.pt --images-per-batch 0 --out {{new}} --quiet', 'err', ['images']),
    ('tune-set-lr-text', f'tune --init {{run}}/last.pt --set optim.lr=abc --out {{new}} --quiet', 'err', ['lr']),
    # --- kt ---
    ('kt-step-unknown', 'kt nosuch --out {new}', 'err', ['nosuch']),
    ('kt-teacher-missing', 'kt all --teacher {tmp}/gone.pt --out {new} --quiet', 'err', ['gone.pt']),
    ('kt-k-zero', 'kt clusters --teacher {run}/last.pt --k 0 --out {new} --quiet', 'err', ['k']),
    ('kt-finetune-finished', 'kt finetune --init {run}/last.pt --out {run} --quiet', 'err', ['finished run']),
    ('kt-teacher-not-checkpoint', 'kt cluster --teacher {file} --out {new} --quiet', 'err', ['results.txt']),
    ('kt-set-unknown', 'kt all --teacher {run}/last.pt --set nothing=1 --out {new} --quiet', 'err', ['nothing']),
    ('kt-out-file', 'kt all --teacher {run}/last.pt --out {file} --quiet', 'err', ['is a file']),
    # --- eval ---
    ('eval-run-missing', 'eval {tmp}/gone', 'err', ['gone']),
    ('eval-not-checkpoint', 'eval {file}', 'err', ['results.txt']),
    ('eval-out-over-metrics', 'eval {run} --out {run}/metrics.json --size 32 48 --set data.n_val=4', 'err', ['belongs to the run']),
    ('eval-split-unknown', 'eval {run} --split nosuch --size 32 48', 'err', ['nosuch']),
    ('eval-size-zero', 'eval {run} --size 0 0', 'err', ['size']),
    ('eval-root-missing', 'eval {run} --data camvid --root {tmp}/nowhere', 'err', ['nowhere']),
    ('eval-out-file-dir', 'eval {run} --out {file}/x.json --size 32 48 --set data.n_val=4', 'err', ['results.txt']),
    ('eval-own-file', 'eval {run} --size 32 48 --set data.n_val=4', 'ok', []),
    # --- analyze ---
    ('analyze-kind-unknown', 'analyze nosuch --model random', 'err', ['nosuch']),
    ('analyze-no-model', 'analyze tsne', 'err', ['--model']),
    ('analyze-model-missing', 'analyze filters --model x={tmp}/gone.pt --out {new}', 'err', ['gone.pt']),
    ('analyze-out-over-run', 'analyze filters --model ft={run}/last.pt --out {run}/metrics', 'err', ['belongs to the run']),
    ('analyze-layer-unknown', 'analyze filters --model random --layer nosuch --out {new}', 'err', ['--layer']),
    ('analyze-k-zero', 'analyze topact --model random --k 0 --out {new}', 'err', ['k']),
    ('analyze-tsne-layer-unknown', 'analyze tsne --model random --layer nosuch --out {new}', 'err', ['nosuch']),
    ('analyze-out-file', 'analyze filters --model random --out {file}', 'err', ['existing file']),
    # --- experiment ---
    ('experiment-spec-missing', 'experiment {tmp}/nope.yaml --out {new}', 'err', ['nope']),
    ('experiment-spec-syntax', 'experiment {bad_syntax} --out {new}', 'err', ['bad_syntax.yaml']),
    ('experiment-seeds-text', 'experiment {spec_tiny} --set seeds=abc --out {new} --dry-run', 'err', ['seeds']),
    ('experiment-setting-unknown-key', 'experiment {spec_bad_setting} --out {new} --dry-run', 'err', ['inits']),
    ('experiment-stage-ref-unknown', 'experiment {spec_bad_ref} --out {new} --dry-run', 'err', ['@nope']),
    ('experiment-jobs-zero', 'experiment {spec_tiny} --jobs 0 --out {new} --dry-run', 'err', ['jobs']),
    ('experiment-report-only-empty', 'experiment {spec_tiny} --out {empty} --report-only', 'ok', []),
    ('experiment-set-epochs-text', 'experiment camvid-quarter --set train.run.epochs=abc --out {new} --dry-run', 'err', ['epochs']),
    ('experiment-out-file', 'experiment {spec_tiny} --out {file} --dry-run', 'err', ['existing file']),
    # --- rf, bench ---
    ('rf-layer-unknown', 'rf erfnet --layer nosuch', 'err', ['nosuch']),
    ('rf-input-zero', 'rf erfnet --input 0 0', 'err', ['input']),
    ('bench-sizes-text', 'bench --sizes abc', 'err', ['abc']),
    ('bench-checkpoint-missing', 'bench --checkpoint {tmp}/gone.pt', 'err', ['gone.pt']),
    ('unknown-command', 'trian --epochs 1', 'err', ['trian']),
]


# --- the world the cases run in: a finished train run, a finished pretext run, files of each kind of mistake ---
def _main(argv):
    "Run `sslseg argv` in-process: (exit code, stdout, stderr). Any exception other than SystemExit propagates (a traceback)."
    from sslseg.run.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main(argv)
        except SystemExit as e: rc = e.code if isinstance(e.code, int) else 2
    return rc, out.getvalue(), err.getvalue()

def make_world(tmp: Path) -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    w = {'tmp': tmp, 'run': tmp / 'run', 'pre': tmp / 'pre', 'file': tmp / 'results.txt', 'empty': tmp / 'empty'}
    w['file'].write_text('keep me'); w['empty'].mkdir(exist_ok=True)
    for key, argv in (('run', f'{TRAIN} --out {w["run"]}'), ('pre', f'{PRE} --out {w["pre"]}')):
        if not (w[key] / 'metrics.json').is_file():
            rc, _, err = _main(shlex.split(argv)); assert rc == 0, err[-2000:]
    files = {'bad_syntax.yaml': 'run: {epochs: 1\n', 'list_yaml.yaml': '- 1\n- 2\n', 'epochs_text.yaml': 'run:\n  epochs: ten\n',
             'unknown_key.yaml': 'optim:\n  lrr: 0.1\n', 'lr_yaml11.yaml': 'optim:\n  lr: 1e-3\n',
             'tc_half.json': json.dumps({'init': str(w['pre'] / 'last.pt'), 'prune_amount': 'half'}),
             'tc_unknown.json': json.dumps({'init': str(w['pre'] / 'last.pt'), 'pruning': 0.5}),
             'spec_tiny.yaml': 'name: tiny\ntrain: {data: {name: synthetic, size: [32, 48], n_train: 8, n_val: 4}, run: {epochs: 1, batch_size: 4}}\n'
                               'settings: {random: {}}\nseeds: [0]\n',
             'spec_bad_setting.yaml': 'base: camvid-quarter\nname: bad\nsettings:\n  random: {}\n  x: {transfer: {inits: "@colorize_1k_fixed"}}\n',
             'spec_bad_ref.yaml': 'base: camvid-quarter\nname: bad\nsettings:\n  random: {}\n  x: {transfer: {init: "@nope"}}\n'}
    for name, text in files.items():
        (tmp / name).write_text(text); w[name.rsplit('.', 1)[0]] = tmp / name
    return w

def snapshot(w: dict) -> dict:
    "Every file of the finished runs and the user's own file, as bytes."
    files = [w['file'], *sorted(w['run'].rglob('*')), *sorted(w['pre'].rglob('*'))]
    return {str(p): p.read_bytes() for p in files if p.is_file()}


# --- fix texts: every suggested command line must parse with the parser of the subcommand that printed it ---
class _Parser(Exception): pass

def parser_of(cmd: str) -> argparse.ArgumentParser:
    "The argparse parser `sslseg cmd` builds, caught as it starts parsing."
    from sslseg.run.cli import main
    real = argparse.ArgumentParser.parse_args
    def catch(self, *a, **k): raise _Parser(self)
    argparse.ArgumentParser.parse_args = catch
    try: main([cmd])
    except _Parser as e: return e.args[0]
    finally: argparse.ArgumentParser.parse_args = real
    raise AssertionError(f"sslseg {cmd} built no parser")

def _actions(p: argparse.ArgumentParser, argv: list) -> dict:
    "Option string -> action of `p` and of the subparser `argv` selects."
    acts = dict(p._option_string_actions)
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            sub = next((a.choices[t] for t in argv if t in a.choices), None)
            if sub is not None: acts.update(sub._option_string_actions)
    return acts

_WORD = re.compile(r'^[a-z]+$')
_STOP = {'or', 'and', 'to', 'then', 'with', 'for', 'of', 'in', 'the', 'a', 'an', 'if', 'is', 'are', 'that', 'instead', 'again', 'it', 'there'}

def suggestions(fix: str, cmd: str, argv: list) -> list[tuple[str, list[str], list[str]]]:
    "The command lines a fix text suggests: (subcommand, base argv, suggested tokens); a bare `--flag VALUE` is added to the user's own command."
    from sslseg.run.cli import COMMANDS
    toks = [t.strip('`"\'(') for t in fix.replace('`', ' ').split()]
    out, i = [], 0
    while i < len(toks):
        t = toks[i].rstrip(',;.)')
        if t == 'sslseg' and i + 1 < len(toks) and toks[i + 1].rstrip(',;.)') in COMMANDS:
            sub, j, line = toks[i + 1].rstrip(',;.)'), i + 2, []
            while j < len(toks) and toks[j].rstrip(',;.)') not in _STOP | {'sslseg'}:
                line.append(toks[j].rstrip(',;.)'))
                if toks[j][-1] in ',;)': j += 1; break
                j += 1
            out.append((sub, [], line)); i = j; continue
        if t.startswith('--') and len(t) > 2:
            acts = _actions(parser_of(cmd), argv)
            act = acts.get(t.split('=')[0])
            line, j = [t], i + 1
            if act is not None and '=' not in t:
                n = act.nargs
                want = 0 if n == 0 else 1 if n in (None, '?') else n if isinstance(n, int) else 99
                while want and j < len(toks):
                    v = toks[j].rstrip(',;.)')
                    # a lower-case word after a flag is prose ("pass another --out", "an --unfreeze-epoch below"), unless it is one of the flag's choices
                    if v.startswith('--') or v in _STOP or (_WORD.match(v) and v not in (act.choices or ())): break
                    line.append(v); want -= 1
                    if toks[j][-1] in ',;)': j += 1; break
                    j += 1
                if len(line) == 1 and act.nargs != 0: line = None       # a flag named, not a command line: it must exist (checked below)
            if line is None: out.append((cmd, argv, [t, '__named__'])); i = j; continue
            out.append((cmd, argv, line)); i = j; continue
        i += 1
    return out

def check_fix(fix: str, cmd: str, argv: list):
    for sub, base, line in suggestions(fix, cmd, argv):
        p = parser_of(sub)
        if line[-1:] == ['__named__']:
            assert line[0] in _actions(p, base), f"fix of sslseg {cmd} names {line[0]}, which sslseg {sub} does not have"
            continue
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try: p.parse_args(base + line)
            except SystemExit: raise AssertionError(f"fix of sslseg {cmd} suggests {' '.join(line)!r}, which sslseg {sub} cannot parse: "
                                                    f"{err.getvalue().strip().splitlines()[-1]}") from None


def run_case(w: dict, line: str, expect: str, words: list, new: Path):
    "Run one case in world `w`; an AssertionError says what went wrong."
    argv = shlex.split(line.format(**w, new=new))
    before = snapshot(w)
    rc, out, err = _main(argv)
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith('usage:') and not l.startswith(' ') and 'Warning' not in l]
    after = snapshot(w)      # new files (eval_*.json beside a run) are fine; every file that was there is unchanged
    assert all(after.get(p) == b for p, b in before.items()), f"{line}: a finished run's or the user's file changed"
    if expect == 'ok':
        assert rc == 0, f"{line}: exit {rc}: {err[-1000:]}"; return
    assert rc == 2, f"{line}: exit {rc} (expected a one-line error): {(err or out)[-1000:]}"
    assert len(lines) == 1 and 'Traceback' not in err, f"{line}: not one line: {err}"
    for word in words: assert word in lines[0], f"{line}: {word!r} not in {lines[0]!r}"
    if ' -- fix: ' in lines[0]: check_fix(lines[0].split(' -- fix: ', 1)[1], argv[0], argv[1:])
    if expect == 'err' and new.exists(): assert not any(new.rglob('*.pt')), f"{line}: a refused run wrote a checkpoint"


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    torch = pytest.importorskip('torch'); n = torch.get_num_threads(); torch.set_num_threads(1)
    yield make_world(tmp_path_factory.mktemp('sweep'))
    torch.set_num_threads(n)

@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_sweep(world, case, tmp_path):
    name, line, expect, words = case
    run_case(world, line, expect, words, tmp_path / 'new')

def test_the_sweep_is_broad():
    "Every subcommand is swept, and most cases are errors."
    from sslseg.run.cli import COMMANDS
    swept = {shlex.split(c[1])[0] for c in CASES}
    assert set(COMMANDS) - {'bench-tasks'} <= swept, set(COMMANDS) - swept
    assert len(CASES) >= 100 and sum(c[2] == 'err' for c in CASES) >= 90

def test_fix_parser_catches_a_flag_the_subcommand_lacks():
    "The fix check fails for the issue's two examples: `--opt` printed by train, `drop_last=None` written as a flag."
    with pytest.raises(AssertionError, match='--opt'): check_fix("pass --opt n_perms=100", 'train', [])
    with pytest.raises(AssertionError, match='--drop-last=None'): check_fix("pass --drop-last=None", 'train', [])
    check_fix("pass --drop-last, or --batch-size 8", 'train', [])
    check_fix("run sslseg eval RUN --split val, then compare", 'train', [])
    with pytest.raises(AssertionError, match='sslseg eval'): check_fix("run sslseg eval RUN --epochs 3", 'train', [])


if __name__ == '__main__':            # python tests/test_sweep.py: the counts for the README
    import tempfile, time, traceback, torch
    torch.set_num_threads(1)
    t0, tally, bad = time.time(), {}, []
    with tempfile.TemporaryDirectory() as d:
        w = make_world(Path(d) / 'world')
        for i, (name, line, expect, words) in enumerate(CASES):
            try: run_case(w, line, expect, words, Path(d) / f'new{i}'); tally[expect] = tally.get(expect, 0) + 1
            except AssertionError as e: bad.append((name, str(e)[:300]))
            except Exception: bad.append((name, 'traceback: ' + traceback.format_exc().strip().splitlines()[-1][:300]))
    print(f"{len(CASES)} cases in {time.time() - t0:.0f} s: {tally.get('err', 0)} one-line errors, {tally.get('ok', 0)} accepted and run, {len(bad)} wrong")
    for name, why in bad: print(f"  {name}: {why}")
    sys.exit(1 if bad else 0)
