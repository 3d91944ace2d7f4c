"""The analysis package stays free of the web stack."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_analysis_import_loads_no_web_modules():
    code = (
        "import sys, analysis, analysis.cli, analysis.estimate\n"
        "loaded = [m for m in ('flask', 'sqlalchemy', 'survey', 'forms', 'wtforms')"
        " if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
