"""The flag pass: every integrity flag of a period, recomputed from the stored signals.

Idempotent: a pass reads the period's counter responses, the register and the units'
opening hours, lets `analysis.integrity` find the flags, and writes the difference:
groups keep their ids (and so their place in the review queue), a flag that an analyst
reviewed keeps its decision, and `SurveyResponse.flags` is rewritten only where it
changes. It runs from `flask flag-responses`, before results are computed and when the
review queue opens, whenever the data changed since the last pass.
"""

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app

from analysis import ALL
from analysis import integrity as rules

from .. import clock, integrity
from ..errors import ServiceError
from ..extensions import db
from ..models import (
    Channel,
    Dossier,
    FileImport,
    FlagDecision,
    FlagGroup,
    FlagPass,
    PeriodStatus,
    ResponseFlag,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)

HISTORY_DAYS = 60  # days before a period that give counters and units their history


@dataclass
class PassReport:
    period_id: int
    responses: int
    flagged: int
    groups: int
    by_code: dict[str, int]
    ran: bool = True

    def summary(self) -> str:
        codes = ", ".join(f"{c} {n}" for c, n in sorted(self.by_code.items())) or "-"
        return (
            f"period {self.period_id}: {self.responses} counter responses, "
            f"{self.flagged} flagged in {self.groups} groups ({codes})"
        )


def local_day(column):
    """SQL expression of the Vietnamese calendar day of a UTC timestamp column."""
    if db.engine.dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("Asia/Ho_Chi_Minh", column))
    return sa.func.date(column, "+7 hours")


def _day_text(values: Iterable) -> list[str]:
    return [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]


def effective_hours(unit_ids: Iterable[int]) -> dict[int, str]:
    """Each unit's opening hours: its own, else its nearest ancestor's, else the default."""
    rows = db.session.execute(sa.select(Unit.id, Unit.parent_id, Unit.opening_hours))
    parent, own = {}, {}
    for unit_id, parent_id, hours in rows:
        parent[unit_id], own[unit_id] = parent_id, hours
    default = current_app.config["OPENING_HOURS"]
    found = {}
    for unit_id in unit_ids:
        node, seen = unit_id, set()
        while node is not None and not own.get(node) and node not in seen:
            seen.add(node)
            node = parent.get(node)
        found[unit_id] = (own.get(node) if node is not None else None) or default
    return found


def open_minutes(unit_ids: list[int]) -> np.ndarray:
    hours = effective_hours(unit_ids)
    return rules.open_mask([integrity.parse_hours(hours[u]) for u in unit_ids])


HOURS_TTL = 60.0  # seconds a process trusts the opening hours it read


def _open_at(unit_id: int, moment: datetime, thresholds: rules.Thresholds) -> bool:
    """Whether the unit is open (grace included) at a moment: cached per process."""
    cache = current_app.extensions.setdefault("sipas_open_hours", {})
    expires, mask = cache.get(unit_id, (0.0, None))
    if mask is None or expires < time.monotonic():
        mask = rules.widen(
            open_minutes([unit_id]),
            thresholds.hours_grace_before,
            thresholds.hours_grace_after,
        )[0]
        cache[unit_id] = (time.monotonic() + HOURS_TTL, mask)
    local = clock.local(moment)
    return bool(mask[local.weekday(), local.hour * 60 + local.minute])


def thresholds() -> rules.Thresholds:
    """This app's thresholds (read once from the configuration)."""
    found = current_app.extensions.get("sipas_thresholds")
    if found is None:
        found = integrity.thresholds_from(current_app.config)
        current_app.extensions["sipas_thresholds"] = found
    return found


def flags_at_submission(
    unit_id: int, served_at: datetime, submitted_at: datetime, answers: str
) -> list[str]:
    """The flags a single response shows by itself: too fast, outside opening hours.

    The flag pass recomputes them with the rest; raising them here puts them on the
    dashboard at once.
    """
    limits = thresholds()
    answered = max(len(answers) - answers.count("0"), 1)
    found = []
    seconds = (submitted_at - served_at).total_seconds()
    if seconds < limits.fast_seconds_per_item * answered:
        found.append("fast")
    if not _open_at(unit_id, served_at, limits):
        found.append("off-hours")
    return found


def read_signals(period: SurveyPeriod) -> pd.DataFrame:
    """The period's counter responses as signals (local times, hashes, answers)."""
    query = (
        sa.select(
            SurveyResponse.id,
            SurveyResponse.unit_id,
            SurveyResponse.counter_id,
            SurveyResponse.field,
            SurveyResponse.form_served_at,
            SurveyResponse.submitted_at,
            SurveyResponse.network_hash,
            SurveyResponse.device_hash,
            SurveyResponse.answers,
        )
        .where(
            SurveyResponse.period_id == period.id,
            SurveyResponse.channel == Channel.COUNTER.value,
        )
        .order_by(SurveyResponse.id)
    )
    frame = pd.DataFrame(
        db.session.execute(query).all(), columns=list(rules.SIGNAL_COLUMNS)
    )
    frame["counter"] = frame["counter"].astype("Int64")
    for column in ("served", "submitted"):
        frame[column] = (
            pd.to_datetime(frame[column], utc=True)
            .dt.tz_convert(clock.VIETNAM)
            .dt.tz_localize(None)
        )
    return frame


def build_context(period: SurveyPeriod, signals: pd.DataFrame) -> rules.Context:
    """Opening hours, register and history that the rules compare with."""
    unit_ids = sorted(set(signals["unit"].tolist()))
    first, last = period.starts_on, period.ends_on
    counts = []
    for column in (Dossier.received_on, Dossier.returned_on):
        counts.append(
            pd.DataFrame(
                db.session.execute(
                    sa.select(Dossier.unit_id, Dossier.field, column, sa.func.count())
                    .where(column.between(first, last))
                    .group_by(Dossier.unit_id, Dossier.field, column)
                ).all(),
                columns=["unit", "field", "day", "dossiers"],
            )
        )
    # Citizens at the desk that day: those returning a result or those handing one in,
    # whichever the register shows more of (one citizen may do both).
    dossiers = (
        pd.concat(counts, ignore_index=True)
        .groupby(["unit", "field", "day"], as_index=False)["dossiers"]
        .max()
    )
    dossiers["day"] = _day_text(dossiers["day"])
    spans = pd.DataFrame(
        db.session.execute(
            sa.select(
                Dossier.unit_id,
                sa.func.min(Dossier.received_on),
                sa.func.max(sa.func.coalesce(Dossier.returned_on, Dossier.received_on)),
            ).group_by(Dossier.unit_id)
        ).all(),
        columns=["unit", "first", "last"],
    )
    spans["first"], spans["last"] = _day_text(spans["first"]), _day_text(spans["last"])
    since = clock.day_start(first - timedelta(days=HISTORY_DAYS))
    day = local_day(SurveyResponse.submitted_at)
    before = (
        SurveyResponse.submitted_at >= since,
        SurveyResponse.submitted_at < clock.day_start(first),
        SurveyResponse.channel == Channel.COUNTER.value,
    )
    earlier_counters = pd.DataFrame(
        db.session.execute(
            sa.select(SurveyResponse.counter_id, day, sa.func.count())
            .where(*before, SurveyResponse.counter_id.is_not(None))
            .group_by(SurveyResponse.counter_id, day)
        ).all(),
        columns=["counter", "day", "responses"],
    )
    # Share of items answered 4-5 among those answered, from the digits, in SQL.
    answers = SurveyResponse.answers
    length = sa.func.length(answers)
    high = length - sa.func.length(
        sa.func.replace(sa.func.replace(answers, "4", ""), "5", "")
    )
    answered = length - sa.func.length(sa.func.replace(answers, "0", ""))
    share = sa.cast(high, sa.Float) / sa.func.nullif(answered, 0)
    earlier_units = pd.DataFrame(
        db.session.execute(
            sa.select(SurveyResponse.unit_id, day, sa.func.count(), sa.func.sum(share))
            .where(*before)
            .group_by(SurveyResponse.unit_id, day)
        ).all(),
        columns=["unit", "day", "responses", "satisfied"],
    )
    for frame in (earlier_counters, earlier_units):
        frame["day"] = _day_text(frame["day"])
    local_days = signals["submitted"].dt.strftime("%Y-%m-%d")
    current = signals.assign(day=local_days)
    counter_days = pd.concat(
        [
            earlier_counters,
            current[current["counter"].notna()]
            .groupby(["counter", "day"])
            .size()
            .rename("responses")
            .reset_index(),
        ],
        ignore_index=True,
    )
    unit_days = pd.concat(
        [
            earlier_units,
            current.assign(satisfied=rules.satisfied_share(current["answers"]))
            .groupby(["unit", "day"])
            .agg(responses=("id", "size"), satisfied=("satisfied", "sum"))
            .reset_index(),
        ],
        ignore_index=True,
    )
    counter_days = counter_days.astype({"counter": "int64", "responses": "int64"})
    unit_days = unit_days.astype(
        {"unit": "int64", "responses": "int64", "satisfied": "float64"}
    )
    dossiers = dossiers.astype({"dossiers": "int64"})
    return rules.Context(
        open_minutes(unit_ids), unit_ids, dossiers, spans, counter_days, unit_days
    )


def data_version(period: SurveyPeriod) -> str:
    """A fingerprint of everything a pass reads: responses, register, hours, thresholds."""
    # The last id, one index lookup, not a count of the period: a response is never
    # deleted, so a new one always raises it.
    responses = db.session.execute(
        sa.select(sa.func.max(SurveyResponse.id)).where(
            SurveyResponse.period_id == period.id
        )
    ).one()
    # The register changes only by imports, which add dossiers or update them: the
    # last dossier and the last import, one index each (a count would read them all,
    # and miss an import that only updates).
    dossiers = db.session.execute(
        sa.select(
            sa.select(sa.func.max(Dossier.id)).scalar_subquery(),
            sa.select(sa.func.max(FileImport.id)).scalar_subquery(),
        )
    ).one()
    hours = list(
        db.session.execute(
            sa.select(Unit.id, Unit.parent_id, Unit.opening_hours).order_by(Unit.id)
        ).all()
    )
    config = current_app.config
    blob = json.dumps(
        [
            list(responses),
            list(dossiers),
            [list(h) for h in hours],
            config["OPENING_HOURS"],
            config.get("INTEGRITY_THRESHOLDS") or {},
        ],
        default=str,
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def is_stale(period: SurveyPeriod) -> bool:
    last = db.session.get(FlagPass, period.id)
    return last is None or last.data_version != data_version(period)


def ensure_fresh(period: SurveyPeriod) -> PassReport | None:
    """Run the pass if the period's data changed since the last one."""
    return flag_period(period) if is_stale(period) else None


def flag_period(period: SurveyPeriod) -> PassReport:
    """Recompute every flag of a period and store them (idempotent)."""
    if db.engine.dialect.name == "postgresql":  # one pass per period at a time
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(4242, period.id)))
    version = data_version(period)
    signals = read_signals(period)
    if signals.empty:
        found = pd.DataFrame(columns=list(rules.FLAG_COLUMNS))
    else:
        found = rules.flag_responses(
            signals, build_context(period, signals), thresholds()
        )
    groups = _store_groups(period, found, signals)
    _store_flags(period, found, groups)
    by_code = found.groupby("code")["id"].size().to_dict() if len(found) else {}
    report = PassReport(
        period.id,
        len(signals),
        int(found["id"].nunique()) if len(found) else 0,
        len(groups),
        {str(k): int(v) for k, v in by_code.items()},
    )
    last = db.session.get(FlagPass, period.id) or FlagPass(period_id=period.id)
    last.ran_at, last.data_version = clock.now(), version
    last.counts = {"flagged": report.flagged, "groups": report.groups, **report.by_code}
    db.session.add(last)
    db.session.commit()
    return report


def _group_summaries(found: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """One row per (code, group): size, times, place and what the answers look like."""
    members = found.merge(signals, on="id")
    members["seconds"] = (members["submitted"] - members["served"]).dt.total_seconds()
    members["straight"] = rules.straight_lined(members["answers"])
    members["all_five"] = members["answers"].str.fullmatch("[05]*5[05]*")
    members["day"] = members["submitted"].dt.strftime("%Y-%m-%d")
    grouped = members.groupby(["code", "group"], sort=False)
    table = grouped.agg(
        size=("id", "size"),
        first=("submitted", "min"),
        last=("submitted", "max"),
        unit=("unit", "first"),
        units=("unit", "nunique"),
        counter=("counter", "first"),
        counters=("counter", "nunique"),
        devices=("device", "nunique"),
        networks=("network", "nunique"),
        days=("day", "nunique"),
        seconds=("seconds", "median"),
        straight=("straight", "mean"),
        all_five=("all_five", "mean"),
        patterns=("answers", "nunique"),
        evidence=("evidence", "first"),
    ).reset_index()
    return table


def _store_groups(
    period: SurveyPeriod, found: pd.DataFrame, signals: pd.DataFrame
) -> dict[tuple[str, str], int]:
    """Upsert the period's groups by (code, key); drop the ones no longer found."""
    existing = {
        (code, key): group_id
        for group_id, code, key in db.session.execute(
            sa.select(FlagGroup.id, FlagGroup.code, FlagGroup.key).filter_by(
                period_id=period.id
            )
        )
    }
    table = _group_summaries(found, signals) if len(found) else pd.DataFrame()
    rows = []
    for record in table.to_dict("records"):
        first = record["first"].tz_localize(clock.VIETNAM).to_pydatetime()
        last = record["last"].tz_localize(clock.VIETNAM).to_pydatetime()
        summary = {
            name: _plain(record[name])
            for name in (
                "units",
                "counters",
                "devices",
                "networks",
                "days",
                "seconds",
                "straight",
                "all_five",
                "patterns",
                "evidence",
            )
        }
        counter = record["counter"] if record["counters"] == 1 else None
        rows.append(
            {
                "period_id": period.id,
                "code": record["code"],
                "key": record["group"],
                "unit_id": int(record["unit"]) if record["units"] == 1 else None,
                "counter_id": None
                if counter is None or pd.isna(counter)
                else int(counter),
                "size": int(record["size"]),
                "first_at": first,
                "last_at": last,
                "summary": summary,
            }
        )
    new = [r for r in rows if (r["code"], r["key"]) not in existing]
    if new:
        db.session.execute(sa.insert(FlagGroup), new)
    for row in (r for r in rows if (r["code"], r["key"]) in existing):
        row["id"] = existing[row["code"], row["key"]]
    updates = [r for r in rows if "id" in r]
    if updates:
        db.session.execute(sa.update(FlagGroup), updates)
    kept = {(r["code"], r["key"]) for r in rows}
    gone = [group_id for pair, group_id in existing.items() if pair not in kept]
    if gone:
        db.session.execute(
            sa.delete(ResponseFlag).where(ResponseFlag.group_id.in_(gone))
        )
        db.session.execute(
            sa.update(FlagDecision)
            .where(FlagDecision.group_id.in_(gone))
            .values(group_id=None)
        )
        db.session.execute(sa.delete(FlagGroup).where(FlagGroup.id.in_(gone)))
    return {
        (code, key): group_id
        for group_id, code, key in db.session.execute(
            sa.select(FlagGroup.id, FlagGroup.code, FlagGroup.key).filter_by(
                period_id=period.id
            )
        )
    }


def _plain(value):
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float):
        return None if value != value else round(value, 4)
    return value


def _store_flags(
    period: SurveyPeriod, found: pd.DataFrame, groups: dict[tuple[str, str], int]
) -> None:
    """Replace the period's flag rows, keeping every decision already taken."""
    decided = {
        (response_id, code): decision_id
        for response_id, code, decision_id in db.session.execute(
            sa.select(
                ResponseFlag.response_id, ResponseFlag.code, ResponseFlag.decision_id
            ).where(
                ResponseFlag.period_id == period.id,
                ResponseFlag.decision_id.is_not(None),
            )
        )
    }
    db.session.execute(sa.delete(ResponseFlag).filter_by(period_id=period.id))
    rows = [
        {
            "response_id": int(response_id),
            "code": code,
            "period_id": period.id,
            "group_id": groups[code, group],
            "decision_id": decided.get((int(response_id), code)),
        }
        for response_id, code, group in found[["id", "code", "group"]].itertuples(
            index=False
        )
    ]
    if rows:
        db.session.execute(sa.insert(ResponseFlag), rows)
    sync_response_flags(period)


def sync_response_flags(period: SurveyPeriod, response_ids=None) -> None:
    """Rewrite `SurveyResponse.flags` (codes not cleared by a review) where it changed."""
    clearing = sa.select(FlagDecision.id).where(FlagDecision.action == "clear")
    active = sa.select(ResponseFlag.response_id, ResponseFlag.code).where(
        ResponseFlag.period_id == period.id,
        sa.or_(
            ResponseFlag.decision_id.is_(None),
            ResponseFlag.decision_id.not_in(clearing),
        ),
    )
    stored = sa.select(SurveyResponse.id, SurveyResponse.flags).where(
        SurveyResponse.period_id == period.id,
        has_flag(),
    )
    if response_ids is not None:
        active = active.where(ResponseFlag.response_id.in_(response_ids))
        stored = stored.where(SurveyResponse.id.in_(response_ids))
    wanted: dict[int, list[str]] = {}
    for response_id, code in db.session.execute(active):
        wanted.setdefault(response_id, []).append(code)
    current = dict(db.session.execute(stored).all())
    changes = [
        {"id": response_id, "flags": sorted(wanted.get(response_id, []))}
        for response_id in set(wanted) | set(current)
        if sorted(wanted.get(response_id, [])) != sorted(current.get(response_id) or [])
    ]
    if changes:
        table = SurveyResponse.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("b_id"))
            .values(flags=sa.bindparam("b_flags")),
            [{"b_id": c["id"], "b_flags": c["flags"]} for c in changes],
        )


def periods_to_flag() -> list[SurveyPeriod]:
    """Open periods, and closed ones not yet published: those whose flags still matter."""
    from .publications import published_period_ids

    published = published_period_ids()
    query = sa.select(SurveyPeriod).where(
        SurveyPeriod.status.in_([PeriodStatus.OPEN, PeriodStatus.CLOSED])
    )
    return [p for p in db.session.scalars(query) if p.id not in published]


def excluded_by_policy(codes: Iterable[str]):
    """SQL condition: the response carries an unreviewed flag of one of these kinds."""
    return sa.exists().where(
        ResponseFlag.response_id == SurveyResponse.id,
        ResponseFlag.code.in_(list(codes)),
        ResponseFlag.decision_id.is_(None),
    )


def has_flag() -> sa.ColumnElement[bool]:
    """SQL: the response carries a flag (one a review cleared is removed from it)."""
    return sa.cast(SurveyResponse.flags, sa.String) != "[]"


def effect_of_flags(
    period: SurveyPeriod,
    settings,
    used: pd.DataFrame,
    parents: dict,
    known: dict | None = None,
) -> dict:
    """Per unit: counter responses received, flagged, excluded and used, and the overall
    index with and without the flagged responses (so a reader sees how far they move it).

    "Flagged" counts responses with a flag not cleared by a review; "excluded" those a
    review excluded plus those the policy (``settings.exclude_flags``) left out.
    """
    from .indices import overall_by_unit, response_frame

    valid = used
    if settings.exclude_flags:
        valid = response_frame(period, extras=settings.weighting == "rake")
        valid = valid[valid["channel"] == Channel.COUNTER.value]
    # The valid responses are in hand; the few others are counted by the database
    # (ix_response_period_not_valid: the valid ones are never read for this).
    codes = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    others = pd.DataFrame(
        db.session.execute(
            sa.select(
                SurveyResponse.unit_id,
                sa.func.count(),
                sa.func.sum(sa.case((has_flag(), 1), else_=0)),
                sa.func.sum(sa.case((SurveyResponse.status == "excluded", 1), else_=0)),
            )
            .where(
                SurveyResponse.period_id == period.id,
                SurveyResponse.status != sa.literal_column("'valid'"),
                SurveyResponse.channel == Channel.COUNTER.value,
            )
            .group_by(SurveyResponse.unit_id)
        ).all(),
        columns=["unit_id", "received", "flagged", "reviewed_out"],
    )
    others.index = [codes[u] for u in others.pop("unit_id")]
    mine = pd.DataFrame(
        {
            "received": valid["unit"].value_counts(),
            "flagged": valid.loc[valid["flagged"].to_numpy(), "unit"].value_counts(),
        }
    )
    counts = (
        mine.add(others.astype(float), fill_value=0)
        .reindex(columns=["received", "flagged", "reviewed_out"])
        .fillna(0)
        .astype(int)
    )

    def overall(frame: pd.DataFrame) -> dict:
        try:
            return overall_by_unit(period, settings, frame, parents)
        except (ServiceError, ValueError):
            return {}

    flagged = valid["flagged"].to_numpy()  # response_frame's column
    # "with_flagged" and "without_flagged" the caller may have on these responses
    estimates = dict(known or {})
    if "with_flagged" not in estimates:
        estimates["with_flagged"] = overall(valid)
    if not flagged.any():
        estimates["without_flagged"] = estimates["with_flagged"]  # nothing flagged
    elif "without_flagged" not in estimates:
        estimates["without_flagged"] = overall(valid[~flagged])
    used_counts = used["unit"].value_counts().to_dict()
    units: dict[str, dict] = {
        str(code): {
            "received": int(row.received),
            "flagged": int(row.flagged),
            "reviewed_out": int(row.reviewed_out),
            "used": int(used_counts.get(code, 0)),
        }
        for code, row in counts.iterrows()
    }
    totals = {
        key: sum(entry[key] for entry in units.values())
        for key in ("received", "flagged", "reviewed_out", "used")
    }
    units[ALL] = totals
    for entry in units.values():
        entry["excluded"] = entry["received"] - entry["used"]
    for code in set(units) | set(estimates["with_flagged"]):
        entry = units.setdefault(code, {})
        for name in ("with_flagged", "without_flagged"):
            value = estimates[name].get(code)
            entry[name] = None if value is None or value != value else float(value)
    return {"policy": list(settings.exclude_flags), "units": units}
