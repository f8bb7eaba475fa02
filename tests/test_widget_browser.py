"""`FreezePanel` in a real browser: JupyterLab (a server started here, on a free port with a token, in a temp folder) driven by Playwright
with the system Chromium. Runs a notebook that shows the panel, clicks block checkboxes, reads the trainable count and the `sslseg train`
flags the panel shows, clicks the save button, and parses the saved file and the shown flags with `sslseg train`'s own parser.
Slow (about a minute); skipped without Chromium, Playwright or JupyterLab."""
import importlib.util, json, os, shlex, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location('docs_check', REPO/'tools'/'docs_check.py')
dc = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(dc)

def _why_skip():
    if importlib.util.find_spec('jupyterlab') is None: return 'JupyterLab is not installed'
    return dc.missing_tools()

pytestmark = [pytest.mark.slow, pytest.mark.skipif(_why_skip() is not None, reason=_why_skip() or '')]

PANEL_CELL = """from sslseg.models.backbones import build_backbone
from sslseg.transfer import FreezePanel, TransferSpec
panel = FreezePanel(build_backbone('erfnet'), base=TransferSpec(encoder='rot.pt'), path='saved_transfer.json')
panel"""

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture
def lab(tmp_path):
    "(base URL, token, folder) of a JupyterLab server on a free port, serving a folder with the panel notebook; stopped after."
    root = tmp_path/'lab'; root.mkdir()
    nb = {'cells': [{'cell_type': 'code', 'execution_count': None, 'id': 'panel0', 'metadata': {}, 'outputs': [], 'source': PANEL_CELL}],
          'metadata': {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}}, 'nbformat': 4, 'nbformat_minor': 5}
    (root/'panel.ipynb').write_text(json.dumps(nb))
    port, token = _free_port(), 'sslseg-test-token'
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp_path/'cfg'), 'JUPYTER_RUNTIME_DIR': str(tmp_path/'rt'),
           'JUPYTERLAB_WORKSPACES_DIR': str(tmp_path/'ws'), 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
    proc = subprocess.Popen([sys.executable, '-m', 'jupyter', 'lab', '--no-browser', f'--port={port}', '--ip=127.0.0.1',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.port_retries=0', '--allow-root',
                             '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly'],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f'http://127.0.0.1:{port}/'
    try:
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(f'{base}api/status?token={token}', timeout=2); break
            except Exception:
                if proc.poll() is not None: pytest.fail(f'JupyterLab exited: {proc.stdout.read()[-2000:]}')
                if time.time() - t0 > 60: pytest.fail('JupyterLab did not answer within 60 s')
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()

def _expected(frozen: list[str]):
    "(trainable line, command) that the panel should show with `frozen` checked, computed here without a browser."
    from sslseg.models.backbones import build_backbone
    from sslseg.transfer import FreezePanel, TransferSpec
    p = FreezePanel(build_backbone('erfnet'), base=TransferSpec(encoder='rot.pt'))
    for b in frozen: p.boxes[b].value = True
    return p.trainable(), p.command(), p.spec()

def test_freeze_panel_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright
    from sslseg.run.cli import _train_parser
    from sslseg.run.transfer_cli import transfer_spec_from_args
    base, token, root = lab
    t0 = time.time()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=dc.find_chromium(), args=['--no-sandbox'])
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.set_default_timeout(60_000)
        page.goto(f'{base}lab/tree/panel.ipynb?token={token}')
        page.wait_for_selector('.jp-Notebook .jp-Cell .cm-content')
        page.locator('.jp-StatusBar-Widget', has_text='Idle').first.wait_for()                # the kernel is up (status bar)
        page.click('.jp-Notebook .jp-Cell .cm-content')
        page.keyboard.press('Shift+Enter')
        box = lambda name: page.locator('.widget-checkbox', has_text=f'{name}').first.locator('input[type=checkbox]')
        box('block1').wait_for()
        label = page.locator('.widget-html', has_text='trainable:').first
        code = page.locator('.widget-html code', has_text='sslseg train').first
        none_line, none_cmd, _ = _expected([])
        assert label.inner_text().strip() == none_line and code.inner_text().strip() == none_cmd

        box('block1').click(); box('block2').click()
        want_line, want_cmd, want_spec = _expected(['block1', 'block2'])
        page.wait_for_function('([el, want]) => el.innerText.trim() == want', arg=[label.element_handle(), want_line], timeout=20_000)
        assert code.inner_text().strip() == want_cmd != none_cmd
        assert box('block1').is_checked() and box('block2').is_checked() and not box('block3').is_checked()
        assert '%' in want_line and '(100.00 %' not in want_line

        page.locator('button', has_text='save transfer config').click()
        page.locator('.widget-html', has_text='saved').first.wait_for()
        browser.close()
    saved = root/'saved_transfer.json'
    assert saved.exists(), 'the save button wrote no file'
    from_file = transfer_spec_from_args(_train_parser().parse_args(['--transfer-config', str(saved)]))   # what `sslseg train` reads
    from_flags = transfer_spec_from_args(_train_parser().parse_args(shlex.split(want_cmd)[2:]))           # the flags the panel shows
    assert from_file == from_flags == want_spec
    assert time.time() - t0 < 120
