import os, pytest
import torch
from pathlib import Path

def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='also run tests marked slow (minutes of CPU training)')

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: trains for minutes; skipped unless --runslow or SSLSEG_SLOW=1')

def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow') or os.environ.get('SSLSEG_SLOW') == '1': return
    skip = pytest.mark.skip(reason='slow: run with --runslow or SSLSEG_SLOW=1')
    for it in items:
        if 'slow' in it.keywords: it.add_marker(skip)

@pytest.fixture(scope='session')
def camvid():
    "Path to the real CamVid (SegNet layout) from $SSLSEG_CAMVID; tests using it skip without it."
    p = os.environ.get('SSLSEG_CAMVID')
    if not p or not Path(p).is_dir(): pytest.skip('set SSLSEG_CAMVID to the CamVid root to run this test')
    return Path(p)

@pytest.fixture
def one_thread():
    "Tiny tensors: one intra-op thread beats synchronising several (by 100x on a loaded 2-core machine); restored after."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
