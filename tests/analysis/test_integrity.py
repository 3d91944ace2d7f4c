"""The vectorised building blocks of the flag rules, against plain loops."""

import numpy as np
import pandas as pd
import pytest

from analysis import integrity


def test_window_counts_match_a_loop():
    rng = np.random.default_rng(1)
    group = np.sort(rng.integers(0, 5, 400))
    seconds = np.concatenate(
        [np.sort(rng.uniform(0, 5000, (group == g).sum())) for g in range(5)]
    )
    count, start = integrity.window_counts(group, seconds, 600.0)
    for i in range(len(group)):
        inside = [
            j
            for j in range(len(group))
            if group[j] == group[i] and seconds[i] - 600 < seconds[j] <= seconds[i]
        ]
        assert count[i] == len(inside)
        assert start[i] == min(inside)


def test_covered_marks_every_row_of_every_range():
    start, end = np.array([2, 5, 6]), np.array([3, 7, 6])
    assert integrity.covered(start, end, 10).tolist() == [
        i in {2, 3, 5, 6, 7} for i in range(10)
    ]


def test_widen_opens_earlier_and_closes_later():
    mask = integrity.open_mask([[(0, 450, 1020)]])  # Monday 07:30-17:00
    wide = integrity.widen(mask, 30, 60)
    open_minutes = np.flatnonzero(wide[0, 0])
    assert (open_minutes.min(), open_minutes.max()) == (420, 1079)
    assert not wide[0, 1].any()


def test_satisfied_share_and_straight_lining():
    answers = pd.Series(["5555", "4400", "1234", "0000"])
    assert integrity.satisfied_share(answers)[:3].tolist() == [1.0, 1.0, 0.25]
    assert np.isnan(integrity.satisfied_share(answers)[3])
    assert integrity.straight_lined(answers)[:3].tolist() == [True, True, False]


def test_thresholds_refuse_unknown_names():
    assert integrity.Thresholds.from_mapping({"device_per_day": 4}).device_per_day == 4
    with pytest.raises(ValueError, match="unknown thresholds"):
        integrity.Thresholds.from_mapping({"device_per_week": 4})
