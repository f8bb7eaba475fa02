"""Shared helpers of the data preparation scripts: download with checksum, safe archive extraction, pair counting.

Standard library only, so the scripts run before sslseg is installed."""
from __future__ import annotations
import hashlib, os, shutil, sys, tarfile, tempfile, urllib.request, zipfile
from pathlib import Path


class PrepareError(Exception):
    "A problem the user can fix (bad archive, checksum mismatch, missing file): printed as one line by `run`."


def file_hash(path, algo: str = 'md5', chunk: int = 1 << 20) -> str:
    "Hex digest of a file, read in chunks."
    h = hashlib.new(algo)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''): h.update(block)
    return h.hexdigest()


def check_hash(path, md5: str | None = None, sha256: str | None = None):
    "Raise PrepareError when the file's md5/sha256 differs from the published one."
    for algo, want in (('md5', md5), ('sha256', sha256)):
        if want and file_hash(path, algo) != want.lower():
            raise PrepareError(f"{algo} of {path} is not the published {want}: the download is damaged or incomplete; "
                               f"delete the file and run the script again")


def download(url: str, dest, md5: str | None = None, sha256: str | None = None, quiet: bool = False) -> Path:
    "Download `url` to `dest` (skipped if a file with the right checksum is there), atomically, then check its checksum."
    dest = Path(dest); dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        try:
            check_hash(dest, md5, sha256)
            if not quiet: print(f"using existing {dest}")
            return dest
        except PrepareError:
            if not quiet: print(f"{dest} exists but its checksum is wrong: downloading again")
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix='.' + dest.name); os.close(fd)
    def hook(blocks, bs, total):
        if not quiet and total > 0 and blocks % 200 == 0:
            print(f"\r{dest.name}: {min(blocks * bs, total) / total:6.1%}", end='', file=sys.stderr)
    try:
        if not quiet: print(f"downloading {url}")
        urllib.request.urlretrieve(url, tmp, reporthook=hook)
        if not quiet: print(file=sys.stderr)
        check_hash(tmp, md5, sha256)
        os.replace(tmp, dest)
    except OSError as e:
        raise PrepareError(f"download of {url} failed ({e}); check the connection, or download it by hand and pass the file") from None
    finally:
        if os.path.exists(tmp): os.remove(tmp)
    return dest


def _safe_target(dest: Path, rel: str) -> Path:
    target = (dest / rel).resolve()
    if not str(target).startswith(str(dest.resolve()) + os.sep):
        raise PrepareError(f"archive member {rel!r} would be written outside {dest}: refusing to extract")
    return target


def extract(archive, dest, select=lambda name: name, quiet: bool = False) -> int:
    """Extract the members of a zip or tar archive for which `select(name)` returns a relative path (None skips).

    Returns the number of files written. Member paths that would escape `dest` are refused."""
    archive, dest = Path(archive), Path(dest); dest.mkdir(parents=True, exist_ok=True)
    if not archive.is_file(): raise PrepareError(f"archive not found: {archive}; check the path")
    n = 0
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    rel = None if info.is_dir() else select(info.filename)
                    if not rel: continue
                    target = _safe_target(dest, rel); target.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(info) as src, open(target, 'wb') as out: shutil.copyfileobj(src, out)
                    n += 1
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                for m in t:
                    rel = select(m.name) if m.isfile() else None
                    if not rel: continue
                    target = _safe_target(dest, rel); target.parent.mkdir(parents=True, exist_ok=True)
                    with t.extractfile(m) as src, open(target, 'wb') as out: shutil.copyfileobj(src, out)
                    n += 1
        else: raise PrepareError(f"{archive} is neither a zip nor a tar archive: delete it and download it again")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise PrepareError(f"cannot extract {archive} ({e}): the archive is damaged; delete it and download it again") from None
    if not quiet: print(f"extracted {n} files from {archive.name} into {dest}")
    return n


def strip_to(marker: str):
    "A `select` for `extract`: keep members whose path contains the folder `marker`, relative to it (`a/b/CamVid/x` -> `x`)."
    def select(name):
        parts = name.replace('\\', '/').split('/')
        return '/'.join(parts[parts.index(marker) + 1:]) or None if marker in parts else None
    return select


def report(counts: dict, expected: dict):
    "Print image counts per split next to the published ones."
    for split, n in counts.items():
        exp = expected.get(split)
        note = '' if exp is None or exp == n else f"  (the full dataset has {exp}: is the archive complete?)"
        print(f"{split:>10}: {n} images{note}")


def run(main):
    "Run a script's main(); print PrepareError as one line and exit 1."
    try: main()
    except PrepareError as e:
        print(f"error: {e}", file=sys.stderr); sys.exit(1)
