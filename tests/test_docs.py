"""The docs site builder, `tools/build_docs.py` (a script beside the package, imported here by path): its parts on a toy project of
notebooks, then this repository's site, built (one notebook executed, for its figures) and checked in headless Chromium."""
import contextlib, copy, importlib.util, io, json, re
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
NBS = REPO/'nbs'
pytest.importorskip('nbconvert'); pytest.importorskip('execnb')
import nbformat

def _load_script(path: Path):
    "The script at `path` as a module (it is not part of the installed package)."
    spec = importlib.util.spec_from_file_location('build_docs', path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

bd = _load_script(REPO/'tools'/'build_docs.py')
no_chromium = pytest.mark.skipif(bd.find_chromium() is None, reason='Chromium not installed (apt-get install chromium)')

def write_nb(path, *cells):
    "A small notebook at `path` from `('md' | 'code', source)` pairs."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) if k == 'md' else nbformat.v4.new_code_cell(s) for k, s in cells]
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True); nbformat.write(nb, path)
    return path

@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    "A toy project: an index, a top-level notebook, a folder with a figure (and skipped, hidden, erring cells), a folder that imports it, one broken notebook."
    tmp = tmp_path_factory.mktemp('toy'); toy = tmp/'nbs'
    write_nb(toy/'index.ipynb', ('md', '# Toy\n\n> A toy project. Read [the plots](zz/00_plot.ipynb#A-figure).'))
    write_nb(toy/'00_core.ipynb', ('md', '# Core'), ('code', '#| export\ndef double(x):\n    "Twice `x`."\n    return 2 * x'), ('code', 'print(double(21))'))
    write_nb(toy/'zz/00_plot.ipynb', ('md', '# Plots'), ('code', 'import math'),
             ('md', '## A figure'), ('code', 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);'),
             ('code', '#| slow\nraise RuntimeError("slow cells are skipped")'),
             ('code', '#| eval: false\nraise RuntimeError("eval: false cells are skipped")'),
             ('code', '#| hide\nsecret = 42'), ('code', '#| error: true\n{}["expected"]'), ('code', 'secret'))
    write_nb(toy/'aa/00_uses_zz.ipynb', ('md', '# Uses zz'), ('code', '#| eval: false\nfrom sslseg.zz import plot  # the folder zz comes first'))
    write_nb(toy/'aa/01_broken.ipynb', ('md', '# Broken'), ('code', 'print("before")'), ('code', '1 / 0'), ('code', 'print("never")'))
    write_nb(toy/'_private/00_x.ipynb', ('md', '# Not a page'))
    write_nb(toy/'.ipynb_checkpoints/index-checkpoint.ipynb', ('md', '# Not a page'))
    return toy

def test_cell_directives():
    d, src = bd.cell_directives('#| export\n#|  eval: false\n\nx = 1\n#| not a directive any more\n')
    assert d == {'export': '', 'eval': 'false'} and src == 'x = 1\n#| not a directive any more\n'
    assert bd.cell_directives('#| default_exp run.docs')[0] == {'default_exp': 'run.docs'}
    assert bd.cell_directives('x = 1  #| hide')[0] == {}
    assert [bd.skip_cell(bd.cell_directives(s)[0], s) for s in ['#| slow\nx', '#| eval: false\nx', '#| eval: true\nx', 'x', 'nbdev_export' + '()']] == \
           [True, True, False, False, True]
    assert bd.skip_cell({'slow': ''}, skip_flags=()) is False
    assert [bd.hidden_cell(bd.cell_directives(s)[0]) for s in ['#| hide\nx', '#| include: false\nx', '#| export\nx']] == [True, True, False]

def test_reading_order(toy):
    order = [(f, [p.relative_to(toy).as_posix() for p in ps]) for f, ps in bd.notebooks(toy)]
    assert order == [('', ['index.ipynb', '00_core.ipynb']), ('zz', ['zz/00_plot.ipynb']), ('aa', ['aa/00_uses_zz.ipynb', 'aa/01_broken.ipynb'])]
    assert bd.folder_order({'b': [toy/'aa/00_uses_zz.ipynb'], 'a': [toy/'00_core.ipynb']}) == ['a', 'b']   # no imports between them: alphabetical
    folders = [f for f, _ in bd.notebooks(NBS)]                                                           # this repository
    assert folders[0] == '' and all(folders.index(a) < folders.index(b) for a, b in [('data', 'models'), ('models', 'tasks'), ('train', 'run'),
                                                                                      ('experiment', 'run')])

def test_execute_and_render(toy, tmp_path):
    r = bd.run_notebook(toy/'zz/00_plot.ipynb', tmp_path/'run/plot.ipynb')    # a fresh process, as the site builder runs it (an earlier test may have set Agg here)
    assert (r['ok'], r['error']) == (True, None)
    nb = nbformat.read(tmp_path/'run/plot.ipynb', 4)
    outs = {i: [o['output_type'] for o in c.get('outputs', [])] for i, c in enumerate(nb.cells) if c.cell_type == 'code'}
    assert outs == {1: [], 3: ['display_data'], 4: [], 5: [], 6: [], 7: ['error'], 8: ['execute_result']}   # slow/eval:false not run
    assert 'image/png' in nb.cells[3].outputs[0]['data'] and nb.cells[7].metadata['expected_error'] is True
    assert nb.cells[8].outputs[0]['data']['text/plain'] == '42'                                         # hidden cells run
    r = bd.execute_notebook(toy/'aa/01_broken.ipynb', tmp_path/'run/broken.ipynb')
    assert r['ok'] is False and r['error'] == {'cell': 3, 'error': 'ZeroDivisionError: division by zero'}
    broken = nbformat.read(tmp_path/'run/broken.ipynb', 4)
    assert [o['output_type'] for o in broken.cells[2].outputs] == ['error']                              # the traceback left stdout
    tb = re.sub(r'\x1b\[[\d;]*m', '', '\n'.join(broken.cells[2].outputs[0]['traceback']))
    assert '----> 1 1 / 0' in tb and tb.endswith('ZeroDivisionError: division by zero'), tb
    assert broken.cells[3].get('outputs') == [] and broken.metadata['sslseg_docs']['ok'] is False       # stopped at the error
    assert bd.notebook_title(nb) == 'Plots'
    body, figs = bd.page_body(copy.deepcopy(nb), '00_plot')
    assert list(figs) == ['00_plot_files/fig_3_0.png'] and figs['00_plot_files/fig_3_0.png'][:4] == b'\x89PNG'   # named by cell index
    assert '<img' in body and 'src="00_plot_files/fig_3_0.png"' in body
    for gone in ['#| slow', '#| eval', '#| hide', 'secret = 42']: assert gone not in body, gone       # directives and hidden cells
    assert 'slow cells are skipped' in body                                                            # a slow cell is shown, not run
    assert 'KeyError' in body and 'output_error' not in body and 'class="highlight' in body           # the expected error, as text
    body, _ = bd.page_body(broken, 'broken')
    assert 'output_error' in body and 'ZeroDivisionError' in body
    body, _ = bd.page_body(nbformat.read(toy/'index.ipynb', 4), 'index')
    assert 'href="zz/00_plot.html#A-figure"' in body, body

def test_run_notebook_in_a_process(toy, tmp_path):
    r = bd.run_notebook(toy/'00_core.ipynb', tmp_path/'run/core.ipynb')
    assert r['ok'] and nbformat.read(tmp_path/'run/core.ipynb', 4).cells[2].outputs[0]['text'] == '42\n'
    r = bd.run_notebook(write_nb(tmp_path/'slow.ipynb', ('code', 'import time; time.sleep(30)')), tmp_path/'run/slow.ipynb', timeout=2)
    assert (r['ok'], r['error']['error']) == (False, 'timed out after 2 s')
    r = bd.run_notebook(write_nb(tmp_path/'dies.ipynb', ('code', 'import os; os._exit(3)')), tmp_path/'run/dies.ipynb')
    assert r['ok'] is False and r['error']['error'].startswith('the notebook process died (exit 3)'), r

def test_page_frame():
    site = dict(title='toy', groups=[('', [('index.html', 'Toy'), ('00_core.html', 'Core')]), ('zz', [('zz/00_plot.html', 'Plots <1>')])])
    pg = bd.page_html(site, 'zz/00_plot.html', '<p>body</p>', '<div class="build-error">failed</div>')
    for s in ['href="../site.css"', 'href="../index.html">Toy', 'href="../00_core.html">Core', 'class="current">Plots &lt;1&gt;',
              'class="prev" href="../00_core.html"', '<div class="nav-folder">zz</div>', '<div class="build-error">failed</div>']: assert s in pg, s
    assert 'class="next"' not in pg and 'class="next" href="00_core.html"' in bd.page_html(site, 'index.html', '')
    assert 'mathjax' not in pg and f'async src="{bd.MATHJAX}"' in bd.page_html(site, 'index.html', '<p>$x^2$</p>')
    assert 'mathjax' not in bd.page_html(site, 'index.html', '<p>$x^2$</p>', mathjax='')
    css = bd.site_css()
    assert '.highlight .k ' in css and '.ansi-red-fg' in css and '.sidebar' in css

@pytest.fixture(scope='module')
def toy_site(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp('toysite')/'site'
    return out, bd.build_site(out, toy, jobs=2, log=lambda *a: None)

def test_build_toy_site(toy, toy_site, tmp_path):
    site_dir, s = toy_site
    assert {k: s[k] for k in ['pages', 'executed']} == {'pages': 5, 'executed': 5}
    assert s['failed'] == [('aa/01_broken.ipynb', {'cell': 3, 'error': 'ZeroDivisionError: division by zero'})]
    assert sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob('*') if p.is_file()) == \
        ['.sslseg-site', '00_core.html', 'aa/00_uses_zz.html', 'aa/01_broken.html', 'index.html', 'site.css', 'zz/00_plot.html', 'zz/00_plot_files/fig_3_0.png']
    broken = (site_dir/'aa/01_broken.html').read_text()
    assert 'class="build-error"' in broken and 'in cell 3: ZeroDivisionError' in broken and 'before' in broken
    plot = (site_dir/'zz/00_plot.html').read_text()
    assert 'src="00_plot_files/fig_3_0.png"' in plot and 'build-' not in plot.split('<main>')[1].split('</main>')[0]
    assert f'<title>Uses zz - {toy.parent.name}</title>' in (site_dir/'aa/00_uses_zz.html').read_text()   # no settings.ini: the project folder's name
    assert '<span class="n">double</span>' in (site_dir/'00_core.html').read_text() and '42' in (site_dir/'00_core.html').read_text()
    site2 = tmp_path/'site2'                                         # without execution the pages say so
    s = bd.build_site(site2, toy, execute=['00_core.ipynb'], log=lambda *a: None)
    assert (s['executed'], s['failed']) == (1, [])
    assert 'build-note' in (site2/'index.html').read_text() and 'build-note' not in (site2/'00_core.html').read_text()
    (site2/'zz/00_plot_files').mkdir(); (site2/'zz/00_plot_files/old.png').write_bytes(b'')
    bd.build_site(site2, toy, execute=False, log=lambda *a: None)
    assert not (site2/'zz/00_plot_files').exists()                   # a rebuild replaces the old site
    other = tmp_path/'other'; other.mkdir(); (other/'keep.txt').write_text('mine')
    with pytest.raises(Exception, match='not a site built by build_docs.py'): bd.build_site(other, toy, execute=False)
    assert (other/'keep.txt').read_text() == 'mine'                  # a folder that is not a site is never replaced
    with pytest.raises(Exception, match='notebook folder not found'): bd.build_site(tmp_path/'x', tmp_path/'nope')
    with pytest.raises(Exception, match='not a notebook of the site: zz/01_typo.ipynb'):
        bd.build_site(tmp_path/'x', toy, execute=['zz/00_plot.ipynb', 'zz/01_typo.ipynb'])

def test_check_page(tmp_path):
    dom = bd.page_html(dict(title='t', groups=[('', [('index.html', 'I'), ('a/b.html', 'B')])]), 'a/b.html',
                       '<img src="b_files/x.png"><img src="data:image/png;base64,AA"><img src=""><a href="../nope.html#x">x</a><a href="#top">t</a>'
                       '<a href="https://example.org">e</a><div class="output_subarea output_error">boom</div>')
    dom = dom.replace('<body ', '<body data-images="2/3" ')
    fake = tmp_path/'fake'; (fake/'a').mkdir(parents=True); (fake/'index.html').write_text(''); (fake/'a/b.html').write_text(dom)
    assert bd.check_page(fake, 'a/b.html', dom) == [
        'a/b.html: 1 error block(s): output_error', 'a/b.html: images the browser decoded: 2/3', 'a/b.html: missing image b_files/x.png',
        'a/b.html: <img> without src', 'a/b.html: broken link ../nope.html#x']
    (fake/'index.html').unlink()
    assert bd.check_page(fake, 'a/b.html', dom)[-2:] == ['a/b.html: broken link ../index.html', 'a/b.html: broken link ../nope.html#x']
    assert bd.check_page(tmp_path, 'a/b.html', '<html><body></body></html>') == ['a/b.html: did not load']

@no_chromium
def test_toy_site_in_chromium(toy_site, tmp_path):
    site_dir, _ = toy_site
    c = bd.check_site(site_dir, screenshots={'zz/00_plot.html': tmp_path/'plot.png'})
    assert c['pages'] == 5 and c['problems'] == ['aa/01_broken.html: 2 error block(s): build-error, output_error']
    assert bd.check_site(site_dir, pages=['index.html']) == dict(pages=1, problems=[])
    assert (tmp_path/'plot.png').read_bytes()[:4] == b'\x89PNG'

def test_command_line(toy, tmp_path):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = bd.main(['--out', str(tmp_path/'site3'), '--nbs', str(toy/'aa'), '--jobs', '2'])
    assert rc == 1 and '2 pages, 2 notebooks executed' in o.getvalue(), o.getvalue()
    assert '1 notebook(s) failed' in e.getvalue() and '01_broken.ipynb: ZeroDivisionError: division by zero (cell 3)' in e.getvalue()
    with contextlib.redirect_stdout(o): assert bd.main(['--out', str(tmp_path/'site3'), '--nbs', str(toy/'aa'), '--no-execute']) == 0
    with pytest.raises(Exception, match='--jobs must be at least 1'): bd.main(['--jobs', '0'])

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "This repository's site with only index.ipynb executed (it shows a figure and printed output); the other pages as committed."
    out = tmp_path_factory.mktemp('docs')/'_site'
    s = bd.build_site(out, NBS, execute=['index.ipynb'], log=lambda *a: None)
    return out, s

def test_site_pages(site):
    out, s = site
    srcs = [p.relative_to(NBS).with_suffix('.html').as_posix() for _, ps in bd.notebooks(NBS) for p in ps]
    assert (s['pages'], s['executed'], s['failed']) == (len(srcs), 1, [])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob('*.html')) == sorted(srcs)
    index = (out/'index.html').read_text()
    imgs = re.findall(r'<img[^>]* src="([^"]+)"', index)
    assert imgs and all((out/i).read_bytes()[:4] == b'\x89PNG' for i in imgs)       # the executed figure, next to the page
    assert 'build-note' not in index and 'build-note' in (out/'00_core.html').read_text()
    for page in srcs:                                                                  # every page's sidebar lists every page
        html = (out/page).read_text()
        links = set(re.findall(r'<li><a href="([^"]+)"', html))
        assert {(out/page).parent.joinpath(l).resolve() for l in links} == {(out/p).resolve() for p in srcs}, page
        assert not re.search(r'<span class="c1">#\|', html), page                    # no directive lines in shown code
    assert json.loads((out/'.sslseg-site').read_text())['pages'] == len(srcs)

@no_chromium
def test_site_in_chromium(site, tmp_path):
    out, _ = site
    shot = tmp_path/'index.png'
    c = bd.check_site(out, jobs=2, screenshots={'index.html': shot})
    assert c['pages'] == len(list(out.rglob('*.html'))) and c['problems'] == []
    assert shot.read_bytes()[:4] == b'\x89PNG'
