"""Results: the service's numbers against hand computations, publications that never move."""

import io
import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import analysis
from survey.errors import Conflict
from survey.extensions import db
from survey.models import (
    Dossier,
    PeriodStatus,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from survey.services import demo, indices, publications, review
from tests.helpers import DEFINITION
from tests.seed import PERIOD_ID

CRITERIA = [c.code for c in DEFINITION.criteria]


@pytest.fixture
def period(app_ctx):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    demo.add_synthetic_responses(period, 240, random.Random(5))
    return period


@pytest.fixture
def admin(app_ctx):
    return db.session.scalar(sa.select(User).filter_by(username="admin"))


def decoded(period) -> pd.DataFrame:
    rows = db.session.execute(
        sa.select(SurveyResponse.answers, Unit.code, SurveyResponse.field)
        .join(Unit, Unit.id == SurveyResponse.unit_id)
        .where(SurveyResponse.period_id == period.id, SurveyResponse.status == "valid")
    ).all()
    frame = pd.DataFrame(
        [DEFINITION.decode_answers(a) | {"unit": u, "field": f} for a, u, f in rows]
    )
    return frame.replace(0, np.nan)


def row(table, unit, indicator):
    return table[(table["unit"] == unit) & (table["indicator"] == indicator)].iloc[0]


def test_unweighted_index_is_the_share_of_4_and_5(period):
    table = indices.compute(period, indices.Settings()).table
    frame = decoded(period)
    for code in ("1.1", "5.4"):
        answered = frame[code].dropna()
        assert row(table, analysis.ALL, code)["estimate"] == pytest.approx(
            100 * (answered >= 4).mean(), rel=1e-12
        )
    criteria = [100 * (frame[c].dropna() >= 4).mean() for c in CRITERIA]
    elements = [
        np.mean(criteria[i:j]) for i, j in ((0, 4), (4, 9), (9, 15), (15, 18), (18, 22))
    ]
    assert row(table, analysis.ALL, "SIPAS")["estimate"] == pytest.approx(
        np.mean(elements)
    )
    stp = frame[frame["unit"] == "STP"]["2.1"].dropna()
    assert row(table, "STP", "2.1")["estimate"] == pytest.approx(
        100 * (stp >= 4).mean()
    )
    assert row(table, "STP", "2.1")["n"] == len(stp)


def add_register(period, counts: dict[tuple[str, str], int]) -> None:
    units = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    rows, number = [], 0
    for (unit, field), count in counts.items():
        for _ in range(count):
            number += 1
            rows.append(
                {
                    "code": f"D{number}",
                    "unit_id": units[unit],
                    "field": field,
                    "received_on": period.starts_on,
                    "returned_on": period.starts_on + timedelta(days=1),
                    "is_late": False,
                }
            )
    db.session.execute(sa.insert(Dossier), rows)
    db.session.commit()


def test_volume_weights_make_units_count_by_their_dossiers(period):
    frame = decoded(period)
    fields = sorted(set(frame["field"]))
    counts = {("STP", f): 900 for f in fields} | {("X-HB", f): 100 for f in fields}
    add_register(period, counts)
    table = indices.compute(period, indices.Settings(weighting="volume")).table
    # Post-stratified ratio: sum over cells of N_c * (satisfied / answered within the cell).
    cells = frame.dropna(subset=["1.1"]).groupby(["unit", "field"])["1.1"]
    share = cells.apply(lambda s: (s >= 4).mean())
    answered_share = frame.groupby(["unit", "field"])["1.1"].apply(
        lambda s: s.notna().mean()
    )
    population = pd.Series({k: v for k, v in counts.items()}).reindex(share.index)
    expected = (
        100
        * (population * answered_share * share).sum()
        / (population * answered_share).sum()
    )
    assert row(table, analysis.ALL, "1.1")["estimate"] == pytest.approx(
        expected, rel=1e-10
    )
    unweighted = indices.compute(period, indices.Settings()).table
    assert row(table, "STP", "1.1")["estimate"] == pytest.approx(
        row(unweighted, "STP", "1.1")["estimate"], abs=15
    )


def test_volume_weights_need_the_register(period):
    with pytest.raises(indices.ResultsError, match="Không có hồ sơ"):
        indices.compute(period, indices.Settings(weighting="volume"))


def test_raking_to_gender_margins(period):
    frame = indices.response_frame(period)
    margin = pd.DataFrame({"gender": ["nam", "nu"], "population": [3000, 7000]})
    settings = indices.Settings(weighting="rake", margins=(margin.to_csv(index=False),))
    computed = indices.compute(period, settings)
    assert computed.weights["kish_deff"] > 1
    assert set(frame["gender"]) == {"nam", "nu"}


def test_raking_margin_with_unknown_column_is_refused(period):
    margin = "religion,population\nx,5\n"
    with pytest.raises(indices.ResultsError, match="religion"):
        indices.compute(period, indices.Settings(weighting="rake", margins=(margin,)))


@pytest.mark.parametrize(
    "bad",
    [
        {"weighting": "magic"},
        {"ci": "bootstrap"},
        {"level": 1.5},
        {"trim": 0.5},
        {"weighting": "rake"},
    ],
)
def test_invalid_settings_are_refused(bad):
    with pytest.raises(indices.ResultsError):
        indices.Settings(**bad)


def close(period):
    period.status = PeriodStatus.CLOSED.value
    db.session.commit()


def test_only_closed_periods_are_published_and_only_once(period, admin):
    with pytest.raises(Conflict):
        publications.publish(period, indices.Settings(), by=admin)
    close(period)
    publications.publish(period, indices.Settings(), by=admin)
    with pytest.raises(Conflict, match="đã được công bố"):
        publications.publish(period, indices.Settings(), by=admin)


def test_publication_reproduces_every_number_after_later_exclusions(period, admin):
    close(period)
    publication = publications.publish(
        period, indices.Settings(ci="logit", level=0.9), by=admin
    )
    used = publications.used_ids(publication)
    assert len(used) == 240
    later = db.session.get(SurveyResponse, int(used[0]))
    review.set_status(later, "excluded", "phát hiện sau khi công bố", by=admin)
    assert publications.verify(publication)
    now = indices.compute(period, indices.Settings(ci="logit", level=0.9))
    assert len(now.response_ids) == 239  # new computations see the exclusion


def test_a_tampered_publication_is_detected(period, admin):
    close(period)
    publication = publications.publish(period, indices.Settings(), by=admin)
    publication.results = [
        dict(r, estimate=(r["estimate"] or 0) + 1e-9) if i == 0 else r
        for i, r in enumerate(publication.results)
    ]
    db.session.commit()
    assert not publications.verify(publication)


def test_public_page_and_downloads_match_the_publication(app, period, admin):
    close(period)
    publication = publications.publish(period, indices.Settings(), by=admin)
    stored = pd.DataFrame(publication.results)
    client = app.test_client()
    page = client.get(f"/results/{period.id}").get_data(as_text=True)
    province = stored[
        (stored["unit"] == analysis.ALL) & (stored["indicator"] == "SIPAS")
    ].iloc[0]
    assert f"{province['estimate']:.1f}".replace(".", ",") in page
    assert publication.content_hash in page
    csv = pd.read_csv(
        io.BytesIO(client.get(f"/results/{period.id}.csv").data), encoding="utf-8-sig"
    )
    xlsx = pd.read_excel(io.BytesIO(client.get(f"/results/{period.id}.xlsx").data))
    # CSV carries every bit; XLSX keeps the 15 significant digits that spreadsheets hold.
    for downloaded, rtol in ((csv, 0), (xlsx, 1e-14)):
        assert list(downloaded["unit"]) == list(stored["unit"])
        for column in ("estimate", "se", "ci_low", "ci_high"):
            np.testing.assert_allclose(
                downloaded[column].to_numpy(float),
                stored[column].to_numpy(float),
                rtol=rtol,
                atol=0,
            )


def test_unpublished_period_has_no_public_page(client):
    assert client.get(f"/results/{PERIOD_ID}").status_code == 404
    assert client.get(f"/results/{PERIOD_ID}.csv").status_code == 404
