"""The docs site: `tools/docs_site.py` (stages the notebooks and API pages, runs MkDocs with mkdocs.yml) and `tools/docs_check.py`
(loads every page in Chromium). Scripts beside the package, imported here by path. The staging tests are fast; building the site and
the browser checks are slow (and skip without MkDocs, Playwright or Chromium)."""
import importlib.util, json, re, shutil, textwrap
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent

def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

ds, dc, ix = _load_script('docs_site'), _load_script('docs_check'), _load_script('nb_index')

def _missing_builder():
    for m in ['mkdocs', 'material', 'mkdocs_jupyter', 'mkdocstrings_handlers.python', 'jupyter_server_mathjax']:
        if importlib.util.find_spec(m.split('.')[0]) is None: return f'{m} is not installed (pip install -e ".[docs]")'
    return None

needs_builder = pytest.mark.skipif(_missing_builder() is not None, reason=_missing_builder() or '')
needs_browser = pytest.mark.skipif(dc.missing_tools() is not None, reason=dc.missing_tools() or '')

def md(src): return {'cell_type': 'markdown', 'id': 'm', 'metadata': {}, 'source': src}
def code(src, outputs=()): return {'cell_type': 'code', 'id': 'c', 'metadata': {}, 'source': src, 'outputs': list(outputs), 'execution_count': None}

def test_directives_and_links():
    assert ds.directives('#| export\n#|  eval: false\n\nx = 1\n#| later\n') == ({'export': '', 'eval': 'false'}, 'x = 1\n#| later\n')
    assert ds.directives('x = 1  #| hide') == ({}, 'x = 1  #| hide')
    assert ds.fix_links('[a](models/00_erfnet.ipynb) [b](../index.ipynb#A-figure) [c](https://x.org/y.ipynb) [d](#here)', 'data/00_io.ipynb') == \
        '[a](models/00_erfnet.html) [b](../index.html#A-figure) [c](https://x.org/y.ipynb) [d](#here)'
    assert [ds.has_math(t) for t in ['$L = \\frac1N$', 'costs $5 and $6', '`$SSLSEG_CACHE/x_$y`', '$$x$$', 'set $HOME or $XDG_CACHE']] == \
        [True, False, False, True, False]

def test_export_cell_shows_signatures():
    src = 'def double(x: int,\n           k=2) -> int:\n    "Twice `x`."\n    return k * x\n\nclass Box(dict):\n    "A box."\n\ndef _private(): pass\n'
    out = ds.export_markdown(src, 'core', '../api/core.html')
    assert '#### `double`\n\n```python\ndouble(x: int, k=2) -> int\n```\n\nTwice `x`. [API](../api/core.html#sslseg.core.double)' in out
    assert '```python\nclass Box(dict)\n```' in out and '_private' not in out.split('<details')[0]
    assert '<details class="export-source"><summary>Exported source: double, Box, _private</summary>' in out and 'return k * x' in out

def test_stage_notebook():
    nb = {'cells': [md('# Toy\n\n> A toy. See [the plots](zz/00_plot.ipynb#A-figure).'), code('#| default_exp zz.core'),
                    code('#| export\ndef f():\n    "Eff."\n    return 1'), code('#| hide\nsecret = 1'), code('#| slow\ntrain()'),
                    code('#| echo: false\nshow()', [{'output_type': 'stream', 'name': 'stdout', 'text': 'hi\n'}]),
                    code('import nbdev; nbdev.nbdev_export()'), md('<!-- nav:start -->\nPrevious: [x](x.ipynb)\n<!-- nav:end -->')],
          'metadata': {'widgets': {'state': {}}, 'kernelspec': {}}, 'nbformat': 4, 'nbformat_minor': 5}
    out = ds.stage_notebook(nb, 'aa/00_toy.ipynb')
    srcs = [c['source'] for c in out['cells']]
    assert srcs[0] == '# Toy\n\n> A toy. See [the plots](zz/00_plot.html#A-figure).'
    assert srcs[1].startswith('#### `f`') and '[API](../api/zz.core.html#sslseg.zz.core.f)' in srcs[1] and out['cells'][1]['metadata']['sslseg_export']
    assert srcs[2:] == ['train()', 'show()'] and out['cells'][3]['metadata']['tags'] == ['remove_input']   # hidden, export call, nav gone
    assert 'widgets' not in out['metadata']        # the widget state would make nbconvert load the widget manager from a CDN

def test_stage_repository(tmp_path):
    nav = ds.stage(tmp_path/'src')
    flat = lambda items: [v for it in items for v in (flat(list(it.values())[0]) if isinstance(list(it.values())[0], list) else it.values())]
    pages = flat(nav)
    nbs = ['index.ipynb'] + [p.relative_to(ds.NBS).as_posix() for p in ix.notebooks()]
    assert [p for p in pages if p.endswith('.ipynb')] == nbs                   # every notebook once, in the reading order
    apis = [p for p in pages if p.startswith('api/')]
    assert apis[0] == 'api/index.md' and len(apis) == len(ds.modules()) + 1 > 30 and all((tmp_path/'src'/p).exists() for p in pages)
    for p in nbs:
        cells = json.loads((tmp_path/'src'/p).read_text())['cells']
        for c in cells:
            src = ''.join(c['source'])
            assert not (c['cell_type'] == 'code' and re.match(r'\s*#\|', src)), (p, src[:80])      # no directive lines shown
            assert not re.search(r'\]\((?!https?:)[^)]*\.ipynb', src), (p, src[:200])             # links point at pages
    api = (tmp_path/'src'/'api'/'models.erfnet.md').read_text()
    assert api.startswith('# sslseg.models.erfnet') and '[notebook models/00_erfnet](../models/00_erfnet.ipynb)' in api and '::: sslseg.models.erfnet' in api
    assert (tmp_path/'src'/'assets'/'extra.css').exists()

@needs_builder
def test_mkdocs_config_is_offline(tmp_path):
    from mkdocs.config import load_config
    cfg = load_config(str(REPO/'mkdocs.yml'), docs_dir=str(tmp_path))   # build/docs_src exists only once tools/docs_site.py has staged it
    assert cfg['theme']['font'] is False and cfg['use_directory_urls'] is False and cfg['site_dir'].endswith('site')
    assert not [u for u in cfg['extra_javascript'] + cfg['extra_css'] if '//' in str(u)]
    assert {'material/search', 'mkdocstrings', 'mkdocs-jupyter'} <= set(cfg['plugins'])
    assert 'site/' in (REPO/'.gitignore').read_text().split()

# ---- slow: the real site, built and checked in Chromium -------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def site(tmp_path_factory):
    if _missing_builder(): pytest.skip(_missing_builder())
    out = tmp_path_factory.mktemp('docs')/'site'
    r = ds.build(out, log=lambda *a: None)
    return out, r

@pytest.mark.slow
def test_site_builds(site):
    out, r = site
    nbs = ['index.ipynb'] + [p.relative_to(ds.NBS).as_posix() for p in ix.notebooks()]
    assert r['pages'] == len(nbs) + len(ds.modules()) + 1
    for p in nbs: assert (out/ds.page_url(p)).exists(), p
    html = (out/'index.html').read_text()
    assert 'md-search__input' in html and '<img' in html and 'data:image/png;base64' in html     # search; stored figures shown
    assert not re.search(r'(src|href)="(https?:)?//', re.sub(r'<a [^>]*>', '', html))             # nothing loaded from elsewhere
    api = (out/'api'/'models.erfnet.html').read_text()
    assert 'id="sslseg.models.erfnet.ERFNet"' in api and 'class="doc-signature' in api and 'Source code in' in api
    assert 'assets/mathjax/MathJax.js' in (out/'tune/00_mixmatch.html').read_text() and 'MathJax' not in html
    assert (out/'assets/mathjax/MathJax.js').exists() and (out/'search/search_index.json').exists()

@pytest.mark.slow
@needs_browser
def test_site_in_chromium(site):
    out, _ = site
    r = dc.check_site(out, phone_pages=4, log=lambda *a: None)
    assert r['problems'] == [] and r['pages'] == len(dc.site_pages(out)) and r['anchors'] > 1000

TINY = {'index.md': """# Tiny

[the other page](other.md) and [its section](other.md#a-section).

## Here
""", 'other.md': "# Other\n\n## A section\n\nText.\n"}

def tiny_site(tmp_path, **plant) -> Path:
    "A small MkDocs site with the project's theme settings, with faults planted in its index page."
    docs = tmp_path/'docs'; docs.mkdir(parents=True)
    for name, text in TINY.items(): (docs/name).write_text(text)
    extra = ''
    if plant.get('console_error'): extra += '\n<script>console.error("planted console error")</script>\n'
    if plant.get('bad_anchor'): extra += '\n[a broken anchor](other.md#no-such-section)\n'
    if plant.get('bad_link'): extra += '\n[a broken link](missing.html)\n'
    if plant.get('cdn'): extra += '\n<script src="https://cdn.example.org/lib.js"></script>\n'
    if plant.get('exception'): extra += '\n<script>null.boom()</script>\n'
    (docs/'index.md').write_text(TINY['index.md'] + extra)
    (tmp_path/'mkdocs.yml').write_text(textwrap.dedent("""
        site_name: tiny
        use_directory_urls: false
        theme: {name: material, font: false}
        plugins: [search]
        markdown_extensions: [{toc: {permalink: true}}, attr_list, md_in_html]
        """))
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    build(load_config(str(tmp_path/'mkdocs.yml')))
    return tmp_path/'site'

@pytest.mark.slow
@needs_builder
@needs_browser
def test_check_catches_planted_faults(tmp_path):
    clean = tiny_site(tmp_path/'clean')
    r = dc.check_site(clean, search='section', log=lambda *a: None)
    assert (r['pages'], r['problems']) == (2, []) and r['anchors'] >= 1
    bad = tiny_site(tmp_path/'bad', console_error=True, bad_anchor=True, bad_link=True, cdn=True, exception=True)
    problems = dc.check_site(bad, search=None, log=lambda *a: None)['problems']
    for want in ['index.html: console error: planted console error', 'index.html: broken anchor: other.html#no-such-section',
                 'index.html: broken link: missing.html', 'index.html: request outside the site (blocked): https://cdn.example.org/lib.js',
                 "index.html: uncaught exception: Cannot read properties of null (reading 'boom')"]:
        assert want in problems, (want, problems)
    assert dc.main([str(bad), '--no-search', '--phone-pages', '0']) == 1 and dc.main([str(clean), '--search', 'section']) == 0

@pytest.mark.slow
@needs_builder
@needs_browser
def test_check_at_phone_width(tmp_path):
    "A page whose content sits under a tall block fails the phone-width check; one that is too wide fails too."
    bad = tiny_site(tmp_path/'bad')
    index = bad/'index.html'
    index.write_text(index.read_text().replace('<article', '<div style="height:1200px">tall</div><div style="width:900px">wide</div><article', 1))
    problems = dc.check_site(bad, phone_pages=1, search=None, log=lambda *a: None)['problems']
    assert any('title is not in the first screen' in p for p in problems) and any('scrolls sideways or is zoomed out' in p for p in problems), problems
