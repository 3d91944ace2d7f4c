"""Monitoring a period: responses against targets and dossiers, per unit and per day."""

from flask import g, render_template, request

from .. import charts
from ..models import Channel
from ..services import accounts, monitoring, periods, sampling
from . import bp
from .periods import get_period


@bp.get("/")
def dashboard():
    """Show the progress of a period (the latest open one by default)."""
    period_id = request.args.get("period_id", type=int)
    period = get_period(period_id) if period_id else periods.latest_period()
    if period is None:
        return render_template("admin/dashboard.html", period=None, periods=[])
    visible = accounts.visible_unit_ids(g.user)
    counts = monitoring.period_counts(period)
    rows = monitoring.unit_progress(period, visible, counts)
    days = monitoring.responses_per_day(period, visible, counts)
    totals = {
        "valid": sum(r.valid for r in rows),
        "excluded": sum(r.excluded for r in rows),
        "flagged": sum(r.flagged for r in rows),
        "returned": sum(r.returned or 0 for r in rows),
        "target": sum(r.target or 0 for r in rows),
    }
    # Drawn once per content and language: a closed period's charts never change.
    names = tuple(r.unit.name for r in rows)
    valid = tuple(r.valid for r in rows)
    targets = tuple(r.target for r in rows)
    progress_chart = (
        charts.once(
            ("progress", names, valid, targets),
            lambda: charts.progress_bars(names, valid, targets),
        )
        if rows
        else None
    )
    day_chart = (
        charts.once(
            ("per day", tuple(days)),
            lambda: charts.per_day([d for d, _ in days], [n for _, n in days]),
        )
        if days
        else None
    )
    return render_template(
        "admin/dashboard.html",
        period=period,
        periods=periods.all_periods(),
        rows=rows,
        totals=totals,
        progress_chart=progress_chart,
        day_chart=day_chart,
        sample_rates=(
            sampling.unit_rates(period, visible)
            if Channel.SAMPLE in period.channel_set
            else None
        ),
    )
