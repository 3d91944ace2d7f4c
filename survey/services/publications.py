"""Publications: immutable, reproducible snapshots of a period's results."""

import hashlib
import io
import json

import pandas as pd
import sqlalchemy as sa

import analysis

from ..errors import Conflict
from ..extensions import db
from ..models import PeriodStatus, Publication, SurveyPeriod, User
from . import audit
from .indices import Results, Settings, compute

RESULT_FIELDS = ["unit", "name", "level", "kind", *analysis.OUTPUT_COLUMNS[1:]]
RANK_FIELDS = ["unit", "block", "rank", "rank_low", "rank_high", "n_ranked", "note"]


def _records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    """JSON-safe records: NaN becomes None; floats keep full precision."""
    out = frame[fields].astype(object).where(frame[fields].notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in out.to_dict("records")
    ]


def snapshot(results: Results) -> dict:
    """The publishable content of results: tables, ranks and summary."""
    ranks = {r["unit"]: r for r in _records(results.ranks, RANK_FIELDS)}
    versus = results.versus_province
    verdicts = (
        dict(zip(versus["unit"], versus["verdict"], strict=True)) if len(versus) else {}
    )
    differences = (
        dict(zip(versus["unit"], versus["difference"], strict=True))
        if len(versus)
        else {}
    )
    rows = _records(results.table, RESULT_FIELDS)
    for row in rows:
        if row["indicator"] == analysis.OVERALL:
            rank = ranks.get(row["unit"], {})
            row |= {
                k: rank.get(k)
                for k in ("block", "rank", "rank_low", "rank_high", "n_ranked")
            }
            row["verdict"] = verdicts.get(row["unit"])
            difference = differences.get(row["unit"])
            row["difference"] = (
                None
                if difference is None or difference != difference
                else float(difference)
            )
    return {
        "results": rows,
        "summary": {
            "responses": len(results.response_ids),
            "excluded": results.excluded,
            "weights": results.weights,
        },
    }


def content_hash(
    questionnaire_hash: str, settings: dict, response_ids: list[int], content: dict
) -> str:
    blob = json.dumps(
        [questionnaire_hash, settings, response_ids, content],
        sort_keys=True,
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def publication_of(period: SurveyPeriod) -> Publication | None:
    return db.session.scalar(sa.select(Publication).filter_by(period_id=period.id))


def published_period_ids() -> set[int]:
    return set(db.session.scalars(sa.select(Publication.period_id)))


def publish(period: SurveyPeriod, settings: Settings, *, by: User) -> Publication:
    """Freeze a closed period's results under these settings and make them public.

    :raise Conflict: if the period is not closed or is already published.
    """
    if period.status != PeriodStatus.CLOSED:
        raise Conflict("Chỉ công bố được đợt đã đóng.")
    if publication_of(period) is not None:
        raise Conflict("Đợt này đã được công bố; bản công bố không thể sửa.")
    results = compute(period, settings)
    content = snapshot(results)
    settings_dict = settings.to_dict()
    publication = Publication(
        period=period,
        published_by=by,
        questionnaire_code=period.questionnaire.code,
        settings=settings_dict,
        response_ids=results.response_ids,
        results=content["results"],
        summary=content["summary"],
        content_hash=content_hash(
            period.questionnaire.content_hash,
            settings_dict,
            results.response_ids,
            content,
        ),
    )
    db.session.add(publication)
    db.session.flush()
    from .plans import evaluate_plans  # plans read publications: import here

    evaluate_plans(publication, by=by)
    audit.record(
        "period.publish",
        period,
        after={
            "publication": publication.id,
            "hash": publication.content_hash,
            "settings": settings_dict,
        },
        by=by,
    )
    db.session.commit()
    return publication


def reproduce(publication: Publication) -> dict:
    """Recompute a publication from the stored raw responses and settings."""
    settings = Settings.from_dict(publication.settings)
    results = compute(publication.period, settings, publication.response_ids)
    content = snapshot(results)
    content["summary"]["excluded"] = publication.summary["excluded"]
    return content


def verify(publication: Publication) -> bool:
    """True if recomputing gives every published number and the same content hash."""
    content = reproduce(publication)
    digest = content_hash(
        publication.period.questionnaire.content_hash,
        publication.settings,
        publication.response_ids,
        content,
    )
    return (
        content["results"] == publication.results and digest == publication.content_hash
    )


def public_publications() -> list[Publication]:
    query = sa.select(Publication).order_by(Publication.published_at.desc())
    return list(
        db.session.scalars(query.options(sa.orm.joinedload(Publication.period)))
    )


def published_trend(unit: str, before: SurveyPeriod) -> list[tuple[str, str, dict]]:
    """A unit's published overall index in the periods before one, oldest first.

    Each point is (period name, questionnaire version, published row): a chart
    breaks the series where the version changes.
    """
    query = (
        sa.select(Publication)
        .join(SurveyPeriod, SurveyPeriod.id == Publication.period_id)
        .where(SurveyPeriod.starts_on < before.starts_on)
        .order_by(SurveyPeriod.starts_on)
        .options(sa.orm.joinedload(Publication.period))
    )
    points = []
    for publication in db.session.scalars(query):
        row = next(
            (
                r
                for r in publication.results
                if r["unit"] == unit and r["indicator"] == analysis.OVERALL
            ),
            None,
        )
        if row is not None and row["estimate"] is not None:
            points.append(
                (publication.period.name, publication.questionnaire_code, row)
            )
    return points


def export_table(rows: list[dict], fmt: str) -> bytes:
    """CSV (UTF-8 with BOM, for spreadsheet programs) or XLSX of published rows."""
    frame = pd.DataFrame(rows)
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="SIPAS")
    return buffer.getvalue()
