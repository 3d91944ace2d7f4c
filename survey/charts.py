"""Charts rendered on the server as SVG with matplotlib: no JavaScript, no CDN.

Every function returns an <img> whose source is the SVG as a data URI: the page's
Content-Security-Policy forbids inline styles, which matplotlib's SVG uses, while an
SVG image is rendered on its own. The alt text says what the chart shows.
"""

import base64
import io
from collections.abc import Callable, Sequence
from datetime import date

import matplotlib
from flask_babel import get_locale, gettext
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from .i18n import local_number

BLUE, RED, GREEN, GREY = "#0b4f8a", "#d6302f", "#1e8449", "#9aa5b1"


STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "sipas",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.usetex": False,
}
# Set once when the module loads and never changed while serving: every thread reads
# the same style, and nothing goes through pyplot's per-process figure registry.
matplotlib.rcParams.update(STYLE)
# Published charts never change: one rendering per publication and language.
_published: dict[tuple, Markup] = {}
PUBLISHED_CACHE_SIZE = 256


def _numbers(values) -> list[float]:
    """Missing values (None) as NaN, which matplotlib leaves out."""
    return [float("nan") if v is None else float(v) for v in values]


def plain(label) -> str:
    """Return a label that matplotlib shows as it is: a "$" never starts mathematics."""
    return str(label).replace("$", r"\$")


def _plain_all(labels: Sequence) -> list[str]:
    return [plain(label) for label in labels]


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure of its own (no pyplot, so no state shared between threads)."""
    figure = Figure(figsize=(width, height))
    FigureCanvasSVG(figure)
    return figure, figure.add_subplot()


def _svg(fig: Figure, alt: str) -> Markup:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode()
    return Markup(
        '<img class="chart" src="data:image/svg+xml;base64,{}" alt="{}">'
    ).format(Markup(data), alt)


def progress_bars(
    labels: Sequence[str], valid: Sequence[int], targets: Sequence[int | None]
) -> Markup:
    """Horizontal bars: responses per unit, with the target as a tick."""
    fig, ax = _figure(5.5, 0.3 * len(labels) + 0.8)
    y = range(len(labels))
    ax.barh(y, valid, color=BLUE, height=0.6, label=gettext("Phiếu hợp lệ"))
    marks = [(i, t) for i, t in zip(y, targets, strict=True) if t]
    if marks:
        ax.scatter(
            [t for _, t in marks],
            [i for i, _ in marks],
            marker="|",
            s=260,
            color=RED,
            linewidths=2.5,
            label=gettext("Chỉ tiêu"),
            zorder=3,
        )
    ax.set_yticks(list(y), _plain_all(labels))
    ax.invert_yaxis()
    ax.set_xlabel(gettext("Số phiếu"))
    ax.legend(loc="lower right", frameon=False)
    return _svg(fig, gettext("Số phiếu hợp lệ của từng đơn vị so với chỉ tiêu"))


def per_day(days: Sequence[date], counts: Sequence[int]) -> Markup:
    """Columns: valid responses per day."""
    fig, ax = _figure(5.5, 2.2)
    ax.bar(days, counts, color=BLUE, width=0.8)
    ax.set_ylabel(gettext("Phiếu / ngày"))
    fig.autofmt_xdate()
    return _svg(fig, gettext("Số phiếu hợp lệ theo ngày"))


def unit_intervals(rows: Sequence[dict], reference: float | None) -> Markup:
    """The caterpillar plot of result rows (name, estimate, ci_low, ci_high, reliable)."""
    ordered = sorted(rows, key=lambda r: -(r["estimate"] or 0))
    return caterpillar(
        [r["name"] for r in ordered],
        [r["estimate"] for r in ordered],
        [r["ci_low"] for r in ordered],
        [r["ci_high"] for r in ordered],
        [r["reliable"] for r in ordered],
        reference,
    )


def published_intervals(
    key: tuple, rows: Sequence[dict], reference: float | None
) -> Markup:
    """`unit_intervals` of a publication, drawn once per key (its hash and language)."""
    if key not in _published:
        if len(_published) >= PUBLISHED_CACHE_SIZE:
            _published.pop(next(iter(_published)))
        _published[key] = unit_intervals(rows, reference)
    return _published[key]


def once(key: tuple, draw: Callable[[], Markup]) -> Markup:
    """A chart drawn once per key (what it shows and the language), then reused.

    The key must hold every input of the drawing: the same key is the same chart.
    """
    key = ("once", str(get_locale()), *key)
    if key not in _published:
        if len(_published) >= PUBLISHED_CACHE_SIZE:
            _published.pop(next(iter(_published)))
        _published[key] = draw()
    return _published[key]


def caterpillar(
    labels: Sequence[str],
    estimate: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    reliable: Sequence[bool],
    reference: float | None,
) -> Markup:
    """Units sorted by index, each with its confidence interval; the province as a line."""
    estimate, low, high = _numbers(estimate), _numbers(low), _numbers(high)
    fig, ax = _figure(4.6, 0.3 * len(labels) + 1.0)
    y = list(range(len(labels)))
    colours = [BLUE if r else GREY for r in reliable]
    ax.hlines(y, low, high, colors=colours, linewidth=2.2)
    ax.scatter(estimate, y, color=colours, s=28, zorder=3)
    if reference is not None:
        ax.axvline(
            reference,
            color=RED,
            linestyle="--",
            linewidth=1.2,
            label=gettext(
                "Toàn tỉnh %(value)s", value=local_number(f"{reference:.1f}")
            ),
        )
        # Above the plot, never over a unit's interval.
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
    ax.set_yticks(y, _plain_all(labels))
    ax.invert_yaxis()
    ax.set_xlabel(gettext("Chỉ số hài lòng (%), khoảng tin cậy"))
    finite_low = [v for v in low + estimate if v == v] or [0.0]
    finite_high = [v for v in high + estimate if v == v] or [100.0]
    ax.set_xlim(max(0, min(finite_low) - 5), min(100, max(finite_high) + 3))
    return _svg(fig, gettext("Chỉ số hài lòng của từng đơn vị với khoảng tin cậy"))


def element_bars(
    labels: Sequence[str], unit: Sequence[float], province: Sequence[float]
) -> Markup:
    """Paired bars: a unit's element indices beside the province's."""
    fig, ax = _figure(5, 2.6)
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], unit, width=0.4, color=BLUE, label=gettext("Đơn vị"))
    ax.bar(
        [i + 0.2 for i in x],
        province,
        width=0.4,
        color=GREY,
        label=gettext("Toàn tỉnh"),
    )
    ax.set_xticks(list(x), _plain_all(labels))
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.legend(frameon=False, ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _svg(fig, gettext("Chỉ số theo yếu tố của đơn vị so với toàn tỉnh"))


def trend(
    periods: Sequence[str],
    values: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    versions: Sequence[str] | None = None,
) -> Markup:
    """A line over periods with its confidence band, broken where the version changes.

    Indices of two questionnaire versions are not comparable: each version's periods
    get their own line and band, with a dashed mark and the new version's code at
    the break, never a line joining them.
    """
    values, low, high = _numbers(values), _numbers(low), _numbers(high)
    versions = list(versions or [""] * len(periods))
    fig, ax = _figure(5.5, 2.2)
    x = list(range(len(periods)))
    starts = [i for i in x if i == 0 or versions[i] != versions[i - 1]]
    for start, end in zip(starts, [*starts[1:], len(x)], strict=True):
        part = slice(start, end)
        if end - start > 1:
            ax.fill_between(
                x[part], low[part], high[part], color=BLUE, alpha=0.15, linewidth=0
            )
        else:  # a version's first period: its interval as a bar
            ax.vlines(
                x[part], low[part], high[part], color=BLUE, alpha=0.3, linewidth=6
            )
        ax.plot(x[part], values[part], color=BLUE, marker="o")
        if start:
            ax.axvline(start - 0.5, color=RED, linestyle="--", linewidth=1)
            ax.annotate(
                plain(versions[start]),
                (start - 0.45, 1),
                xycoords=("data", "axes fraction"),
                va="top",
                fontsize=7,
                color=RED,
            )
    ax.set_xticks(x, _plain_all(periods))
    ax.set_ylabel(gettext("Chỉ số (%)"))
    alt = gettext("Xu hướng chỉ số qua các kỳ")
    if len(starts) > 1:
        alt += gettext("; chuỗi bị ngắt khi đổi bảng hỏi, không so sánh qua chỗ ngắt")
    return _svg(fig, alt)
