"""The index links every notebook in reading order and every notebook ends with prev/next links (tools/nb_index.py), and each has an H1."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _tool():
    spec = importlib.util.spec_from_file_location('nb_index', ROOT / 'tools' / 'nb_index.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m

def test_index_and_prev_next_links_are_current():
    assert _tool().main(['--check']) == 0, "run: python tools/nb_index.py"

def test_every_notebook_has_a_title_and_is_linked_from_the_index():
    t = _tool(); index = (ROOT / 'nbs' / 'index.ipynb').read_text()
    for p in t.notebooks():
        h, _ = t.title(p)
        assert h != p.stem and '`' not in h, f"{p}: no H1 title (or backticks in it, which the docs sidebar shows literally)"
        assert f"]({p.relative_to(ROOT / 'nbs').as_posix()})" in index, f"{p} is not linked from the index"
