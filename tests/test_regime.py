"""One regime for every job (issue 17): loose parameters, generated flags, one place for defaults, registries."""
import argparse, dataclasses, importlib, inspect, pkgutil
import pytest
import sslseg
from sslseg.config import (SYNTHETIC_DEFAULTS, TrainConfig, PretrainConfig, TuneConfig, KTConfig, EvalConfig, config_parser, build_config,
                           SHORTCUTS, shortcut_field, resolve)
from sslseg.core import REGISTRIES


def _loose(f) -> int:
    ps = inspect.signature(f).parameters.values()
    return sum(1 for p in ps if p.name not in ('self', 'cls') and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               and 'Config' not in str(p.annotation))

def _public_functions():
    for m in pkgutil.walk_packages(sslseg.__path__, 'sslseg.'):
        if m.name.endswith('__main__'): continue
        mod = importlib.import_module(m.name)
        for n, o in vars(mod).items():
            if n.startswith('_') or getattr(o, '__module__', None) != mod.__name__: continue
            if inspect.isfunction(o): yield f"{mod.__name__}.{n}", o
            elif inspect.isclass(o) and not dataclasses.is_dataclass(o):
                for k, v in vars(o).items():
                    if not k.startswith('_') and inspect.isfunction(v): yield f"{mod.__name__}.{n}.{k}", v

def test_no_public_function_takes_more_than_8_loose_parameters():
    "Module-level functions and methods; constructors of estimator-style classes (tasks, heads) and config dataclasses are configuration, not counted."
    over = {name: _loose(f) for name, f in _public_functions() if _loose(f) > 8}
    assert not over, f"functions with more than 8 loose parameters (give them a config object): {over}"

def test_every_flag_maps_to_a_field():
    for cls in (TrainConfig, PretrainConfig, TuneConfig, KTConfig, EvalConfig):
        for name in cls.flags: assert shortcut_field(cls, name), f"{cls.__name__}.flags names {name!r}, which sets none of its fields"

@pytest.mark.parametrize('cls', [TrainConfig, PretrainConfig, TuneConfig, KTConfig])
def test_every_backbone_in_the_help_builds(cls):
    from sslseg.models import BACKBONES, build_backbone
    p = config_parser(cls, 'x', 'y')
    act = next(a for a in p._actions if a.dest in ('backbone', 'student'))
    assert list(act.choices) == BACKBONES.names() and 'mobilenetv2' not in act.choices
    for name in act.choices:
        cfg = build_config(cls, p.parse_args(['--' + act.dest, name] + (['--teacher', 'random'] if cls is KTConfig else [])))
        build_backbone(cfg.model.backbone, num_classes=11)

def test_workers_help_tells_the_real_default():
    h = config_parser(TrainConfig, 'x', 'y').format_help()
    assert 'default 2' not in h and '0 on CPU' in ' '.join(h.split())

def test_synthetic_defaults_live_in_one_place():
    from sslseg.data import get_dataset
    d = SYNTHETIC_DEFAULTS
    assert list(get_dataset('synthetic')[0][0].shape[-2:]) == d['size'] and len(get_dataset('synthetic')) == d['n_train']
    assert len(get_dataset('synthetic', split='val')) == d['n_val']
    assert TrainConfig().data.resolved().size == d['size'] and resolve(EvalConfig, checkpoint='x').data.size == d['size']
    assert TuneConfig().data.resolved().n_train == d['n_train']

def test_kt_ft_batch_size_reaches_the_config():
    p = config_parser(KTConfig, 'x', 'y')
    cfg = build_config(KTConfig, p.parse_args(['all', '--teacher', 'random', '--ft-batch-size', '3', '--out', 'o']))
    assert cfg.finetune.train_config(cfg.data, cfg.run, 'o/finetune').run.batch_size == 3

def test_choices_come_from_the_registries():
    p = config_parser(PretrainConfig, 'x', 'y')
    acts = {a.dest: a for a in p._actions}
    assert list(acts['task'].choices) == REGISTRIES['task'].names() and list(acts['data'].choices) == REGISTRIES['dataset'].names()
    with pytest.raises(SystemExit): p.parse_args(['--task', 'rotations'])
