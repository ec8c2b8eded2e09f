"""B6 (streaming memory) still runs: its smallest form, two fresh servers per mode."""

from __future__ import annotations

import pytest

from benchmarks import b6_streaming
from pgrest_server.postgres import postgres_available


@pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL binaries")
def test_b6_measures_both_modes_and_renders() -> None:
    result = b6_streaming.run((500, 1500))
    modes = {(m.streamed, m.rows) for m in result.measurements}
    assert modes == {(False, 500), (False, 1500), (True, 500), (True, 1500)}
    assert all(m.peak_rss_mib > 0 and m.body_mib > 0 for m in result.measurements)
    text = "\n".join(b6_streaming.section(result))
    assert "## B6 streaming" in text and "Growth exponent" in text
