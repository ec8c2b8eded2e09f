"""Every Python block of README.md's library section runs, each on its own (self-contained)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def library_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## The library\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_library_section_has_blocks() -> None:
    assert len(library_blocks()) >= 5


@pytest.mark.parametrize("number", range(len(library_blocks())))
def test_a_library_block_runs(number: int) -> None:
    code = library_blocks()[number]
    exec(compile(code, f"README.md library block {number + 1}", "exec"), {"__name__": "readme"})
