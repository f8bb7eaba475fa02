#!/usr/bin/env python
"""Check a built docs site in Chromium: `python tools/docs_check.py site/ [--pages P ...] [--phone-pages N] [--no-search]`.

Serves the folder on 127.0.0.1 and loads every page (Playwright driving the system Chromium). A problem is: a console error or an
uncaught exception; a request that failed, answered 4xx/5xx, or went anywhere but the local site (such requests are blocked and
reported, so the check is the same offline); a link to a local file that does not exist; a `#anchor` that is no element id of its
(rendered) target page. At phone width (390 px) a few pages must show their title without scrolling past the navigation and must not
scroll sideways; the search box must find a word. Links to other sites are counted, never followed. Exit status 1 when there is a
problem, 2 when Chromium or Playwright is missing.
"""
from __future__ import annotations
import argparse, functools, http.server, json, os, posixpath, shutil, sys, threading, time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

SKIP = ('assets/', 'search/', '404.html')      # not pages: vendored assets, the search worker's folder; the 404 page links by absolute path
CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')

def find_chromium() -> str | None:
    "The browser to drive: $SSLSEG_CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH."
    env = os.environ.get('SSLSEG_CHROMIUM')
    if env: return env if Path(env).exists() else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)

def missing_tools() -> str | None:
    "Why the check cannot run here, or None."
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return 'Playwright is not installed (pip install playwright; its browser download is not needed)'
    if find_chromium() is None: return 'Chromium is not installed (apt-get install chromium, or set SSLSEG_CHROMIUM)'
    return None

def site_pages(site: Path) -> list[str]:
    "Every HTML page of the site, relative paths, sorted."
    return sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html') if not p.relative_to(site).as_posix().startswith(SKIP))

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

def serve(site: Path):
    "(server, base URL) of a thread serving `site` on a free port of 127.0.0.1."
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'

_COLLECT = """() => ({
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(e => e.name)),
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')).filter(h => h && !h.startsWith('javascript:')),
})"""

def check_site(site: Path, pages: list[str] | None = None, phone_pages: int = 3, search: str | None = 'erfnet', log=print) -> dict:
    """Load `pages` (default: all) of `site` in Chromium and check them (see the module docstring); the search box must find `search`.
    Returns {pages, links, anchors, external, problems: [str], seconds}."""
    from playwright.sync_api import sync_playwright
    site = Path(site).resolve(); t0 = time.time()
    if not (site/'index.html').exists(): raise FileNotFoundError(f'{site}: no index.html (build the site first: python tools/docs_site.py)')
    pages = pages or site_pages(site)
    srv, base = serve(site)
    problems, ids, links, external = [], {}, [], set()
    current = {'page': None}
    def problem(msg): problems.append(f"{current['page']}: {msg}")
    def route(r):
        url = r.request.url
        if url.startswith(base) or url.startswith('data:') or url.startswith('blob:'): return r.continue_()
        problem(f'request outside the site (blocked): {url[:200]}'); return r.abort()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=find_chromium(), args=['--no-sandbox'])
            ctx = browser.new_context(viewport={'width': 1280, 'height': 900}, service_workers='block')
            ctx.route('**/*', route)
            page = ctx.new_page()
            page.on('console', lambda m: m.type == 'error' and problem(f'console error: {m.text[:300]}'))
            page.on('pageerror', lambda e: problem(f'uncaught exception: {str(e)[:300]}'))
            started = {}                                   # request -> the page it was made for
            def failed(r):
                if not r.url.startswith(base): return
                if 'ERR_ABORTED' in (r.failure or '') and started.get(r) != current['page']: return   # cut short by leaving its page
                problem(f'request failed: {r.url[len(base):]} ({r.failure})')
            page.on('request', lambda r: started.__setitem__(r, current['page']))
            page.on('requestfailed', failed)
            page.on('response', lambda r: r.status >= 400 and problem(f'HTTP {r.status}: {r.url[len(base):] if r.url.startswith(base) else r.url}'))
            inflight = set()
            page.on('request', lambda r: inflight.add(r))
            page.on('requestfinished', lambda r: inflight.discard(r)); page.on('requestfailed', lambda r: inflight.discard(r))
            for i, rel in enumerate(pages):
                current['page'] = rel
                page.goto(base + rel, wait_until='load')
                _settle(page, inflight, problem)
                if page.evaluate('() => !!(window.MathJax && MathJax.Hub)'):   # typesetting loads fonts as it goes
                    try: page.wait_for_function('() => MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0', timeout=15_000)
                    except Exception: problem('MathJax did not finish typesetting in 15 s')
                    _settle(page, inflight, problem)
                got = page.evaluate(_COLLECT)
                ids[rel] = set(got['ids']); links += [(rel, h) for h in got['links']]
            if search: _check_search(page, base, current, problem, search)
            ctx.close()
            _check_phone(browser, base, [p for p in _phone_sample(pages, phone_pages)], current, problem, route)
            browser.close()
    finally:
        srv.shutdown(); srv.server_close()
    n_anchor = 0
    for rel, href in links:
        current['page'] = rel
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            if not href.startswith(base): external.add(href); continue
            href = href[len(base) - 1:]
        path, frag = urldefrag(href)
        if path.startswith('/'): target = posixpath.normpath(path.lstrip('/')) if path != '/' else 'index.html'
        elif path: target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), unquote(urlsplit(path).path)))
        else: target = rel
        f = site/target
        if target.startswith('..') or not (f.is_file() or (f.is_dir() and (f/'index.html').is_file())):
            problem(f'broken link: {href}'); continue
        if f.is_dir(): target = posixpath.join(target, 'index.html')
        if frag:
            n_anchor += 1
            if target not in ids:
                if target.endswith('.html'): ids[target] = _ids_of_file(f)
                else: continue
            if unquote(frag) not in ids[target] and frag not in ids[target]: problem(f'broken anchor: {href}')
    r = dict(pages=len(pages), links=len(links), anchors=n_anchor, external=len(external), problems=problems,
             seconds=round(time.time() - t0, 1))
    log(f"{r['pages']} pages, {r['links']} links ({r['anchors']} with #anchors) checked, {r['external']} distinct links to other sites "
        f"not followed, {len(problems)} problem(s), {r['seconds']} s")
    return r

def _settle(page, inflight: set, problem, quiet_ms: int = 150, limit_s: float = 10):
    "Wait until no request has been in flight for `quiet_ms` (scripts that load more, e.g. MathJax), at most `limit_s`."
    t0, quiet = time.time(), 0
    while quiet < quiet_ms:
        page.wait_for_timeout(50)
        quiet = quiet + 50 if not inflight else 0
        if time.time() - t0 > limit_s: problem(f'requests still pending {limit_s:.0f} s after load'); return

def _ids_of_file(f: Path) -> set[str]:
    "Element ids in a page that was not loaded (static HTML)."
    import re
    return set(re.findall(r'\sid="([^"]+)"', f.read_text(errors='replace'))) | set(re.findall(r'<a[^>]*\sname="([^"]+)"', f.read_text(errors='replace')))

def _phone_sample(pages: list[str], n: int) -> list[str]:
    "index.html, then pages spread over the list (notebooks and API pages)."
    if n <= 0: return []
    rest = [p for p in pages if p != 'index.html']
    step = max(1, len(rest) // max(1, n - 1))
    return ([p for p in pages if p == 'index.html'] + rest[::step])[:n]

PHONE = (390, 844)

def _check_phone(browser, base, sample, current, problem, route):
    """At 390x844 CSS px (a phone, which zooms out a page wider than its screen): the page's title is in the first screen, the
    navigation drawer is closed, nothing is wider than the screen."""
    if not sample: return
    W, H = PHONE
    ctx = browser.new_context(viewport={'width': W, 'height': H}, device_scale_factor=2, is_mobile=True, has_touch=True,
                              service_workers='block')
    ctx.route('**/*', route)
    page = ctx.new_page()
    page.on('console', lambda m: m.type == 'error' and problem(f'console error at phone width: {m.text[:300]}'))
    for rel in sample:
        current['page'] = rel
        page.goto(base + rel, wait_until='load')
        g = page.evaluate("""() => {
          const h = document.querySelector('article h1, .md-content h1, main h1');
          const nav = document.querySelector('.md-sidebar--primary');
          const r = h ? h.getBoundingClientRect() : null;
          const nr = nav ? nav.getBoundingClientRect() : null;
          return {h1: !!h, top: r ? r.top : null, bottom: r ? r.bottom : null, vh: innerHeight,
                  navShown: !!(nr && nr.right > 0 && nr.left < innerWidth && nr.width > 0 && getComputedStyle(nav).visibility !== 'hidden'),
                  scrollW: document.documentElement.scrollWidth, w: innerWidth}; }""")
        if not g['h1']: problem('phone width: no h1 title'); continue
        if not (0 <= g['top'] and g['bottom'] <= H): problem(f"phone width: the title is not in the first screen (top {g['top']:.0f} px of {H})")
        if g['navShown']: problem('phone width: the navigation covers the content (its drawer is open)')
        if max(g['scrollW'], g['w']) > W + 1: problem(f"phone width: the page scrolls sideways or is zoomed out ({max(g['scrollW'], g['w'])} px wide at {W} px)")
    ctx.close()

def _check_search(page, base, current, problem, word: str, limit_s: float = 20):
    "The search box of the index page finds `word` (typed again until the search worker has loaded its index)."
    current['page'] = 'index.html (search)'
    page.goto(base + 'index.html', wait_until='load')
    t0 = time.time()
    while time.time() - t0 < limit_s:
        try:
            if not page.is_visible('.md-search__input'): page.click('label.md-search__icon', timeout=2000)
            page.fill('.md-search__input', ''); page.type('.md-search__input', word)
            page.wait_for_selector('.md-search-result__item', timeout=2000)
            return
        except Exception: continue
    problem(f'search for {word!r} showed no result in {limit_s:.0f} s')

def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python tools/docs_check.py', description=__doc__.splitlines()[0])
    p.add_argument('site', type=Path, nargs='?', default=Path('site'))
    p.add_argument('--pages', nargs='*', help='only these pages (relative paths)')
    p.add_argument('--phone-pages', type=int, default=3, help='how many pages to check at phone width (default 3)')
    p.add_argument('--search', default='erfnet', help='a word the search box must find (default: erfnet)')
    p.add_argument('--no-search', action='store_true', help='skip the search box check')
    a = p.parse_args(argv)
    why = missing_tools()
    if why: print(f'docs_check.py: cannot check: {why}', file=sys.stderr); return 2
    r = check_site(a.site, a.pages, a.phone_pages, None if a.no_search else a.search)
    for m in r['problems']: print(m, file=sys.stderr)
    return 1 if r['problems'] else 0

if __name__ == '__main__': sys.exit(main())
