"""Funding schedules: missing settlements and schedule changes, from rows with and without intervals."""

from __future__ import annotations

import pytest

from candlelake.timeutil import Window
from candlelake.validate.funding import HOUR_MS, Settlement, infer_intervals, missing_settlements

T0 = 1_717_200_000_000  # 2024-06-01T00:00Z, on the 8 h grid


def hours(*offsets: int) -> list[int]:
    return [T0 + h * HOUR_MS for h in offsets]


def test_a_steady_schedule_and_a_change_to_4_h_are_read_from_rest_times() -> None:
    times = hours(0, 8, 16, 24, 28, 32, 36)
    assert infer_intervals(times) == [8, 8, 8, 8, 4, 4, 4]


@pytest.mark.parametrize(
    ("offsets", "want"),
    [
        ((0, 8, 24, 32, 40), [8, 8, 8, 8, 8]),  # 16 is missing in an 8 h schedule
        ((0, 4, 8, 16, 20, 24), [4, 4, 4, 4, 4, 4]),  # 12 is missing in a 4 h schedule
    ],
)
def test_a_missing_settlement_does_not_pass_for_a_longer_schedule(
    offsets: tuple[int, ...], want: list[int]
) -> None:
    assert infer_intervals(hours(*offsets)) == want


def test_every_due_settlement_not_published_is_a_missing_minute_with_its_interval() -> None:
    offsets = (0, 8, 24, 28, 36, 40)  # 16 missing (8 h), 32 missing (4 h after the change at 24)
    items = [Settlement(t + 3, 0.0001, h) for t, h in zip(hours(*offsets), (8, 8, 8, 4, 4, 4), strict=True)]
    window = Window(T0, T0 + 48 * HOUR_MS)
    gaps = missing_settlements(items, window)
    assert [(g.start_ms - T0) // HOUR_MS for g in gaps] == [16, 32, 44]
    assert [g.reason.split("(")[1] for g in gaps] == [
        "8 h after the previous)",
        *["4 h after the previous)"] * 2,
    ]
    assert all(g.kind == "missing" and g.minutes == 1 for g in gaps)


def test_settlements_due_before_the_listing_are_excluded_not_missing() -> None:
    items = [Settlement(t, 0.0, 8) for t in hours(24, 32)]
    gaps = missing_settlements(items, Window(T0, T0 + 40 * HOUR_MS), listed_ms=T0 + 20 * HOUR_MS)
    assert [((g.start_ms - T0) // HOUR_MS, g.kind) for g in gaps] == [
        (0, "excluded"),
        (8, "excluded"),
        (16, "excluded"),
    ]
