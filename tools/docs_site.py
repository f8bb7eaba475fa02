#!/usr/bin/env python
"""Build the docs site with MkDocs (Material theme, mkdocs-jupyter, mkdocstrings): `python tools/docs_site.py [build|serve] [--out site]`.

The notebooks are rendered with their stored outputs (nothing is executed; `python tools/store_outputs.py` refreshes them). Before MkDocs
runs, every notebook is staged into `build/docs_src/` as a reader sees it in nbdev's docs: cell directives (`#| ...`) removed, `#| hide`
cells and `nbdev_export()` calls dropped, each `#| export` cell shown as the signatures and docstrings it defines (linking to the API
reference) with its code folded, and links between notebooks pointing at the pages. One API page per module of `sslseg` (mkdocstrings:
signature, docstring, source, the notebook it comes from). The navigation follows the reading order of `tools/nb_index.py`.

This file is also the MkDocs hook module named in `mkdocs.yml` (its `on_*` functions): math is typeset by MathJax copied from the
`jupyter-server-mathjax` package into the site (loaded only on pages with TeX), so the site fetches nothing from elsewhere.
Check the result in Chromium with `python tools/docs_check.py site`.
"""
from __future__ import annotations
import argparse, ast, importlib.util, json, os, posixpath, re, shutil, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBS, LIB = REPO/'nbs', REPO/'sslseg'
STAGE = REPO/'build'/'docs_src'
MATHJAX_DIR = 'assets/mathjax'
MATHJAX_PLACEHOLDER = 'SSLSEG-MATHJAX/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe'   # the hook makes it a relative URL per page
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def _nb_index():
    spec = importlib.util.spec_from_file_location('nb_index', REPO/'tools'/'nb_index.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

# ---- notebooks as pages --------------------------------------------------------------------------------------------------------------
def directives(src: str) -> tuple[dict[str, str], str]:
    "({name: value} of the leading `#| name: value` lines of a cell, the source without them)."
    lines, d = src.splitlines(True), {}
    while lines and (m := _DIRECTIVE.match(lines[0])) is not None:
        d[m.group(1)] = m.group(2); lines.pop(0)
    while lines and not lines[0].strip(): lines.pop(0)
    return d, ''.join(lines)

def page_url(nb_rel: str) -> str:
    "The site path of the page of notebook `nb_rel` (relative to nbs/)."
    return re.sub(r'\.ipynb$', '.html', nb_rel)

def fix_links(md: str, nb_rel: str) -> str:
    "Links to other notebooks (`x.ipynb`, `x.ipynb#anchor`) in a markdown cell of `nb_rel` point at their pages."
    def sub(m):
        target, anchor = m.group(2), m.group(3) or ''
        if re.match(r'[a-z]+:', target): return m.group(0)
        return f'{m.group(1)}{page_url(target)}{anchor})'
    return re.sub(r'(\]\()([^)\s#]+\.ipynb)(#[^)\s]*)?\)', sub, md)

def has_math(text: str) -> bool:
    "Whether markdown `text` holds TeX: `$$`, `\\(`, or `$...$` with a backslash, ^, _ or { inside."
    text = re.sub(r'```.*?```|`[^`\n]*`', '', text, flags=re.S)          # not in code
    return bool(re.search(r'\$\$|\\\(|\\\[|\$[^$\n]*[\\^_{][^$\n]*\$', text))

def module_of(nb: dict) -> str | None:
    "The module a notebook exports to (`#| default_exp`), dotted under sslseg."
    for c in nb['cells']:
        if c['cell_type'] == 'code':
            d, _ = directives(''.join(c['source']))
            if 'default_exp' in d: return d['default_exp']
    return None

def _signature(node, src: str) -> str:
    "`name(args) -> ret` of a def, `class Name(bases)` of a class, as written."
    seg = ast.get_source_segment(src, node) or ''
    head = seg[:seg.find(':\n')] if isinstance(node, ast.ClassDef) or ':\n' in seg else seg.splitlines()[0]
    if not isinstance(node, ast.ClassDef):   # up to the colon that ends the def line(s)
        depth = 0
        for i, ch in enumerate(seg):
            depth += ch in '([{'; depth -= ch in ')]}'
            if ch == ':' and depth == 0: head = seg[:i]; break
    head = re.sub(r'^\s*(async\s+)?def\s+|^\s*class\s+', '', head)
    return re.sub(r'\s+', ' ', head).replace('( ', '(').replace(' )', ')').strip()

def export_markdown(src: str, module: str | None, api_page: str) -> str:
    "A `#| export` cell as a reader sees it: each top-level def/class with its signature, docstring and API link; the code folded."
    try: tree = ast.parse(src)
    except SyntaxError: tree = None
    parts = []
    for node in (tree.body if tree else []):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith('_'): continue
        sig = _signature(node, src)
        doc = (ast.get_docstring(node) or '').strip()
        link = f' [API]({api_page}#sslseg.{module}.{node.name})' if module else ''
        parts.append(f'#### `{node.name}`\n\n```python\n{"class " if isinstance(node, ast.ClassDef) else ""}{sig}\n```\n\n{doc}{link}'.rstrip())
    code = src.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    names = ', '.join(n.name for n in (tree.body if tree else []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    fold = f'<details class="export-source"><summary>Exported source{": " + names if names else ""}</summary>\n<pre><code class="language-python">{code}</code></pre>\n</details>'
    return '\n\n'.join(parts + [fold])

def stage_notebook(nb: dict, nb_rel: str) -> dict:
    "The notebook as shown on its page (see the module docstring)."
    module = module_of(nb)
    depth = nb_rel.count('/')
    api_page = '../' * depth + (f'api/{module}.html' if module else '')
    cells = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            src = re.sub(r'<!-- nav:start -->.*?<!-- nav:end -->', '', src, flags=re.S).strip()   # Material's footer has prev/next
            if src: cells.append({**c, 'source': fix_links(src, nb_rel)})
            continue
        if c['cell_type'] != 'code': cells.append(c); continue
        d, body = directives(src)
        if 'hide' in d or d.get('include') == 'false' or 'default_exp' in d or re.fullmatch(r'\s*(import nbdev; )?nbdev\.?nbdev_export\(\)\s*', body): continue
        if 'export' in d or 'exports' in d:
            cells.append({'cell_type': 'markdown', 'id': c.get('id', '') + 'x', 'metadata': {'sslseg_export': True}, 'source': export_markdown(body, module, api_page)}); continue
        c = {**c, 'source': body, 'metadata': dict(c.get('metadata', {}))}
        tags = []
        if d.get('echo') == 'false': tags.append('remove_input')
        if d.get('output') == 'false': tags.append('remove_output')
        if tags: c['metadata']['tags'] = c['metadata'].get('tags', []) + tags
        if body.strip() or c.get('outputs'): cells.append(c)
    return {**nb, 'cells': cells, 'metadata': {k: v for k, v in nb.get('metadata', {}).items() if k != 'widgets'}}

# ---- API reference --------------------------------------------------------------------------------------------------------------------
def modules() -> list[str]:
    "Dotted names (under sslseg) of the modules that export something (`__all__` not empty)."
    out = []
    for p in sorted(LIB.rglob('*.py')):
        rel = p.relative_to(LIB).with_suffix('').as_posix()
        if rel.startswith('_') or rel.endswith('__init__') or rel.endswith('__main__'): continue
        m = re.search(r'^__all__\s*=\s*(\[.*?\])', p.read_text(), flags=re.S | re.M)
        if m and ast.literal_eval(m.group(1)): out.append(rel.replace('/', '.'))
    return out

def module_notebook(mod: str) -> str | None:
    "The notebook (relative to nbs/) that a module is exported from."
    m = re.search(r'File to edit: [./]*nbs/(\S+\.ipynb)', (LIB/(mod.replace('.', '/') + '.py')).read_text())
    return m.group(1) if m else None

def api_markdown(mod: str, git_url: str = '', branch: str = 'main') -> str:
    "The API page of module `mod`: the notebook it comes from, the file in the repository, then mkdocstrings' rendering of `__all__`."
    nb, path = module_notebook(mod), 'sslseg/' + mod.replace('.', '/') + '.py'
    src = [f'[notebook {nb[:-6]}](../{nb})'] if nb else []
    if git_url: src.append(f'[{path}]({git_url}/blob/{branch}/{path})')
    return (f'# sslseg.{mod}\n\nSource: {" · ".join(src)}\n\n'
            f'::: sslseg.{mod}\n    options:\n      show_root_heading: false\n      show_root_toc_entry: false\n')

def settings() -> dict[str, str]:
    import configparser
    c = configparser.ConfigParser(); c.read(REPO/'settings.ini')
    return dict(c['DEFAULT']) if c.has_section('DEFAULT') or c.defaults() else {}

# ---- staging and navigation -------------------------------------------------------------------------------------------------------
def stage(dst: Path = STAGE, nbs: Path = NBS) -> list:
    "Write the staged notebooks and API pages under `dst` (replacing it); return the MkDocs `nav`."
    ix = _nb_index()
    if dst.exists(): shutil.rmtree(dst)
    dst.mkdir(parents=True)
    order = [nbs/'index.ipynb'] + ix.notebooks()
    groups: dict[str, list] = {}
    for p in order:
        rel = p.relative_to(nbs).as_posix()
        nb = json.loads(p.read_text())
        out = dst/rel; out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(stage_notebook(nb, rel), indent=1, ensure_ascii=False))
        folder = '' if '/' not in rel else rel.split('/')[0]
        groups.setdefault(folder, []).append({ix.title(p)[0] if rel != 'index.ipynb' else 'Home': rel})
    s = settings()
    api = {}
    for mod in modules():
        (dst/'api'/f'{mod}.md').parent.mkdir(parents=True, exist_ok=True)
        (dst/'api'/f'{mod}.md').write_text(api_markdown(mod, s.get('git_url', ''), s.get('branch', 'main')))
        api.setdefault(mod.split('.')[0] if '.' in mod else 'top level', []).append({f'sslseg.{mod}': f'api/{mod}.md'})
    (dst/'api'/'index.md').write_text('# API reference\n\nEvery module of `sslseg` with what it exports (`__all__`): signatures, '
                                        'docstrings and source, each page linking to the notebook the module is written in.\n\n' +
                                        '\n'.join(f'- [sslseg.{m}]({m}.md)' for m in modules()) + '\n')
    (dst/'assets').mkdir(exist_ok=True)
    shutil.copy(REPO/'tools'/'docs_extra.css', dst/'assets'/'extra.css')
    nav = groups.pop('') + [{f'{k}/': v} for k, v in groups.items()]
    nav.append({'API reference': [{'Overview': 'api/index.md'}] + [{k: v} for k, v in api.items()]})
    return nav

def build(out: Path | None = None, config: Path = REPO/'mkdocs.yml', serve: bool = False, log=print) -> dict:
    "Stage, then run MkDocs on `config` into `out` (default: its site_dir). Returns {pages, seconds}."
    from mkdocs.config import load_config
    t0 = time.time()
    nav = stage()
    kw = dict(nav=nav) | ({'site_dir': str(Path(out).resolve())} if out else {})
    if serve:
        from mkdocs.commands import serve as mk_serve
        return mk_serve.serve(str(config), **kw)
    from mkdocs.commands import build as mk_build
    cfg = load_config(str(config), **kw)
    cfg.plugins.on_startup(command='build', dirty=False)
    try: mk_build.build(cfg)
    finally: cfg.plugins.on_shutdown()
    site = Path(cfg['site_dir'])
    pages = sum(1 for p in site.rglob('*.html') if p.name != '404.html' and MATHJAX_DIR not in p.as_posix())
    r = dict(pages=pages, seconds=round(time.time() - t0, 1), site=str(site))
    log(f"{pages} pages built into {site} in {r['seconds']} s")
    return r

# ---- MkDocs hooks (mkdocs.yml: hooks: [tools/docs_site.py]) -------------------------------------------------------------------------
# MathJax 2 from jupyter-server-mathjax has the STIX-Web fonts only (not its default TeX fonts): say so before it loads.
# Its blank fallback font, declared at url(about:blank), is a console error in Chromium: declared as a local() font instead.
MATHJAX_FONTS = ('<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, '
                 'webFont: "STIX-Web", imageFont: null, styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local(\'MathJax_Blank\')"}}}});'
                 '</script>\n')

def _text(html: str) -> str:
    "The visible text of an HTML fragment, whitespace collapsed (to match headings with table-of-contents entries)."
    import html as h
    return re.sub(r'\s+', ' ', h.unescape(re.sub(r'<[^>]+>', '', html))).replace('¶', '').strip()

def on_page_content(html: str, page, config, files) -> str:
    """Notebook pages: the table of contents (from mkdocs-jupyter's own slugs) points at the ids the headings really have; entries
    with no heading of that text on the page (e.g. `#` lines inside fenced code) are dropped."""
    if not (page.file.abs_src_path or '').endswith('.ipynb'): return html
    heads = [(m.group(2), _text(m.group(3))) for m in re.finditer(r'<h([1-6])[^>]*\sid="([^"]+)"[^>]*>(.*?)</h\1>', html, flags=re.S)]
    pos = 0
    def fix(items):
        nonlocal pos
        keep = []
        for it in items:
            want = _text(it.title)
            j = next((k for k in range(pos, len(heads)) if heads[k][1] == want), None)
            if j is not None:
                it.id, pos = heads[j][0], j + 1
                it.children[:] = fix(it.children); keep.append(it)
            else: keep.extend(fix(it.children))
        return keep
    page.toc.items[:] = fix(page.toc.items)
    return html

def on_post_page(output: str, page, config) -> str:
    "MathJax: a relative URL on pages with TeX, nothing on the others."
    if 'SSLSEG-MATHJAX' not in output: return output
    src = page.file.abs_src_path
    text = ''
    if src and src.endswith('.ipynb'):
        text = '\n'.join(''.join(c['source']) for c in json.loads(Path(src).read_text())['cells']
                         if c['cell_type'] == 'markdown' and not c['metadata'].get('sslseg_export'))   # not docstrings ($VARIABLES)
    if has_math(text):
        up = posixpath.relpath(MATHJAX_DIR, posixpath.dirname(page.file.dest_uri) or '.')
        return output.replace('<!-- Load mathjax -->', '<!-- Load mathjax -->\n' + MATHJAX_FONTS, 1).replace('SSLSEG-MATHJAX', up)
    return re.sub(r'<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->', '', output, flags=re.S)

def on_post_build(config) -> None:
    "Copy MathJax (from the jupyter-server-mathjax package, its English files) into the site."
    import jupyter_server_mathjax
    src = Path(jupyter_server_mathjax.__file__).parent/'static'
    dst = Path(config['site_dir'])/MATHJAX_DIR
    if dst.exists(): shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('localization', 'unpacked', '*.md'))

def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python tools/docs_site.py', description=__doc__.splitlines()[0])
    p.add_argument('command', nargs='?', default='build', choices=['build', 'serve', 'stage'])
    p.add_argument('--out', type=Path, help='the site folder (default: site_dir of mkdocs.yml, site/)')
    a = p.parse_args(argv)
    os.chdir(REPO)
    if a.command == 'stage': stage(); print(f'staged into {STAGE}'); return 0
    build(a.out, serve=a.command == 'serve')
    return 0

if __name__ == '__main__': sys.exit(main())
