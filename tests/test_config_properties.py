"""Property tests of typed configs (issue 19): Hypothesis draws a field of any job's config and a value of the wrong type for it, and every
way a value enters (a nested dict as from a YAML/JSON file, a dotted `--set`, a config file on disk, a transfer config) must refuse it with a
one-line `SSLSegError` that names the dotted key; values of the right type (numbers written as text included) must be accepted as given."""
import dataclasses, json, math, typing
from dataclasses import fields, is_dataclass
import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import given, settings, strategies as st, HealthCheck

from sslseg.core import SSLSegError
from sslseg.config import (TrainConfig, PretrainConfig, TuneConfig, KTConfig, EvalConfig, AnalyzeConfig, from_dict, override, parse_opts,
                           load_config, to_dict, _base)
from sslseg.experiment.report import ExperimentConfig
from sslseg.transfer.load import TransferSpec

CLASSES = (TrainConfig, PretrainConfig, TuneConfig, KTConfig, EvalConfig, AnalyzeConfig, ExperimentConfig, TransferSpec)

def leaves(cls, prefix=''):
    "(dotted key, type hint) of every leaf field of config class `cls`, through its nested config dataclasses."
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        h = hints[f.name]
        if is_dataclass(h): yield from leaves(h, f'{prefix}{f.name}.')
        else: yield f'{prefix}{f.name}', h

def _one_type(hint) -> bool: return len([a for a in typing.get_args(hint) if a is not type(None)]) <= 1

FIELDS = [(cls, key, hint) for cls in CLASSES for key, hint in leaves(cls) if _base(hint) in (int, float, str, bool, list, dict) and _one_type(hint)]
UNIONS = [(cls, key) for cls in CLASSES for key, hint in leaves(cls) if not _one_type(hint)]      # X | Y fields: run.amp (tested below)
NESTED = [(cls, f'{p.name}') for cls in CLASSES for p in fields(cls) if is_dataclass(typing.get_type_hints(cls)[p.name])]

def _not_a_number(s: str) -> bool:
    try: float(s); return False
    except ValueError: return True

_text = st.text(st.characters(codec='ascii', categories=('L', 'N', 'P')), min_size=1, max_size=8)
_word = _text.filter(_not_a_number)                          # 'nan', 'inf', '1e3', '1_0' are numbers to float()
_ints = st.integers(-10 ** 6, 10 ** 6)

def wrong_values(base):
    "Values that are not of type `base` (nor text that reads as one, for numbers)."
    common = [st.lists(_ints, max_size=3), st.dictionaries(_word, _ints, max_size=2)]
    return st.one_of(*{
        int: [_word, st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)), st.booleans(), *common],
        float: [_word, st.booleans(), *common],
        bool: [_word, _ints, st.floats(allow_nan=False), *common],
        str: [st.booleans(), *common],
        list: [_ints, _word, st.booleans(), st.dictionaries(_word, _ints, min_size=1, max_size=2)],
        dict: [_ints, _word, st.booleans(), st.lists(_ints, min_size=1, max_size=3)],
    }[base])

def right_values(base):
    return {int: _ints, float: st.floats(-1e6, 1e6, allow_nan=False), bool: st.booleans(), str: _word,
            list: st.lists(_ints, max_size=3), dict: st.dictionaries(_word, _ints, max_size=2)}[base]

def _nested(key: str, v):
    "{'run': {'epochs': v}} for 'run.epochs' (only the key is split: a dict value keeps its own keys)."
    for p in reversed(key.split('.')): v = {p: v}
    return v

def refused(fn, key: str) -> str:
    "The one-line message of the SSLSegError `fn()` must raise, checked to name `key`."
    with pytest.raises(SSLSegError) as e: fn()
    msg = str(e.value)
    assert '\n' not in msg and repr(key) in msg, (key, msg)
    return msg

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

def wrong(fields):
    "A (config class, dotted key, wrong-typed value) drawn from `fields`."
    return st.sampled_from(fields).flatmap(lambda f: wrong_values(_base(f[2])).map(lambda v: (f[0], f[1], v)))


@SETTINGS
@given(wrong(FIELDS))
def test_a_wrong_type_in_a_config_mapping_is_refused_naming_the_key(case):
    "As from a YAML/JSON file: the nested mapping {section: {key: value}}."
    cls, key, v = case
    msg = refused(lambda: from_dict(cls, _nested(key, v)), key)
    assert 'must be' in msg


@SETTINGS
@given(wrong(FIELDS))
def test_a_wrong_type_given_by_set_is_refused_naming_the_key(case):
    "As `--set key=value` writes it: the value as JSON text, read back by parse_opts, applied by override."
    cls, key, v = case
    if isinstance(v, str) and v in ('null', 'true', 'false', 'None', 'True', 'False'): return   # --set reads these as None / booleans
    text = v if isinstance(v, str) else json.dumps(v)
    refused(lambda: override(cls(), parse_opts([f'{key}={text}'], 'config')), key)


@settings(max_examples=60, deadline=None)
@given(wrong([f for f in FIELDS if f[0] is not TransferSpec]))
def test_a_wrong_type_in_a_config_file_names_the_key_and_the_file(tmp_path_factory, case):
    "A config file on disk (JSON, which YAML reads too): the error names the key and the file."
    cls, key, v = case
    path = tmp_path_factory.mktemp('cfg') / 'bad.yaml'
    path.write_text(json.dumps(_nested(key, v)))
    msg = refused(lambda: load_config(path, cls), key)
    assert str(path) in msg


@SETTINGS
@given(wrong([f for f in FIELDS if f[0] is TransferSpec]))
def test_a_wrong_type_in_a_transfer_config_is_refused(case):
    "What --transfer-config and a spec's transfer: section go through (the issue's `prune_amount: half`)."
    _, key, v = case
    refused(lambda: TransferSpec.from_dict({key: v}), key)


@SETTINGS
@given(st.sampled_from(NESTED), st.one_of(_ints, _word, st.lists(_ints, max_size=2), st.booleans()))
def test_a_section_that_is_not_a_mapping_is_refused(section, v):
    cls, key = section
    refused(lambda: from_dict(cls, {key: v}), key)


@SETTINGS
@given(st.sampled_from(FIELDS), st.data())
def test_a_right_type_is_kept_as_given(field, data):
    "Values of the field's type are accepted unchanged (ints where floats are expected become floats); numbers as text are read as numbers."
    cls, key, hint = field
    base = _base(hint)
    v = data.draw(right_values(base), label=key)
    as_text = data.draw(st.booleans(), label='as text') and base in (int, float)
    got = from_dict(cls, _nested(key, str(v) if as_text else v))
    for p in key.split('.'): got = getattr(got, p)
    want = float(v) if base is float else v
    assert got == want and type(got) is type(want), (key, v, got)


def test_the_sweep_covers_every_job_and_many_fields():
    assert {c for c, _, _ in FIELDS} == set(CLASSES)
    assert len(FIELDS) >= 150, len(FIELDS)


def test_a_two_type_field_takes_either_and_nothing_else():
    "run.amp is 'auto' | 'on' | 'off' or a boolean of older configs; a number or a list is refused naming the key."
    assert {k for _, k in UNIONS} == {'run.amp'}
    assert from_dict(TrainConfig, {'run': {'amp': True}}).run.amp is True
    assert from_dict(TrainConfig, {'run': {'amp': 'off'}}).run.amp == 'off'
    refused(lambda: from_dict(TrainConfig, {'run': {'amp': [1]}}), 'run.amp')
    with pytest.raises(SSLSegError, match='run.amp must be auto, on or off'): from_dict(TrainConfig, {'run': {'amp': 'fast'}}).validate()


def test_a_yaml11_float_reads_as_a_number(tmp_path):
    "The issue's example: `optim: {lr: 1e-3}` (PyYAML reads 1e-3 as text) is the number 0.001."
    (tmp_path / 'c.yaml').write_text('optim:\n  lr: 1e-3\nrun:\n  epochs: 2\n')
    c = load_config(tmp_path / 'c.yaml', TrainConfig)
    assert c.optim.lr == 0.001 and isinstance(c.optim.lr, float) and c.run.epochs == 2
