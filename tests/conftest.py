import os, pytest
from pathlib import Path

@pytest.fixture(scope='session')
def camvid():
    "Path to the real CamVid (SegNet layout) from $SSLSEG_CAMVID; tests using it skip without it."
    p = os.environ.get('SSLSEG_CAMVID')
    if not p or not Path(p).is_dir(): pytest.skip('set SSLSEG_CAMVID to the CamVid root to run this test')
    return Path(p)
