"""Reliability notes written by analysis in English read in the page's language."""

import pytest

from survey.notes import reliability_note

NOTE = "effective n 29.8 < 30; df 3 < 5; mean of 20 of 22 criteria; 2 strata with one PSU (adjust)"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "vi",
            "n hiệu dụng 29,8 < 30; bậc tự do 3 < 5; trung bình của 20/22 tiêu chí; "
            "2 tầng chỉ có một cụm (adjust)",
        ),
        (
            "en",
            "effective n 29.8 < 30; df 3 < 5; mean of 20/22 criteria; "
            "2 strata with one PSU (adjust)",
        ),
    ],
)
def test_notes_follow_the_language(app, lang, expected):
    with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        assert reliability_note(NOTE) == expected
        assert reliability_note(None) == ""
        assert reliability_note("something new") == "something new"


def test_every_note_analysis_writes_is_known(app):
    """Each English note pattern of analysis/estimate.py has a Vietnamese reading."""
    notes = [
        "no answers",
        "SE is zero: one PSU",
        "SE is zero: all answers alike",
        "SE is zero: PSUs alike",
        "effective n 12.0 < 30",
        "CI width 31.5 >= 30",
        "no confidence interval",
        "df 2 < 5",
        "mean of 3 of 5 elements",
        "1 stratum with one PSU (adjust)",
    ]
    with app.test_request_context():
        for note in notes:
            assert reliability_note(note) != note, note
