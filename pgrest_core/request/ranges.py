"""`Range: 0-9` / `Range-Unit: items` in, `Content-Range: 0-9/100` out.

Only the `first-last` and `first-` forms in the `items` unit mean anything; any other Range
header is ignored, as PostgREST ignores it, and the whole result is returned.
"""

from __future__ import annotations

import re
from typing import Final

from pgrest_core import errors
from pgrest_core.ast import RangeHeader

# At most 18 digits: every such number fits PostgreSQL's bigint (LIMIT/OFFSET); longer ones
# are not a range anyone can mean, and are ignored like any other malformed Range.
_ITEMS_RANGE: Final = re.compile(r"([0-9]{1,18})-([0-9]{0,18})")
_BOUNDARIES_REVERSED: Final = (
    "The lower boundary must be lower than or equal to the upper boundary in the Range header."
)


def parse_range(range_value: str | None, unit: str | None) -> RangeHeader | None:
    """The rows a `Range` header asks for; None when there is none or it is not understood.

    `unit` is the `Range-Unit` header, `items` when absent. `5-2` is PGRST103 (416).
    """
    if range_value is None:
        return None
    if unit is not None and unit.strip().lower() != "items":
        return None
    match = _ITEMS_RANGE.fullmatch(range_value.strip())
    if match is None:
        return None
    first = int(match.group(1))
    if not match.group(2):
        return RangeHeader(offset=first, limit=None)
    last = int(match.group(2))
    if first > last:
        raise errors.invalid_range(_BOUNDARIES_REVERSED)
    return RangeHeader(offset=first, limit=last - first + 1)


def content_range(offset: int, page_rows: int, total: int | None) -> str:
    """The `Content-Range` value: `0-9/100`, `0-9/*` when the total is unknown, `*/0` for no rows."""
    total_text = "*" if total is None else str(total)
    if page_rows <= 0:
        return f"*/{total_text}"
    return f"{offset}-{offset + page_rows - 1}/{total_text}"
