"""Write one benchmark's section of bench/RESULTS.md, keeping the other sections."""

import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by `python -m bench` (`make bench`); one section per benchmark.\n"
)


def machine() -> str:
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def write_section(name: str, body: str, command: str) -> None:
    """Replace (or append) the section `name` of RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- {name} -->\n## {name}\n\n_Command: `{command}` · {stamp} · {machine()}_\n\n"
        f"{body.strip()}\n<!-- /{name} -->\n"
    )
    pattern = re.compile(
        rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->\n", re.S
    )
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text + "\n" + section
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(section)
