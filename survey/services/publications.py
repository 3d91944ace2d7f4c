"""Publications: immutable, reproducible snapshots of a period's results."""

import hashlib
import io
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

import analysis

from ..errors import Conflict, ServiceError
from ..extensions import db
from ..idset import pack_ids, unpack_ids
from ..models import Channel, PeriodStatus, Publication, SurveyPeriod, User
from ..spreadsheet import neutralise
from . import audit
from .indices import Results, Settings, compute

RESULT_FIELDS = ["unit", "name", "level", "kind", *analysis.OUTPUT_COLUMNS[1:]]
RANK_FIELDS = ["unit", "block", "rank", "rank_low", "rank_high", "n_ranked", "note"]
RATE_FIELDS = ["unit", "sampled", "delivered", "completed", "rr1", "contact_rate"]
COUNTER_FIELDS = [
    "unit",
    "name",
    "kind",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "moe",
    "reliable",
]
GAP_FIELDS = [
    "unit",
    "estimate",
    "reference_estimate",
    "difference",
    "se",
    "df",
    "p_value",
    "verdict",
]


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
    summary = {
        "responses": len(results.response_ids),
        "excluded": results.excluded,
        "weights": results.weights,
    }
    if results.integrity:
        # Counter responses received, flagged, excluded and used per unit, and the
        # index with and without the flagged ones, as they stood when published.
        summary["integrity"] = results.integrity
    if results.channel != Channel.COUNTER:
        summary |= channel_summary(results)
    return {"results": rows, "summary": summary}


def channel_summary(results: Results) -> dict:
    """The sampled channel's response rates and, beside it, the counter and the gap.

    ``results`` rows then come from the sample; ``counter`` holds the counter's overall
    index per unit and ``channel_gap`` the counter − sample difference.
    """
    summary = {
        "channel": results.channel,
        "response_rates": _records(results.rates, RATE_FIELDS),
    }
    if results.beside is not None:
        counter = results.beside.table
        gap = results.gap
        summary |= {
            "sample_responses": len(results.response_ids)
            - len(results.beside.response_ids),
            "counter_responses": len(results.beside.response_ids),
            "counter": _records(
                counter[counter["indicator"] == analysis.OVERALL], COUNTER_FIELDS
            ),
            "channel_gap": _records(
                gap[gap["indicator"] == analysis.OVERALL], GAP_FIELDS
            ),
        }
    return summary


def counter_only(content: dict) -> list[dict]:
    """Units with counter responses but no sampled respondent (no sample estimate)."""
    sampled = {r["unit"] for r in content["results"]}
    return [
        row
        for row in content["summary"].get("counter", ())
        if row["kind"] == "unit" and row["unit"] not in sampled
    ]


def side_by_side(summary: dict) -> dict[str, dict]:
    """Per unit code: its response rate, counter estimate and gap, from a summary."""
    out: dict[str, dict] = {}
    for key, name in (
        ("response_rates", "rate"),
        ("counter", "counter"),
        ("channel_gap", "gap"),
    ):
        for row in summary.get(key, ()):
            out.setdefault(row["unit"], {})[name] = row
    return out


def with_integrity(rows: list[dict], summary: dict) -> list[dict]:
    """Each unit row with its counts of responses and its index with/without flagged."""
    found = (summary.get("integrity") or {}).get("units", {})
    return [row | {"integrity": found.get(row["unit"], {})} for row in rows]


#: Significant digits of every float in the hashed canonical form: a numpy or BLAS
#: upgrade that moves the 15th digit of a number does not change a content hash.
HASH_DIGITS = 12
#: Largest absolute difference between a published and a recomputed number (index
#: points, standard errors, p-values...) that verification accepts as equal.
VERIFY_TOLERANCE = 1e-9
#: Fields that are labels, not results: a unit renamed after publication keeps its
#: published name, and verification does not compare them.
LABEL_FIELDS = frozenset({"name", "unit_name"})


def _canonical(value):
    """Floats as text with HASH_DIGITS significant digits; containers recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return format(value, f".{HASH_DIGITS - 1}e") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, np.generic):
        return _canonical(value.item())
    raise TypeError(f"{type(value).__name__} in a publication")


def ids_digest(ids) -> str:
    """SHA-256 of the sorted response ids as little-endian int64."""
    values = np.unique(np.asarray(ids, dtype=np.int64))
    return hashlib.sha256(values.astype("<i8").tobytes()).hexdigest()


def content_hash(
    questionnaire_hash: str, settings: dict, response_ids, content: dict
) -> str:
    """SHA-256 of a publication's canonical form: sorted keys, floats to HASH_DIGITS
    significant digits, the response ids as one digest."""
    blob = json.dumps(
        _canonical([questionnaire_hash, settings, ids_digest(response_ids), content]),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def legacy_content_hash(
    questionnaire_hash: str, settings: dict, response_ids: list[int], content: dict
) -> str:
    """The hash of publications made before the canonical form (exact floats)."""
    blob = json.dumps(
        [questionnaire_hash, settings, response_ids, content],
        sort_keys=True,
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def used_ids(publication: Publication) -> np.ndarray:
    """The sorted ids of the responses a publication used."""
    if publication.used_responses is not None:
        return unpack_ids(publication.used_responses)
    return np.unique(np.asarray(publication.response_ids, dtype=np.int64))


def publication_of(period: SurveyPeriod) -> Publication | None:
    return db.session.scalar(sa.select(Publication).filter_by(period_id=period.id))


def published_period_ids() -> set[int]:
    return set(db.session.scalars(sa.select(Publication.period_id)))


def publish(period: SurveyPeriod, settings: Settings, *, by: User) -> Publication:
    """Freeze a closed period's results under these settings and make them public.

    :raise Conflict: if the period is not closed or is already published.
    """
    if period.status != PeriodStatus.CLOSED:
        raise Conflict(_("Chỉ công bố được đợt đã đóng."))
    if publication_of(period) is not None:
        raise Conflict(_("Đợt này đã được công bố; bản công bố không thể sửa."))
    results = compute(period, settings)
    content = snapshot(results)
    settings_dict = results.settings.to_dict()  # the channel as resolved
    publication = Publication(
        period=period,
        published_by=by,
        questionnaire_code=period.questionnaire.code,
        settings=settings_dict,
        response_ids=[],
        used_responses=pack_ids(results.response_ids),
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
    results = compute(publication.period, settings, used_ids(publication))
    content = snapshot(results)
    content["summary"]["excluded"] = publication.summary["excluded"]
    # Flags and reviews may change after publication: the counts are facts of that day.
    content["summary"].pop("integrity", None)
    if "integrity" in publication.summary:
        content["summary"]["integrity"] = publication.summary["integrity"]
    return content


@dataclass
class Verification:
    """What differs between a publication and its recomputation (nothing: it holds)."""

    differences: list[str] = field(default_factory=list)
    checked: int = 0

    def __bool__(self) -> bool:
        return not self.differences


def _keyed(rows: list) -> dict | None:
    """Rows of a table by (unit, indicator), or None if the list is not such a table."""
    if not rows or not all(isinstance(r, dict) and "unit" in r for r in rows):
        return None
    return {(r["unit"], r.get("indicator")): r for r in rows}


def _compare(published, recomputed, where: str, found: Verification) -> None:
    """Record every difference beyond VERIFY_TOLERANCE; labels are not compared."""
    numbers = (int, float)
    if isinstance(published, dict) and isinstance(recomputed, dict):
        for key in sorted(set(published) | set(recomputed), key=str):
            if key in LABEL_FIELDS:
                continue
            if key not in published or key not in recomputed:
                found.differences.append(f"{where}{key}: only in one of the two")
                continue
            _compare(published[key], recomputed[key], f"{where}{key} ", found)
    elif isinstance(published, list) and isinstance(recomputed, list):
        left, right = _keyed(published), _keyed(recomputed)
        if left is None or right is None:
            left = dict(enumerate(published))
            right = dict(enumerate(recomputed))
        for key in sorted(set(left) | set(right), key=str):
            label = (
                "/".join(str(k) for k in key if k) if isinstance(key, tuple) else key
            )
            if key not in left or key not in right:
                side = "published" if key in left else "recomputed"
                found.differences.append(f"{where}[{label}]: only {side}")
            else:
                _compare(left[key], right[key], f"{where}[{label}] ", found)
    elif (
        isinstance(published, numbers)
        and isinstance(recomputed, numbers)
        and not isinstance(published, bool)
        and not isinstance(recomputed, bool)
    ):
        found.checked += 1
        if not abs(float(published) - float(recomputed)) <= VERIFY_TOLERANCE:
            found.differences.append(
                f"{where.strip()}: published {published!r}, recomputed {recomputed!r}"
            )
    elif published != recomputed:
        found.differences.append(
            f"{where.strip()}: published {published!r}, recomputed {recomputed!r}"
        )


def verify(publication: Publication) -> Verification:
    """Recompute a publication and say what differs (truthy if nothing does).

    Two checks: the stored content and response set still give the content hash (no
    one edited the publication), and recomputing from the raw responses gives every
    published number within VERIFY_TOLERANCE (the data and the method still produce
    it). Unit names are labels of the day of publication and are not compared.
    """
    found = Verification()
    ids = used_ids(publication)
    stored = {"results": publication.results, "summary": publication.summary}
    questionnaire = publication.period.questionnaire.content_hash
    if publication.used_responses is not None:
        digest = content_hash(questionnaire, publication.settings, ids, stored)
    else:
        digest = legacy_content_hash(
            questionnaire, publication.settings, publication.response_ids, stored
        )
    if digest != publication.content_hash:
        found.differences.append(
            "the stored tables or response set no longer give the published hash "
            f"{publication.content_hash[:16]}… (now {digest[:16]}…)"
        )
    try:
        content = reproduce(publication)
    except ServiceError as exc:
        found.differences.append(f"cannot recompute: {exc}")
        return found
    _compare(stored, content, "", found)
    return found


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


def export_rows(publication: Publication) -> list[dict]:
    """The published rows to download, each naming its channel where a sample exists.

    With both channels, the counter's overall index per unit follows the sample's rows,
    and the sample's rows carry the unit's response rate.
    """
    summary = publication.summary
    channel = summary.get("channel")
    if channel is None:
        return publication.results
    primary = "sample" if channel in ("sample", "both") else channel
    beside = side_by_side(summary)
    rows = [
        {"channel": primary}
        | row
        | {
            key: beside.get(row["unit"], {}).get("rate", {}).get(key)
            for key in ("sampled", "completed", "rr1")
        }
        for row in publication.results
    ]
    rows += [
        {"channel": "counter", "indicator": analysis.OVERALL} | row
        for row in summary.get("counter", ())
    ]
    return rows


def export_table(rows: list[dict], fmt: str) -> bytes:
    """CSV (UTF-8 with BOM, for spreadsheet programs) or XLSX of published rows."""
    frame = pd.DataFrame(rows).map(neutralise)  # names and codes are never formulas
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="SIPAS")
    return buffer.getvalue()
