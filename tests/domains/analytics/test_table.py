"""The CLI table fits 80 columns whatever the values: figures whole, group values
shortened with an ellipsis (``--json`` and ``--csv`` carry them whole)."""

from __future__ import annotations

import datetime as dt

import pytest
from rich.console import Console

from bastion.domains.analytics._cli import TABLE_WIDTH, table
from bastion.kernel.analytics import AnalyticsQuery, Report, UsageRow

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
LONG = "usr_01HZXABCDEFGHJKMNPQRSTVWXYZ-with-a-very-long-tail"


def _row(group: dict[str, str | None], big: bool) -> UsageRow:
    n = 987_654_321 if big else 3
    return UsageRow(group, n, n, n, n, n, n, n, n, n * 1_000_000, 12345.6, 654321.0, 0.5)


@pytest.mark.parametrize("report", list(Report))
@pytest.mark.parametrize("group_by", [("user",), ("user", "model"), ("hour", "tenant")])
@pytest.mark.parametrize("big", [False, True])
def test_the_table_fits(report: Report, group_by: tuple[str, ...], big: bool) -> None:
    query = AnalyticsQuery(report, group_by, NOW - dt.timedelta(days=1), NOW)
    rows = [_row(dict.fromkeys(group_by, LONG), big), _row(dict.fromkeys(group_by), big)]
    console = Console(width=TABLE_WIDTH, record=True)
    console.print(table(query, rows))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= TABLE_WIDTH
    # Every figure is whole; the long value is cut with an ellipsis.
    assert "…" in text and LONG not in text
    assert ("988M" if big else " 3 ") in text
