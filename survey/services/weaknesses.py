"""Weaknesses that are real: a unit's criteria against a reference, tested as a family.

Reads a period's weighted sample (or, for a unit too small to read alone, its last k
periods of the same questionnaire version stacked into one), hands it to analysis
(comparisons with the province or the peer block, the family's adjustment, the
responses that would tell) and returns plain rows for the unit page and the plan form.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

import analysis
from analysis.compare import difference_table
from analysis.pooling import stack_periods
from analysis.weakness import real_weaknesses

from ..errors import ServiceError
from ..extensions import db
from ..models import SurveyPeriod, SurveyResponse
from .indices import (
    PEER_BLOCKS,
    PreviousComparison,
    Results,
    ResultsError,
    channel_sample,
    tabulate,
    unit_tree_maps,
)
from .publications import publication_of, used_ids
from .questionnaires import definition_of

#: Domain label of a peer block in the weakness computation (never a unit code).
BLOCK = "khối:"
#: Reading order of the verdicts: real weaknesses first.
ORDER = {"below": 0, "no_difference": 1, "not_tested": 2, "above": 3}


@dataclass
class Weaknesses:
    """A unit's criteria against a reference, adjusted as a family, as plain rows."""

    unit: str
    reference: str  # "province" or "block"
    block: str | None  # the unit's peer block
    adjustment: str  # "holm", "bh"
    alpha: float
    rows: list[dict]  # one per criterion, real weaknesses first
    pooled_periods: list[str] = field(default_factory=list)  # newest first
    previous_name: str | None = None
    previous_refusal: str | None = None
    previous_rows: list[dict] = field(default_factory=list)

    @property
    def family_size(self) -> int:
        return max((r["family_size"] for r in self.rows), default=0)

    @property
    def real(self) -> list[dict]:
        return [r for r in self.rows if r["verdict"] == "below"]

    @property
    def undecided(self) -> list[dict]:
        """Below the reference but not distinguishable from it with this sample, the
        closest to being told first."""
        rows = [r for r in self.rows if r["responses_to_tell"] is not None]
        return sorted(rows, key=lambda r: r["responses_to_tell"])

    @property
    def worse_than_before(self) -> list[dict]:
        return [r for r in self.previous_rows if r["verdict"] == "below"]

    def previous_verdict(self, code: str) -> str | None:
        """A criterion's verdict against the previous period, adjusted in the family."""
        return next(
            (r["verdict"] for r in self.previous_rows if r["code"] == code), None
        )


def unit_weaknesses(
    results: Results, unit: str, previous: PreviousComparison | None = None
) -> Weaknesses:
    """Find a unit's real weaknesses in computed results.

    A unit whose overall index is not reliable is pooled over its last
    `settings.pool_periods` periods of the same version, when the settings ask for
    more than one.
    :raise ResultsError: if the unit has no responses or the data cannot be used.
    """
    settings = results.settings
    definition = definition_of(results.period.questionnaire)
    criteria = definition.structure.criteria
    overall = results.table[
        (results.table["unit"] == unit)
        & (results.table["indicator"] == analysis.OVERALL)
    ]
    if overall.empty:
        raise ResultsError(_("Đơn vị không có phiếu trong kỳ này."))
    if (overall["kind"] != "unit").any():
        raise ResultsError(
            _(
                "Điểm yếu được tìm cho từng đơn vị có phiếu của mình; đây là cấp tổng hợp "
                "của các đơn vị trực thuộc."
            )
        )
    small = not bool(overall["reliable"].iloc[0])
    stored = (results.weaknesses or {}).get(unit)
    if stored is not None and not (small and settings.pool_periods > 1):
        report = _from_stored(stored, definition)
        if previous is not None:
            _add_previous(report, previous, results.table, criteria, definition)
        return report
    periods = [results.period]
    if small and settings.pool_periods > 1:
        periods += _earlier_same_version(results.period, settings.pool_periods - 1)
    channel = results.headline
    samples = [
        channel_sample(results.period, settings, channel, results.chosen_ids),
        *(_published_sample(p, settings, channel) for p in periods[1:]),
    ]
    if len(samples) > 1:
        frame, design = stack_periods(
            [(p.name, f, d) for p, (f, d) in zip(periods, samples, strict=True)]
        )
    else:
        frame, design = samples[0]
    blocks = _peer_blocks(set(frame["unit"].unique()))
    block = blocks.get(unit)
    parents = {u: BLOCK + b for u, b in blocks.items()}
    linear, table = tabulate(frame, definition.structure, design, parents, settings)
    if settings.reference == "block" and block is not None:
        reference, name = BLOCK + block, f"khối {block}"
    else:
        reference, name = analysis.ALL, "the province"
    alpha = 1 - settings.level
    comparisons = difference_table(
        linear,
        [unit],
        [reference],
        kind=settings.reference,
        reference_names=[name],
        indicators=criteria,
    )
    found = real_weaknesses(comparisons, table, method=settings.adjustment, alpha=alpha)
    rows = _rows_of_units(found, table, definition).get(unit, [])
    report = Weaknesses(
        unit=unit,
        reference=settings.reference if reference != analysis.ALL else "province",
        block=block,
        adjustment=settings.adjustment,
        alpha=alpha,
        rows=rows,
        pooled_periods=[p.name for p in periods] if len(periods) > 1 else [],
    )
    if previous is not None:
        _add_previous(report, previous, results.table, criteria, definition)
    return report


def every_unit(results: Results) -> dict[str, dict]:
    """Every unit's weaknesses of the period alone, as plain data to store with results.

    The computation's own rows, design and linearisation (``results.workings``)
    serve every unit: against the province they are compared in it as they are;
    against the peer blocks, the same rows are tabulated once more with the blocks
    as domains. Results without workings (read back from storage) read the
    channel's sample again. Each unit's comparison and family adjustment are the
    ones `unit_weaknesses` makes. Units pooled over earlier periods (not reliable,
    with `pool_periods` above 1) are left out: their weaknesses read other periods
    and are found on request. A period whose sample cannot be used gives an empty
    dict.
    """
    settings = results.settings
    definition = definition_of(results.period.questionnaire)
    criteria = definition.structure.criteria
    table = results.table
    overall = table[
        (table["indicator"] == analysis.OVERALL) & (table["kind"] == "unit")
    ]
    units = [
        str(row.unit)
        for row in overall.itertuples()
        if bool(row.reliable) or settings.pool_periods <= 1
    ]
    if not units:
        return {}
    workings = results.workings
    try:
        if workings is None:
            frame, design = channel_sample(
                results.period, settings, results.headline, results.chosen_ids
            )
        else:
            frame, design = workings.frame, workings.design
        blocks = _peer_blocks(set(frame["unit"].unique()))
        if workings is None or settings.reference == "block":
            parents = {u: BLOCK + b for u, b in blocks.items()}
            linear, tabulated = tabulate(
                frame, definition.structure, design, parents, settings
            )
        else:  # the province and each unit are domains of the computation itself
            linear, tabulated = workings.linear, table
    except ServiceError:
        return {}  # each unit's page says why
    present = set(tabulated["unit"])
    alpha = 1 - settings.level
    units = [u for u in units if u in present]
    references = {}
    for unit in units:
        block = blocks.get(unit)
        if settings.reference == "block" and block is not None:
            references[unit] = (BLOCK + block, f"khối {block}")
        else:
            references[unit] = (analysis.ALL, "the province")
    try:
        # Every unit's pair at once: each pair and each unit's family are computed as
        # in `unit_weaknesses` (the covariance per pair, the adjustment per unit).
        comparisons = difference_table(
            linear,
            units,
            [references[u][0] for u in units],
            kind=settings.reference,
            reference_names=[references[u][1] for u in units],
            indicators=criteria,
        )
        found = real_weaknesses(
            comparisons, tabulated, method=settings.adjustment, alpha=alpha
        )
    except (ServiceError, ValueError):
        return {}  # each unit's page finds its own, with its message
    stored = {}
    for unit, rows in _rows_of_units(found, tabulated, definition).items():
        stored[unit] = {
            "unit": unit,
            "reference": (
                settings.reference
                if references[unit][0] != analysis.ALL
                else "province"
            ),
            "block": blocks.get(unit),
            "adjustment": settings.adjustment,
            "alpha": alpha,
            "rows": rows,
        }
    return stored


def _from_stored(stored: dict, definition) -> Weaknesses:
    """A stored unit's weaknesses, the criteria's texts read again (they are labels)."""
    rows = [r | {"text": definition.title_of(r["code"])} for r in stored["rows"]]
    return Weaknesses(
        unit=stored["unit"],
        reference=stored["reference"],
        block=stored["block"],
        adjustment=stored["adjustment"],
        alpha=stored["alpha"],
        rows=rows,
    )


def _rows_of_units(
    found: pd.DataFrame, table: pd.DataFrame, definition
) -> dict[str, list[dict]]:
    """Each unit's compared criteria as plain rows, real weaknesses first.

    One join of the comparisons with the table (interval, n, reliability of the
    unit's own estimate) serves every unit.
    """
    element_of = {
        c: e.code for e in definition.elements for c in (x.code for x in e.criteria)
    }
    own = table[["unit", "indicator", "ci_low", "ci_high", "n", "reliable"]]
    own = own.rename(columns=lambda c: c if c in ("unit", "indicator") else "own_" + c)
    joined = found.merge(own, on=["unit", "indicator"], how="left", validate="1:1")
    by_unit: dict[str, list[dict]] = {}
    for r in joined.itertuples():
        by_unit.setdefault(str(r.unit), []).append(
            {
                "code": r.indicator,
                "text": definition.title_of(r.indicator),
                "element": element_of[r.indicator],
                "estimate": _number(r.estimate),
                "ci_low": _number(r.own_ci_low),
                "ci_high": _number(r.own_ci_high),
                "n": int(r.own_n),
                "reliable": bool(r.own_reliable),
                "reference_estimate": _number(r.reference_estimate),
                "difference": _number(r.difference),
                "p_value": _number(r.p_value),
                "p_adjusted": _number(r.p_adjusted),
                "verdict": r.verdict,
                "family_size": int(r.family_size),
                "responses_to_tell": None
                if np.isnan(r.responses_to_tell)
                else int(r.responses_to_tell),
            }
        )
    for rows in by_unit.values():
        rows.sort(
            key=lambda r: (
                ORDER[r["verdict"]],
                r["p_adjusted"] if r["p_adjusted"] is not None else 2,
                r["code"],
            )
        )
    return by_unit


def _add_previous(
    report: Weaknesses,
    previous: PreviousComparison,
    table: pd.DataFrame,
    criteria: list[str],
    definition,
) -> None:
    report.previous_name = previous.period.name if previous.period else None
    report.previous_refusal = previous.refusal
    if previous.refusal or previous.table.empty:
        return
    rows = previous.table[
        (previous.table["unit"] == report.unit)
        & previous.table["indicator"].isin(criteria)
    ]
    if rows.empty:
        return
    found = real_weaknesses(rows, table, method=report.adjustment, alpha=report.alpha)
    report.previous_rows = [
        {
            "code": r.indicator,
            "text": definition.title_of(r.indicator),
            "estimate": _number(r.estimate),
            "previous": _number(r.reference_estimate),
            "difference": _number(r.difference),
            "p_adjusted": _number(r.p_adjusted),
            "verdict": r.verdict,
        }
        for r in found.sort_values("p_adjusted", na_position="last").itertuples()
    ]


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)


def _peer_blocks(codes: set[str]) -> dict[str, str]:
    _, units = unit_tree_maps()
    return {
        code: PEER_BLOCKS.get(units[code].level, "Khác")
        for code in codes
        if code in units
    }


def _earlier_same_version(period: SurveyPeriod, count: int) -> list[SurveyPeriod]:
    """Up to `count` periods before this one, newest first, back to a version change."""
    query = (
        sa.select(SurveyPeriod)
        .where(SurveyPeriod.starts_on < period.starts_on)
        .where(sa.exists().where(SurveyResponse.period_id == SurveyPeriod.id))
        .order_by(SurveyPeriod.starts_on.desc())
        .limit(count)
    )
    earlier = []
    for other in db.session.scalars(query):
        if other.questionnaire_id != period.questionnaire_id:
            break  # a series is never joined across versions
        earlier.append(other)
    return earlier


def _published_sample(period: SurveyPeriod, settings, channel: str):
    """A pooled period's sample of a channel: its published responses, else its valid
    ones."""
    publication = publication_of(period)
    ids = used_ids(publication) if publication is not None else None
    try:
        return channel_sample(period, settings, channel, ids)
    except ServiceError as exc:
        raise ResultsError(
            _("Không gộp được kỳ %(name)s: %(exc)s", name=period.name, exc=exc)
        ) from None
