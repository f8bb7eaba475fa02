#!/usr/bin/env python3
"""Build the docs site: `python tools/build_docs.py --out _site [--no-execute] [--jobs N] [--timeout S] [--flags slow] [--check]`.

A browsable HTML site built from the notebooks, with their figures, without quarto. It lives beside the package, not in it:
building the docs is a task of this repository, not of the library's users. `tests/test_docs.py` imports it by path.

`nbdev_docs` renders the notebooks with quarto, and quarto ships as a binary that cannot be installed on every machine (the
`quarto-cli` package downloads it at build time). `_quarto.yml` stays for users who have it. This script builds the site with what
the dev requirements already bring: **execnb** (the executor behind `nbdev_test`) runs the notebooks, **nbconvert** (its `basic`
template: mistune for markdown, pygments for code) turns each into the body of a page, and a small layout adds a sidebar grouped by
folder, previous/next links and one stylesheet.

The committed notebooks are cleaned (no outputs), so the build executes them, as `nbdev_test` does: `#| slow` cells (the
`tst_flags`) and `#| eval: false` cells are skipped. Each notebook runs in its own Python process, `--jobs` of them at a time; one
that fails shows its error on its page, the others go on, and the command exits 1 with a summary (also when `--check` found
problems).

Cell directives. nbdev's directives are the `#| name [value]` lines at the top of a code cell. `cell_directives` reads them and
returns the source without them: the page shows `#| export` cells as plain code. `skip_cell` is `nbdev_test`'s rule for not running
a cell; `hidden_cell` is the rule for not showing it (`#| hide`, quarto's `#| include: false`).

Reading order. The pages follow the order a reader should meet the notebooks: the top-level notebooks first (`index` first of all),
then one group per subfolder, in the order of `docs_order` in settings.ini; folders it does not name come after the folders their
notebooks import from (`from sslseg.data import ...` puts `data` before the importing folder), which is the data flow of the package;
folders that do not depend on each other are taken alphabetically. Files and folders starting with `_` or `.` are left out, as
nbdev does.

Executing a notebook. `execute_notebook` runs one notebook in its own folder with execnb's `CaptureShell`, the shell `nbdev_test`
uses (figures come back as PNG outputs through matplotlib's inline backend). It stops at the first error, as `nbdev_test` does, and
records it in the notebook's metadata (cells counted from 1, as in `nbdev_test`'s "Executing Cell #"); a cell marked
`#| error: true` (quarto's directive) may raise, and its error is shown as plain text. IPython prints its coloured traceback into the
cell's stdout; `_move_traceback` moves it into the error output so that the page shows one traceback, in the error block. Each
notebook runs in a fresh process (`run_notebook`): a notebook cannot leak imports, figures or a changed working directory into the
next, a crash or `timeout` loses only that page, and several processes run at once (each with its share of the cores as OpenMP
threads, unless `OMP_NUM_THREADS` is set). The result comes back through a small JSON file next to the executed notebook.

Rendering a page. `page_body` prepares a notebook for reading and hands it to nbconvert's `basic` template (the cells only, no page
around them): hidden cells go, directive lines are stripped from the shown source, a cell left empty goes, `#| echo: false` hides a
cell's source and `#| output: false` its outputs; an expected error (`#| error: true`) is shown as stderr text, not as an error
block. Figures are written next to the page (`<page>_files/`) rather than inlined, so pages stay small. Links to other notebooks
(`x.ipynb`) point to their pages.

The page around it. Every page has the same frame: a sidebar listing all pages grouped by folder (the current one marked), the
notebook, and links to the previous and next page. All links are relative, so the site works from a folder opened in a browser as
well as from a web server. A page whose notebook failed says so in a red box at the top; a page built without executing its notebook
says that its outputs are missing. A few lines of script mark images the browser could not decode and count the good ones in the
`data-images` attribute of `<body>` (what the browser check reads). The stylesheet: a fixed sidebar, readable line length,
pygments' colours for code, nbconvert's ANSI classes for coloured tracebacks.

Building the site. `build_site` puts it together: find the notebooks, execute those asked for (`execute`: `True`, `False`, or a
list of paths relative to `nbs`) `jobs` at a time, render every page, write the figures next to their pages, copy the pictures the
notebooks' markdown refers to, and write the stylesheet. `nbs/index.ipynb` becomes `index.html`, `nbs/data/00_io.ipynb` becomes
`data/00_io.html`. The site is built in a side folder and moved in place at the end; `out` is replaced only when it holds a site
built before (a marker file), never another folder. The return value summarises the build; failed notebooks are listed, not raised.

Checking the site in a browser. `check_site` opens every page in headless Chromium (`--dump-dom`: the DOM after the page has loaded
and its script has run) and checks, per page: it loaded (its `<body>` is there), it has no error block (a failed cell's error
output, or the build's failure box), every `<img>` has a `src` that is a `data:` URI or an existing file and the browser decoded it
(the page script's count), and every relative link points to an existing file. Pages are loaded `jobs` at a time, each Chromium
with its own profile folder. `screenshots` (`{page: png}`) also saves pictures of pages, for a human look. Chromium:
`apt-get install chromium`, or $CHROMIUM pointing at a Chrome binary.
"""
from __future__ import annotations
import argparse, functools, html, importlib.util, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor, as_completed
from html.parser import HTMLParser
from pathlib import Path

def _error(problem: str, path=None, fix: str | None = None):
    "An `SSLSegError`, imported when needed: the notebook processes import this module, and need not pay for torch."
    from sslseg.core import SSLSegError
    return SSLSegError(problem, path, fix)

_re_directive = re.compile(r'^\s*#\|\s*([\w-]+):?\s*(.*?)\s*$')

def cell_directives(src: str) -> tuple[dict, str]:
    "The leading `#| name [value]` lines of a code cell as `{name: value}`, and the source without them."
    lines, d, i = src.splitlines(True), {}, 0
    while i < len(lines):
        m = _re_directive.match(lines[i])
        if m: d[m[1].lower()] = m[2]
        elif lines[i].strip(): break
        i += 1
    return d, ''.join(lines[i:])

def _false(d: dict, key: str) -> bool: return d.get(key, '').lower() == 'false'

def skip_cell(d: dict, src: str = '', skip_flags=('slow',)) -> bool:
    "True when `nbdev_test` would not run a cell with directives `d`: `eval: false`, a skip flag, or a call of nbdev_export."
    return _false(d, 'eval') or bool(set(skip_flags) & d.keys()) or 'nbdev_export' + '(' in src

def hidden_cell(d: dict) -> bool:
    "True when a cell with directives `d` is not shown on the page (`#| hide`, `#| include: false`)."
    return 'hide' in d or _false(d, 'include')

_re_import = re.compile(r'\bsslseg\.(\w+)')

def _code_text(path: Path) -> str:
    nb = json.loads(Path(path).read_text())
    return '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code')

def folder_order(folders: dict) -> list:
    "Names of `folders` ({name: [notebook paths]}) so that each comes after those its notebooks import as `sslseg.<name>`."
    deps = {f: {m for p in ps for m in _re_import.findall(_code_text(p))} & (folders.keys() - {f}) for f, ps in folders.items()}
    order = []
    while deps:
        ready = sorted(f for f, d in deps.items() if d <= set(order)) or sorted(deps)   # an import cycle: break it alphabetically
        order.append(ready[0]); del deps[ready[0]]
    return order

def notebooks(nbs='nbs') -> list:
    "`[(folder, [paths])]`: the notebooks under `nbs` in reading order, top level (folder '') first with `index` first."
    nbs = Path(nbs)
    groups = {}
    for p in sorted(nbs.rglob('*.ipynb')):
        rel = p.relative_to(nbs)
        if any(s.startswith(('_', '.')) for s in rel.parts): continue
        groups.setdefault(rel.parts[0] if len(rel.parts) > 1 else '', []).append(p)
    top = sorted(groups.pop('', []), key=lambda p: (p.stem != 'index', p.name))
    import configparser
    cp, ini = configparser.ConfigParser(), nbs.resolve().parent / 'settings.ini'
    order = cp['DEFAULT'].get('docs_order', '') if ini.is_file() and cp.read(ini) else ''
    fixed = [f for f in order.split() if f in groups]   # settings.ini's docs_order fixes the reading order; other folders follow
    rest = folder_order({f: ps for f, ps in groups.items() if f not in fixed})
    return ([('', top)] if top else []) + [(f, groups[f]) for f in fixed + rest]

_re_tb_start = re.compile(r'^(\x1b\[[\d;]*m)?-{20,}')

def _move_traceback(cell):
    "Move IPython's coloured traceback from the cell's stdout into its error output (which has a plain one)."
    errs = [o for o in cell.outputs if o['output_type'] == 'error']
    if not errs: return
    for o in cell.outputs:
        if o['output_type'] != 'stream': continue
        lines = ''.join(o['text']).splitlines(True)
        at = next((i for i in range(len(lines) - 1) if _re_tb_start.match(lines[i]) and 'Traceback' in lines[i + 1]), None)
        if at is None: continue
        errs[0]['traceback'] = [l.rstrip('\n') for l in lines[at:]]
        o['text'] = ''.join(lines[:at])
    cell.outputs = [o for o in cell.outputs if o['output_type'] != 'stream' or ''.join(o['text'])]

def execute_notebook(src, dest, skip_flags=('slow',)) -> dict:
    "Run notebook `src` in its folder like `nbdev_test` (skipping `skip_flags` and `eval: false` cells); write it with outputs to `dest`."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    src, t0, err, cwd = Path(src).resolve(), time.perf_counter(), None, os.getcwd()
    nb = read_nb(src)
    shell = CaptureShell(src, mpl_format='png')
    os.chdir(src.parent)
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code': continue
            d, _ = cell_directives(cell.source)
            if skip_cell(d, cell.source, skip_flags): continue
            shell.cell(cell)
            if shell.exc is None: continue
            _move_traceback(cell)
            if d.get('error', '').lower() == 'true': cell.metadata['expected_error'] = True; continue
            err = dict(cell=i + 1, error=f'{type(shell.exc).__name__}: {shell.exc}'); break
    finally: os.chdir(cwd)
    res = dict(ok=err is None, seconds=round(time.perf_counter() - t0, 2), error=err)
    nb.metadata['sslseg_docs'] = res
    Path(dest).parent.mkdir(parents=True, exist_ok=True); write_nb(nb, dest)
    return res

_WORKER = ("import importlib.util, json, sys; s = importlib.util.spec_from_file_location('build_docs', sys.argv[4]); "
           "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
           "json.dump(m.execute_notebook(sys.argv[1], sys.argv[2], sys.argv[3].split(',')), open(sys.argv[2] + '.json', 'w'))")

def run_notebook(src, dest, skip_flags=('slow',), timeout: float | None = None, threads: int | None = None) -> dict:
    "`execute_notebook` in a new Python process (`threads` OpenMP threads unless set), killed after `timeout` s; a dead process is an error."
    env = {**os.environ, 'IN_TEST': '1', 'MPLBACKEND': 'agg'}
    if threads: env.setdefault('OMP_NUM_THREADS', str(threads))
    t0, fail = time.perf_counter(), None
    try:
        p = subprocess.run([sys.executable, '-c', _WORKER, str(src), str(dest), ','.join(skip_flags), str(Path(__file__).resolve())],
                           capture_output=True, text=True, timeout=timeout, env=env)
        res = Path(str(dest) + '.json')
        if res.exists(): return json.loads(res.read_text())
        fail = f'the notebook process died (exit {p.returncode}): ' + ' '.join(p.stderr.strip().splitlines()[-3:])
    except subprocess.TimeoutExpired: fail = f'timed out after {timeout:g} s'
    return dict(ok=False, seconds=round(time.perf_counter() - t0, 2), error=dict(cell=None, error=fail))

def notebook_title(nb) -> str:
    "The first `# heading` of the notebook's first markdown cells, or ''."
    for c in nb.cells:
        if c.cell_type != 'markdown': continue
        m = re.search(r'^#\s+(.+?)\s*#*\s*$', c.source, re.M)
        if m: return m[1]
    return ''

def _for_reading(nb, skip_flags=('slow',)):
    "Drop hidden cells, strip directives, apply `echo`/`output`/`error` directives (in place)."
    import nbformat
    cells = []
    for c in nb.cells:
        if c.cell_type == 'code':
            d, src = cell_directives(c.source)
            if hidden_cell(d): continue
            c.source = src.rstrip()
            outs = [] if _false(d, 'output') else c.get('outputs', [])
            if c.metadata.get('expected_error'):
                outs = [nbformat.v4.new_output('stream', name='stderr', text='\n'.join(o['traceback']) + '\n')
                        if o['output_type'] == 'error' else o for o in outs]
            c.outputs = outs
            if _false(d, 'echo') or not c.source: c.metadata.setdefault('tags', []).append('remove_input')
            if not c.source and not c.outputs: continue
        cells.append(c)
    nb.cells = cells
    return nb

_re_nb_link = re.compile(r'(href=")((?![a-z][a-z0-9+.-]*:)[^"#]*?)\.ipynb(?=["#])', re.I)

@functools.cache
def _exporter():
    "nbconvert's HTML exporter, `basic` template (cells only), figures extracted to files, no prompts; made once."
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    c = Config()
    c.HTMLExporter.exclude_input_prompt = c.HTMLExporter.exclude_output_prompt = True
    c.ExtractOutputPreprocessor.enabled = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    c.HTMLExporter.filters = {'clean_html': lambda s: s}   # the project's own notebooks: no bleach (half the rendering time)
    return HTMLExporter(config=c, template_name='basic')

def page_body(nb, stem: str) -> tuple[str, dict]:
    "HTML of the cells of the (executed) notebook `nb`, and `{relative path: bytes}` of the figures it refers to."
    body, res = _exporter().from_notebook_node(_for_reading(nb), resources=dict(output_files_dir=f'{stem}_files', unique_key='fig'))
    return _re_nb_link.sub(r'\1\2.html', body), res.get('outputs', {})

_IMAGE_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  bad.forEach(function (i) { i.classList.add('broken-image'); });
  document.body.setAttribute('data-images', (imgs.length - bad.length) + '/' + imgs.length);
});
</script>"""

def _mathjax(body: str, url: str) -> str:
    "MathJax for pages with TeX (`$...$`), loaded asynchronously: offline, the TeX stays as written and the page works."
    if not url or '$' not in body: return ''
    return ('<script>window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]]}};</script>'
            f'<script async src="{html.escape(url)}"></script>')

def _href(page: str, target: str) -> str:
    "Relative link from site page `page` to site page `target` (both relative to the site root)."
    return Path(os.path.relpath(target, Path(page).parent)).as_posix()

MATHJAX = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js'

def page_html(site: dict, page: str, body: str, note: str = '', mathjax: str = MATHJAX) -> str:
    "The full HTML of `page`: sidebar from `site` ({'title', 'groups': [(folder, [(page, title)])]}, first page = home), `note`, `body`, prev/next."
    order = [(p, t) for _, ps in site['groups'] for p, t in ps]
    i = [p for p, _ in order].index(page)
    nav = []
    for folder, ps in site['groups']:
        items = ''.join(f'<li><a href="{_href(page, p)}"' + (' class="current"' if p == page else '') + f'>{html.escape(t)}</a></li>'
                        for p, t in ps)
        nav.append(f'<div class="nav-group"><div class="nav-folder">{html.escape(folder or "overview")}</div><ul>{items}</ul></div>')
    link = lambda j, cls, arrow: (f'<a class="{cls}" href="{_href(page, order[j][0])}">{arrow} {html.escape(order[j][1])}</a>'
                                  if 0 <= j < len(order) else '<span></span>')
    title = order[i][1]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - {html.escape(site['title'])}</title>
<link rel="stylesheet" href="{_href(page, 'site.css')}">{_mathjax(body, mathjax)}</head>
<body data-page="{html.escape(page)}">
<nav class="sidebar"><a class="site-title" href="{_href(page, order[0][0])}">{html.escape(site['title'])}</a>{''.join(nav)}</nav>
<main>{note}
{body}
<div class="pager">{link(i - 1, 'prev', '&larr;')}{link(i + 1, 'next', '&rarr;')}</div></main>
{_IMAGE_CHECK}
</body></html>
"""

_ANSI = dict(black='#3e424d', red='#e75c58', green='#00a250', yellow='#ddb62b', blue='#208ffb', magenta='#d160c4', cyan='#60c6c8', white='#c5c1b4')
_CSS = """
body { margin: 0; font: 16px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222; }
.sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: 250px; overflow-y: auto; background: #f6f7f9;
           border-right: 1px solid #e2e4e8; padding: 18px 14px; box-sizing: border-box; font-size: 14px; }
.site-title { display: block; font-size: 20px; font-weight: 700; color: #1a4f8b; text-decoration: none; margin-bottom: 14px; }
.nav-folder { font-weight: 600; text-transform: uppercase; font-size: 12px; color: #666; margin: 14px 0 4px; letter-spacing: .05em; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar li a { display: block; padding: 3px 8px; color: #333; text-decoration: none; border-radius: 4px; }
.sidebar li a:hover { background: #e8ebf0; }
.sidebar li a.current { background: #1a4f8b; color: #fff; }
main { margin-left: 250px; padding: 24px 48px 60px; max-width: 980px; }
a { color: #1a5fb4; }
h1 { font-size: 2.1em; margin-top: .3em; } h1, h2, h3 { line-height: 1.25; }
.anchor-link { visibility: hidden; margin-left: .3em; text-decoration: none; color: #aaa; }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link { visibility: visible; }
blockquote { margin: 0 0 1em; padding: .2em 1em; border-left: 4px solid #c9d6e8; color: #444; font-size: 1.08em; }
.cell { margin: 10px 0; }
.input_area .highlight { background: #f6f8fa; border: 1px solid #e4e7eb; border-radius: 6px; }
.highlight pre, .output_area pre { margin: 0; padding: 10px 12px; overflow-x: auto; font: 13px/1.45 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.output_area pre { padding: 6px 12px; }
.output_stderr pre { background: #fff4f4; }
.output_error { border-left: 4px solid #e75c58; background: #fff0f0; }
.output_png img, .output_jpeg img, .output_svg img, .rendered_html img { max-width: 100%; height: auto; }
.output_subarea { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #dde1e6; padding: 3px 8px; text-align: left; } th { background: #f3f5f8; }
code { background: #f3f4f6; padding: .1em .3em; border-radius: 3px; font-size: .92em; } pre code { background: none; padding: 0; }
.build-error { border: 2px solid #d33; background: #fff0f0; color: #900; padding: 10px 14px; border-radius: 6px; margin-bottom: 16px; }
.build-note { border: 1px solid #d9c77a; background: #fffbe6; color: #6b5a00; padding: 8px 14px; border-radius: 6px; margin-bottom: 16px; font-size: 14px; }
.broken-image { outline: 3px solid red; }
.pager { display: flex; justify-content: space-between; margin-top: 40px; padding-top: 14px; border-top: 1px solid #e2e4e8; }
.pager a { text-decoration: none; }
@media (max-width: 800px) { .sidebar { position: static; width: auto; } main { margin-left: 0; padding: 16px; } }
"""

def site_css() -> str:
    "The site's stylesheet: layout, pygments' code colours, ANSI colours of tracebacks."
    from pygments.formatters import HtmlFormatter
    ansi = ''.join(f'.ansi-{n}-fg {{ color: {c}; }} .ansi-{n}-bg {{ background: {c}; }} .ansi-{n}-intense-fg {{ color: {c}; font-weight: 600; }} '
                   for n, c in _ANSI.items())
    return _CSS + HtmlFormatter(style='default').get_style_defs('.highlight') + '\n.ansi-bold { font-weight: 700; }\n' + ansi + '\n'

SITE_MARKER = '.sslseg-site'
DOCS_NEEDS = ('nbconvert', 'execnb')
_IMG_EXT = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp'}

def _missing(mods) -> list: return [m for m in mods if importlib.util.find_spec(m) is None]

def _settings(nbs: Path) -> dict:
    "The [DEFAULT] section of the settings.ini beside the notebook folder, or {}."
    import configparser
    ini, cp = Path(nbs).resolve().parent/'settings.ini', configparser.ConfigParser()
    return dict(cp['DEFAULT']) if ini.is_file() and cp.read(ini) else {}

def _note(r: dict | None) -> str:
    if r is None: return '<div class="build-note">Built without executing this notebook: outputs and figures are not shown.</div>'
    if r['ok']: return ''
    where = f" in cell {r['error']['cell']}" if r['error']['cell'] is not None else ''
    return (f'<div class="build-error"><b>This notebook failed while the docs were built</b>{where}: {html.escape(r["error"]["error"])}. '
            'The page shows the outputs up to there.</div>')

def build_site(out='_site', nbs='nbs', jobs=1, execute=True, skip_flags=None, timeout: float | None = None, mathjax: str = MATHJAX,
               log=print) -> dict:
    "Build the HTML site of the notebooks under `nbs` into `out`, executing them (`execute`: bool or paths relative to `nbs`) `jobs` at a time."
    nbs, out, t0 = Path(nbs), Path(out), time.perf_counter()
    if not nbs.is_dir(): raise _error('notebook folder not found', nbs, 'run from the repository root or pass --nbs FOLDER')
    miss = _missing(DOCS_NEEDS if execute else DOCS_NEEDS[:1])
    if miss: raise _error(f"building the docs needs {' and '.join(miss)}", None, f"pip install {' '.join(miss)}  (or pip install -e '.[dev]')")
    if out.exists() and not (out.is_dir() and ((out/SITE_MARKER).exists() or not any(out.iterdir()))):
        raise _error('the output folder exists and is not a site built by build_docs.py', out, 'choose another --out, or remove that folder')
    groups = notebooks(nbs)
    if not groups: raise _error('no notebooks found', nbs, 'pass the folder holding the .ipynb files with --nbs')
    if skip_flags is None: skip_flags = tuple(_settings(nbs).get('tst_flags', 'slow').split())
    import nbformat
    srcs = [p for _, ps in groups for p in ps]
    rel = {p: p.relative_to(nbs).as_posix() for p in srcs}
    wanted = {Path(e).as_posix() for e in execute} if not isinstance(execute, bool) else set(rel.values()) if execute else set()
    if wanted - set(rel.values()):
        raise _error(f"not a notebook of the site: {', '.join(sorted(wanted - set(rel.values())))}", nbs, 'give paths relative to the notebook folder')
    todo, results, threads = [p for p in srcs if rel[p] in wanted], {}, max(1, (os.cpu_count() or 1) // max(1, jobs))
    with tempfile.TemporaryDirectory() as tmp:
        if todo: log(f'executing {len(todo)} notebooks, {jobs} at a time')
        with ThreadPoolExecutor(max(1, jobs)) as ex:
            futs = {ex.submit(run_notebook, p, Path(tmp)/rel[p], skip_flags, timeout, threads): p for p in todo}
            for k, f in enumerate(as_completed(futs), 1):
                p = futs[f]; r = results[p] = f.result()
                log(f"[{k}/{len(todo)}] {rel[p]}: " + ('ok' if r['ok'] else 'FAILED, ' + r['error']['error']) + f" ({r['seconds']:.1f} s)")
        nb = {p: nbformat.read(Path(tmp)/rel[p] if (Path(tmp)/rel[p]).exists() else p, 4) for p in srcs}
    page = {p: rel[p][:-len('.ipynb')] + '.html' for p in srcs}
    site = dict(title=_settings(nbs).get('title') or nbs.resolve().parent.name,
                groups=[(f, [(page[p], notebook_title(nb[p]) or p.stem) for p in ps]) for f, ps in groups])
    stage = out.parent/f'.{out.name}.building'
    shutil.rmtree(stage, ignore_errors=True)
    for p in srcs:
        dest = stage/page[p]; dest.parent.mkdir(parents=True, exist_ok=True)
        body, figs = page_body(nb[p], dest.stem)
        dest.write_text(page_html(site, page[p], body, _note(results.get(p)), mathjax))
        for f, b in figs.items(): (dest.parent/f).parent.mkdir(parents=True, exist_ok=True); (dest.parent/f).write_bytes(b)
    for f in nbs.rglob('*'):
        r = f.relative_to(nbs)
        if f.suffix.lower() in _IMG_EXT and not any(s.startswith(('_', '.')) for s in r.parts):
            (stage/r).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, stage/r)
    (stage/'site.css').write_text(site_css())
    failed = [(rel[p], r['error']) for p, r in results.items() if not r['ok']]
    summary = dict(out=str(out), pages=len(srcs), executed=len(results), failed=failed, seconds=round(time.perf_counter() - t0, 1))
    (stage/SITE_MARKER).write_text(json.dumps(summary, indent=1))
    shutil.rmtree(out, ignore_errors=True); stage.rename(out)
    return summary

def find_chromium() -> str | None:
    "A Chromium or Chrome binary: $CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH."
    for c in [os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']:
        if c and shutil.which(c): return shutil.which(c)
    return None

def _chromium(chromium, args, url, profile, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, '--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', f'--user-data-dir={profile}', *args, url],
                          capture_output=True, text=True, timeout=timeout)

class _PageParser(HTMLParser):
    "What the check reads from a DOM: image sources, link targets, error blocks, the attributes of <body>."
    def __init__(self):
        super().__init__(); self.imgs, self.links, self.errors, self.body = [], [], [], {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'img': self.imgs.append(a.get('src') or '')
        elif tag == 'a' and a.get('href') is not None: self.links.append(a['href'])
        elif tag == 'body': self.body = a
        self.errors += [c for c in (a.get('class') or '').split() if c in ('output_error', 'build-error')]

def check_page(site, page: str, dom: str) -> list:
    "Problems of page `page` of the site in folder `site`, read from its DOM as the browser left it."
    from urllib.parse import unquote
    q, here, probs = _PageParser(), (Path(site)/page).parent, []
    q.feed(dom)
    if q.body.get('data-page') != page: return [f'{page}: did not load']
    if q.errors: probs.append(f'{page}: {len(q.errors)} error block(s): ' + ', '.join(sorted(set(q.errors))))
    good, _, total = q.body.get('data-images', '').partition('/')
    if not total or good != total: probs.append(f"{page}: images the browser decoded: {q.body.get('data-images') or 'unknown, the page script did not run'}")
    for s in q.imgs:
        if not s: probs.append(f'{page}: <img> without src')
        elif not s.startswith('data:') and not (here/unquote(s.split('#')[0])).is_file(): probs.append(f'{page}: missing image {s}')
    for h in dict.fromkeys(q.links):
        t = unquote(h.split('#')[0])
        if t and not re.match(r'[a-z][a-z0-9+.-]*:', t, re.I) and not (here/t).is_file(): probs.append(f'{page}: broken link {h}')
    return probs

def check_site(site='_site', chromium=None, jobs=2, screenshots: dict | None = None, pages=None) -> dict:
    "Load every page of `site` (or those in `pages`) in headless Chromium, `check_page` each, save `screenshots` ({page: png})."
    chromium = chromium or find_chromium()
    if not chromium: raise _error('the browser check needs Chromium', None, 'apt-get install chromium (Debian), or set $CHROMIUM to a Chrome binary')
    site = Path(site).resolve()
    if not (site/SITE_MARKER).exists(): raise _error('not a site built by build_docs.py', site, 'build it first: python tools/build_docs.py --out DIR')
    pages = sorted(pages or (p.relative_to(site).as_posix() for p in site.rglob('*.html')))
    with tempfile.TemporaryDirectory() as tmp:
        def one(i):
            try: dom = _chromium(chromium, ['--virtual-time-budget=10000', '--dump-dom'], (site/pages[i]).as_uri(), f'{tmp}/p{i}').stdout
            except subprocess.TimeoutExpired: return [f'{pages[i]}: the browser timed out']
            return check_page(site, pages[i], dom)
        with ThreadPoolExecutor(max(1, jobs)) as ex: probs = [x for ps in ex.map(one, range(len(pages))) for x in ps]
        for i, (page, png) in enumerate((screenshots or {}).items()):
            png = Path(png).resolve(); png.parent.mkdir(parents=True, exist_ok=True)
            _chromium(chromium, ['--hide-scrollbars', '--window-size=1280,1000', f'--screenshot={png}'], (site/page).as_uri(), f'{tmp}/s{i}')
            if not png.is_file(): probs.append(f'{page}: no screenshot')
    return dict(pages=len(pages), problems=probs)

NBS = Path(__file__).resolve().parent.parent / 'nbs'     # this repository's notebooks

def main(argv=None) -> int:
    "`python tools/build_docs.py`: build the HTML site of the notebooks; `--check` then loads every page in headless Chromium."
    p = argparse.ArgumentParser(prog='python tools/build_docs.py', description="Build a browsable HTML site from the notebooks, executing them for their "
                                "outputs and figures. Needs no quarto (where quarto is installed, nbdev_docs uses _quarto.yml).")
    p.add_argument('--out', default='_site', help='folder of the site (default _site); replaced only if it holds a site built before')
    p.add_argument('--nbs', default=str(NBS), help="folder of the notebooks (default: this repository's nbs/)")
    p.add_argument('--no-execute', dest='execute', action='store_false', help='render the notebooks as committed, without outputs (fast)')
    p.add_argument('--jobs', type=int, default=1, help='notebooks executed at once, each in its own process (default 1)')
    p.add_argument('--timeout', type=float, default=None, help='seconds a notebook may run before it is stopped (default: no limit)')
    p.add_argument('--flags', nargs='*', default=[], help="also run cells with these flags, as nbdev_test --flags (default: skip slow cells)")
    p.add_argument('--mathjax', default=MATHJAX, help="URL of MathJax 3 for pages with TeX ('' leaves it out; default: jsDelivr)")
    p.add_argument('--check', action='store_true', help='then load every page in headless Chromium: errors, images, links')
    a = p.parse_args(argv)
    if a.jobs < 1: raise _error(f'--jobs must be at least 1, got {a.jobs}', None, 'e.g. --jobs 2')
    skip = tuple(f for f in _settings(Path(a.nbs)).get('tst_flags', 'slow').split() if f not in a.flags)
    s = build_site(a.out, a.nbs, a.jobs, a.execute, skip, a.timeout, a.mathjax)
    print(f"{s['pages']} pages, {s['executed']} notebooks executed, in {s['seconds']:.0f} s: open {Path(a.out)/'index.html'}")
    rc = 0
    if s['failed']:
        rc = 1
        print(f"{len(s['failed'])} notebook(s) failed (their pages show the error):", file=sys.stderr)
        for r, e in s['failed']: print(f"  {r}: {e['error']}" + (f" (cell {e['cell']})" if e['cell'] is not None else ''), file=sys.stderr)
    if a.check:
        c = check_site(a.out)
        print(f"browser check: {c['pages']} pages, {len(c['problems'])} problems")
        for x in c['problems']: print('  ' + x, file=sys.stderr)
        rc = rc or int(bool(c['problems']))
    return rc

if __name__ == '__main__':
    try: sys.exit(main())
    except Exception as e:
        if type(e).__name__ != 'SSLSegError': raise
        print(f"build_docs.py: error: {e}", file=sys.stderr); sys.exit(2)
