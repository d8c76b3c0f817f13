"""The README's copy of `make help` is what `make help` prints."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_lists_the_targets_make_help_prints() -> None:
    printed = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    block = re.search(
        r"`make help` lists every target:\n\n```\n(.*?)```", (ROOT / "README.md").read_text(), re.S
    )
    assert block is not None
    assert block[1] == printed, "README's `make help` block is stale: paste the output of `make help`"
