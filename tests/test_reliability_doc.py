"""Issue 14: docs/reliability.md is what scripts/report_bad_inputs.py writes today, and no bad input in it is
accepted silently or answered by an error that is not the package's own (an AttributeError, a KeyError, ...)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN_ERRORS = ("`DataFormatError`", "`ValueError`", "`FloatingPointError`", "warning:", "the previous run moved aside")


def _report_module():
    spec = importlib.util.spec_from_file_location("report_bad_inputs", ROOT / "scripts" / "report_bad_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reliability_doc_is_what_the_code_gives():
    report = _report_module()
    rendered = report.render()
    assert rendered == (ROOT / "docs" / "reliability.md").read_text(), \
        "docs/reliability.md is stale: run python scripts/report_bad_inputs.py --output docs/reliability.md"
    rows = [line for line in rendered.splitlines() if line.startswith("| ") and not line.startswith("| bad input")]
    assert len(rows) == len(report.CASES)
    for row in rows:
        outcome = row.rsplit(" | ", 1)[1]
        assert outcome.startswith(OWN_ERRORS), row
    assert "<folder>/UserBehavior.csv.gz, line" in rendered  # messages name the file and the line
