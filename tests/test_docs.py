"The docs site of this repository's notebooks: built (one notebook executed, for its figures) and checked in headless Chromium."
import json, re
from pathlib import Path
import pytest
from sslseg.run.docs import build_site, check_site, find_chromium, notebooks

NBS = Path(__file__).resolve().parent.parent/'nbs'
pytest.importorskip('nbconvert'); pytest.importorskip('execnb')

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site with only index.ipynb executed (it shows a figure and printed output); the other pages as committed."
    out = tmp_path_factory.mktemp('docs')/'_site'
    s = build_site(out, NBS, execute=['index.ipynb'], log=lambda *a: None)
    return out, s

def test_site_pages(site):
    out, s = site
    srcs = [p.relative_to(NBS).with_suffix('.html').as_posix() for _, ps in notebooks(NBS) for p in ps]
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

@pytest.mark.skipif(find_chromium() is None, reason='Chromium not installed (apt-get install chromium)')
def test_site_in_chromium(site, tmp_path):
    out, _ = site
    shot = tmp_path/'index.png'
    c = check_site(out, jobs=2, screenshots={'index.html': shot})
    assert c['pages'] == len(list(out.rglob('*.html'))) and c['problems'] == []
    assert shot.read_bytes()[:4] == b'\x89PNG'
