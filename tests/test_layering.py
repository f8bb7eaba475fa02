"""The package's top-level parts form a strict order: a module imports only its own part and the parts before it.

Every `import` / `from ... import` in every `.py` under `sslseg/` counts, including lazy ones inside functions, so no two parts import
each other and a part can be read (and tested) knowing only the parts before it. A new top-level module or subpackage must be placed
in `ORDER` (`test_order_covers_every_part`)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / 'sslseg'
ORDER = ['core', 'config', 'callback', 'data', 'models', 'tasks', 'transfer', 'train', 'analysis', 'tune', 'experiment', 'bench', 'run']
IGNORED = {'__init__', '_modidx', '__main__'}   # the package root's own files: version, nbdev index

def module_name(path: Path, root: Path = ROOT) -> str:
    "`sslseg/train/learner.py` -> `sslseg.train.learner`; `sslseg/train/__init__.py` -> `sslseg.train`."
    parts = path.relative_to(root.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)

def part_of(mod: str):
    "Top-level part of an absolute module name (`sslseg.train.learner` -> `train`); None for non-sslseg or ignored modules."
    bits = mod.split('.')
    if bits[0] != 'sslseg' or len(bits) < 2 or bits[1] in IGNORED: return None
    return bits[1]

def imports(path: Path, root: Path = ROOT):
    "(line, absolute module name) of every import in `path`, anywhere in the file (function bodies included), relative ones resolved."
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = module_name(path, root)
    pkg = mod if path.name == '__init__.py' else mod.rpartition('.')[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names: yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split('.')
                if node.level - 1 > len(base) - 1: raise AssertionError(f"{path}:{node.lineno}: relative import beyond the package")
                base = '.'.join(base[:len(base) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else: target = node.module
            if target == 'sslseg':   # `from sslseg import data` / `from .. import data as D`: the names are the parts
                known = set(ORDER) | present_parts(root)
                for a in node.names: yield node.lineno, f"sslseg.{a.name}" if a.name in known else 'sslseg'   # __version__: the root
            else: yield node.lineno, target

def py_files(): return sorted(p for p in ROOT.rglob('*.py') if '__pycache__' not in p.parts)

def present_parts(root: Path = ROOT) -> set:
    "Top-level parts in `sslseg/`: modules and subpackages (any folder holding a `.py`, with or without `__init__.py`)."
    out = {p.stem for p in root.glob('*.py')} | {p.relative_to(root).parts[0] for p in root.glob('*/**/*.py') if '__pycache__' not in p.parts}
    return out - IGNORED

def edges():
    "(file, line, importer part, imported module, imported part) for every cross-part sslseg import."
    for f in py_files():
        src = part_of(module_name(f)) if f.parent != ROOT or f.stem not in IGNORED else None
        if src is None: continue
        for line, target in imports(f):
            dst = part_of(target)
            if dst is not None and dst != src: yield f, line, src, target, dst

def rank(part: str) -> int: return ORDER.index(part) if part in ORDER else len(ORDER)

def test_order_covers_every_part():
    missing = sorted(present_parts() - set(ORDER))
    assert not missing, f"top-level parts not placed in ORDER of tests/test_layering.py: {missing}"

def test_scanner(tmp_path):
    "The import scanner itself: relative imports resolve against the package, lazy (function-level) imports count."
    root = tmp_path / 'sslseg'; (root / 'train').mkdir(parents=True); (root / 'data').mkdir()
    (root / 'data' / '__init__.py').write_text('from .io import *\n')
    (root / 'train' / '__init__.py').write_text('from .learner import *\n')
    f = root / 'train' / 'learner.py'
    f.write_text('import torch\nfrom ..core import X\nfrom .. import data as D, __version__\nfrom . import pretrain\n'
                 'def f():\n    from sslseg.run.cli import main\n    import sslseg.tune.mixmatch\n')
    assert module_name(f, root) == 'sslseg.train.learner' and module_name(root / 'train' / '__init__.py', root) == 'sslseg.train'
    assert list(imports(f, root)) == [(1, 'torch'), (2, 'sslseg.core'), (3, 'sslseg.data'), (3, 'sslseg'), (4, 'sslseg.train'),
                                      (6, 'sslseg.run.cli'), (7, 'sslseg.tune.mixmatch')]
    assert list(imports(root / 'data' / '__init__.py', root)) == [(1, 'sslseg.data.io')]
    assert present_parts(root) == {'train', 'data'}
    assert part_of('sslseg._modidx') is None and part_of('sslseg') is None and part_of('torch.nn') is None
    assert part_of('sslseg.train.learner') == 'train'

def test_imports_follow_order():
    "(a) no module imports a part that comes later in ORDER (lazy imports included)."
    bad = [f"{f.relative_to(ROOT.parent)}:{line}: {src} imports {target} ({dst} comes after {src})"
           for f, line, src, target, dst in edges() if rank(dst) > rank(src)]
    assert not bad, "imports against the layer order " + ' < '.join(ORDER) + ":\n" + '\n'.join(bad)

def test_no_mutual_imports():
    "(b) no two parts import each other."
    seen = {}
    for f, line, src, target, dst in edges(): seen.setdefault((src, dst), f"{f.relative_to(ROOT.parent)}:{line}: {target}")
    bad = [f"{a} <-> {b}: {seen[(a, b)]} / {seen[(b, a)]}" for (a, b) in seen if (b, a) in seen and a < b]
    assert not bad, "parts that import each other:\n" + '\n'.join(bad)
