"""Write the index notebook's list of every notebook, in reading order, each a link with its title and summary, and prev/next links at the
end of every notebook, between `<!-- notebooks:start -->` / `<!-- notebooks:end -->` and `<!-- nav:start -->` / `<!-- nav:end -->` markers.

Reading order: the folders as the index table lists them (data flows left to right), the notebooks of a folder by number.
Usage: python tools/nb_index.py [--check]   (--check: exit 1 when a notebook differs from what this would write)
"""
import argparse, json, re, sys
from pathlib import Path

NBS = Path(__file__).resolve().parent.parent / 'nbs'
ORDER = ['.', 'data', 'models', 'tasks', 'transfer', 'train', 'analysis', 'tune', 'experiment', 'bench', 'run', 'repro']

def notebooks() -> list[Path]:
    "Every notebook under nbs/ except the index, in reading order."
    out = []
    for d in ORDER:
        out += sorted(p for p in (NBS / d).glob('*.ipynb') if p.name != 'index.ipynb')
    rest = sorted(set(NBS.rglob('*.ipynb')) - set(out) - {NBS / 'index.ipynb'} - set(NBS.rglob('.ipynb_checkpoints/*')))
    return out + rest

def title(p: Path) -> tuple[str, str]:
    "(the H1, the one-line summary after it) of notebook `p`."
    for c in json.loads(p.read_text())['cells']:
        if c['cell_type'] != 'markdown': continue
        lines = ''.join(c['source']).splitlines()
        h = next((l[2:].strip() for l in lines if l.startswith('# ')), None)
        if h: return h, next((l[1:].strip() for l in lines if l.startswith('> ')), '')
    return p.stem, ''

def _set_block(nb: dict, name: str, body: str, where: str) -> dict:
    "Put `body` between the markers of `name` in the notebook's markdown cell that has them, or in a new markdown cell at `where` (end)."
    start, end = f'<!-- {name}:start -->', f'<!-- {name}:end -->'
    text = f'{start}\n{body}\n{end}'
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown' and start in src:
            new = re.sub(re.escape(start) + r'.*?' + re.escape(end), lambda m: text, src, flags=re.S)
            c['source'] = new.splitlines(True); return nb
    cell = {'cell_type': 'markdown', 'id': f'{name}0000', 'metadata': {}, 'source': text.splitlines(True)}
    nb['cells'].append(cell)
    return nb

def render() -> dict[Path, str]:
    "The text every notebook should have."
    nbs = notebooks(); out = {}
    rows, folder = [], None
    for p in nbs:
        rel = p.relative_to(NBS).as_posix(); d = p.parent.relative_to(NBS).as_posix()
        if d != folder:
            folder = d; rows.append(f"\n**{'top level' if d == '.' else d + '/'}**\n")
        h, s = title(p)
        rows.append(f"1. [{h}]({rel})" + (f": {s}" if s else ''))
    index = NBS / 'index.ipynb'
    out[index] = _dump(_set_block(json.loads(index.read_text()), 'notebooks', '\n'.join(rows).strip(), 'end'))
    chain = [index] + nbs
    for i, p in enumerate(nbs, start=1):
        prev, nxt = chain[i - 1], chain[i + 1] if i + 1 < len(chain) else None
        link = lambda q: Path(__import__('os').path.relpath(q, p.parent)).as_posix()
        nav = f"Previous: [{title(prev)[0] if prev != index else 'sslseg (index)'}]({link(prev)})" + (f" · Next: [{title(nxt)[0]}]({link(nxt)})" if nxt else '')
        out[p] = _dump(_set_block(json.loads(p.read_text()), 'nav', nav, 'end'))
    return out

def _dump(nb: dict) -> str: return json.dumps(nb, indent=1, ensure_ascii=False) + '\n'

def main(argv=None) -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0]); a.add_argument('--check', action='store_true'); args = a.parse_args(argv)
    stale = [p for p, text in render().items() if p.read_text() != text]
    if args.check:
        for p in stale: print(f"{p.relative_to(NBS.parent)}: its notebook list or prev/next links are stale: run python tools/nb_index.py")
        return 1 if stale else 0
    for p, text in render().items():
        if p.read_text() != text: p.write_text(text)
    print(f"{len(stale)} notebook(s) updated")
    return 0

if __name__ == '__main__': sys.exit(main())
