"""The README's result blocks are generated from the committed results (tools/readme_tables.py) and must match them."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _tool():
    spec = importlib.util.spec_from_file_location('readme_tables', ROOT / 'tools' / 'readme_tables.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def test_readme_result_blocks_match_the_committed_results():
    assert _tool().main(['--check']) == 0, "run: python tools/readme_tables.py"

def test_blocks_are_replaced_and_a_stale_block_is_found():
    t = _tool()
    text = "intro\n<!-- claims:start -->\nold numbers\n<!-- claims:end -->\noutro\n"
    new = t.render(text)
    assert 'old numbers' not in new and new.startswith('intro\n<!-- claims:start -->\n| table | budget | claim |') and new.endswith('<!-- claims:end -->\noutro\n')
    assert t.render(new) == new                      # idempotent
    assert 'inconclusive' in new and 'smallest detectable' in new

def test_ranking_has_one_table_per_budget_of_the_committed_results():
    t = _tool(); tabs = t.repro_tables()
    budgets = list(dict.fromkeys(t.budget(s) for s, *_ in tabs.values()))
    new = t.render("<!-- ranking:start -->\n<!-- ranking:end -->\n")
    assert [l.split(' (')[0] for l in new.splitlines() if l.startswith('At ')] == [f"At {b}" for b in budgets]
    assert new.count('| setting | Δ over random (paired) |') == len(budgets)
    assert '| random |' not in new                    # the baseline is not ranked against itself

def test_grid_rows_agree_with_the_claims_block():
    "One grid row per table; its claims and changed-verdict columns add up to the claims block's totals."
    import re
    t = _tool(); tabs = t.repro_tables()
    grid = [l.split(' | ') for l in t.grid_block().splitlines() if l.startswith('| ') and not l.startswith('| table') and not l.startswith('|---')]
    assert [r[0].strip('| ') for r in grid] == list(tabs)
    claims = t.claims_block()
    total, changed = re.search(r"Of the (\d+) claims.*?(?:; (\d+) changed verdict|\.$)", claims, re.S).groups()
    assert sum(int(r[4]) for r in grid) == int(total)
    assert sum(int(r[5].strip(' |')) for r in grid if r[5].strip(' |') != '–') == int(changed or 0)
