"""Integrity flags on a stream of counter responses: stuffing made visible.

A response is flagged when its signals, alone or with the traffic around it, are far
from what genuine citizens produce. Genuine traffic is not uniform, so every rule
compares with a baseline that genuine traffic itself sets: one-stop centres share one
Wi-Fi and carriers put thousands of phones behind one address (networks are never
suspect alone), many satisfied citizens answer 5 everywhere (a pattern is never suspect
alone), a citizen may answer for two dossiers, and a busy centre has a high rate at
10:00. Each rule is a tail test against such a baseline (Poisson for counts in time,
binomial for repeats of one answer pattern) with a small false-alarm probability,
plus a floor below which nothing is flagged whatever the baseline.

======================  =============================================================
``fast``                submitted sooner after the form was served than anyone can
                        read and tap every item
``device-repeat``       one phone (device cookie) answering more often than a citizen
                        with several dossiers does, in a day or in the period
``network-burst``       one network at one counter far above that counter's own busy
                        rate within a window
``counter-burst``       one counter far above its own busy rate, from many networks
                        (a script rotating addresses)
``pattern-repeat``      one exact answer pattern repeated far more often, within one
                        network or counter on one day, than its share of all answers
``off-hours``           a form served outside the unit's opening hours
``over-dossiers``       more responses at a unit on a day (or in one field) than
                        dossiers it returned (or received) that day
``unit-jump``           a unit's daily volume (per dossier when the register says) or
                        mean satisfaction far from its own history
======================  =============================================================

Every function is vectorised: grouped counts come from sorting and
``numpy.searchsorted``, never a Python loop over responses, units or groups.

References
----------
Johnson, N. L., Kemp, A. W. and Kotz, S. (2005). *Univariate Discrete Distributions*,
3rd ed. Wiley (Poisson and binomial tails).
Rousseeuw, P. J. and Croux, C. (1993). Alternatives to the median absolute deviation.
*Journal of the American Statistical Association* 88, 1273-1283 (robust scale).
Zhang, C. and Conrad, F. G. (2014). Speeding in web surveys: the tendency to answer
very fast and its association with straightlining. *Survey Research Methods* 8,
127-135.
Kulldorff, M. (1997). A spatial scan statistic. *Communications in Statistics -
Theory and Methods* 26, 1481-1496 (windows of counts against an expected rate).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats

CODES = (
    "fast",
    "device-repeat",
    "network-burst",
    "counter-burst",
    "pattern-repeat",
    "off-hours",
    "over-dossiers",
    "unit-jump",
)
MINUTES_PER_DAY = 24 * 60
SIGNAL_COLUMNS = (
    "id",
    "unit",
    "counter",
    "field",
    "served",
    "submitted",
    "network",
    "device",
    "answers",
)
FLAG_COLUMNS = ("id", "code", "group", "evidence")


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of the rules, each set from what genuine traffic looks like.

    Attributes
    ----------
    fast_seconds_per_item : float
        1 s per item answered on the 1-5 scale (23 s for the 23 items of 2640/QĐ-BNV).
        Tapping one radio button on a 360 px phone, scrolling to the next, takes about
        a second before reading anything; speeding studies call answers under 300 ms
        a *word* too fast to read (Zhang and Conrad 2014), and the items here run to
        10-15 words. A citizen who taps "5" everywhere without reading still needs
        more than this.
    device_per_day : int
        3 responses from one phone in one day. A citizen may have two or three
        dossiers returned on one visit and answer for each ("another dossier").
    device_per_period : int
        10 responses from one phone in a period. Businesses' agents file many
        dossiers; more than ten answered visits in a quarter is a counter's phone.
    burst_window_minutes : int
        30 minutes: long enough to hold a stuffing session, short enough that a
        counter's genuine throughput in it is small (a transaction takes minutes).
    burst_peak_factor : float
        3: the busiest half-hour of a day carries up to three times the day's
        average half-hour (morning peaks at one-stop centres).
    burst_min : int
        10: no window with fewer responses is a burst, whatever the baseline; one
        desk serves at most about ten citizens in half an hour.
    burst_p : float
        1e-4: Poisson probability of so many responses in a window at the counter's
        busy rate; a province has some thousands of counter-windows a month, so about
        one genuine window in a month reaches it (and must still pass ``burst_min``).
    baseline_days : int
        5 active days before a counter's or unit's own history is trusted; before
        that, the median counter or unit of the province stands in.
    pattern_min : int
        4 identical answer sheets at least in one group before a repeat is flagged.
    pattern_baseline : int
        20 responses at a counter from other networks before one network's copies
        of a pattern over the whole period are judged against them (a satisfied
        unit is satisfied on every network; a staff Wi-Fi is not like 4G).
    pattern_p : float
        1e-4: binomial probability of so many copies of one pattern in a group of
        that size when the pattern has its province-wide share (which is large for
        "all 5": a satisfied centre is not a suspect).
    hours_grace_before, hours_grace_after : int
        30 minutes before opening (citizens queue) and 30 after closing (the last
        citizen served scans the code on the way out).
    dossier_slack : int
        2 responses above the dossiers of a day (or 10 % of them, whichever is more)
        before over-dossiers flags: fields are sometimes chosen wrongly and dossiers
        the larger of the dossiers received and returned stands for the citizens
        present.
    dossier_slack_share : float
        0.1, see ``dossier_slack``.
    jump_min : int
        10 responses on a day at least before a unit's day is compared with its
        history.
    jump_ratio : float
        3: the day's volume must be at least three times the expected one (genuine
        days vary: Mondays, month ends, before Tết), and
    jump_p : float
        1e-6 the Poisson probability of it at the expected rate.
    jump_score_points : float
        20 points of share satisfied (4-5) away from the unit's median day, and
    jump_z : float
        5 robust standard deviations (the larger of the between-day spread and the
        day's sampling error).
    """

    fast_seconds_per_item: float = 1.0
    device_per_day: int = 3
    device_per_period: int = 10
    burst_window_minutes: int = 30
    burst_peak_factor: float = 3.0
    burst_min: int = 10
    burst_p: float = 1e-4
    baseline_days: int = 5
    pattern_min: int = 4
    pattern_baseline: int = 20
    pattern_p: float = 1e-4
    hours_grace_before: int = 30
    hours_grace_after: int = 30
    dossier_slack: int = 2
    dossier_slack_share: float = 0.1
    jump_min: int = 10
    jump_ratio: float = 3.0
    jump_p: float = 1e-6
    jump_score_points: float = 20.0
    jump_z: float = 5.0

    @classmethod
    def from_mapping(cls, values: dict) -> Thresholds:
        """Defaults overridden by a mapping (unknown names are an error)."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown thresholds: {', '.join(sorted(unknown))}")
        return cls(**values)


@dataclass
class Context:
    """What the rules need besides the responses.

    Attributes
    ----------
    open_minutes : ndarray of bool, shape (units, 7, 1440)
        Whether unit ``u`` (the position of its code in ``units``) is open on weekday
        ``d`` (Monday 0) at minute ``m`` of the day, local time.
    units : sequence
        Unit codes in the order of the first axis of ``open_minutes``.
    dossiers : DataFrame
        ``unit, field, day, dossiers``: the larger of the dossiers received and the
        dossiers returned that day.
    register_days : DataFrame
        ``unit, first, last``: the days the register covers for each unit.
    counter_days : DataFrame
        ``counter, day, responses``: responses per counter and day, this period and
        the days before it (the history of each counter).
    unit_days : DataFrame
        ``unit, day, responses, satisfied``: responses and the sum of their share of
        satisfied answers (4-5 among answered) per unit and day, history included.
    """

    open_minutes: np.ndarray
    units: list
    dossiers: pd.DataFrame
    register_days: pd.DataFrame
    counter_days: pd.DataFrame
    unit_days: pd.DataFrame


def empty_context(units: list) -> Context:
    """A context that knows nothing but that units are always open."""
    return Context(
        np.ones((len(units), 7, MINUTES_PER_DAY), dtype=bool),
        list(units),
        pd.DataFrame(columns=["unit", "field", "day", "dossiers"]),
        pd.DataFrame(columns=["unit", "first", "last"]),
        pd.DataFrame(columns=["counter", "day", "responses"]),
        pd.DataFrame(columns=["unit", "day", "responses", "satisfied"]),
    )


def satisfied_share(answers: pd.Series) -> np.ndarray:
    """Share of items answered 4 or 5 among the items answered (0 = no opinion).

    Parameters
    ----------
    answers : Series of str
        One digit per item, all of the same length.

    Returns
    -------
    ndarray
        :math:`\\#\\{4, 5\\} / \\#\\{1..5\\}` per response (NaN without any answer).
    """
    matrix = _digits(answers)
    answered = (matrix > 0).sum(axis=1)
    satisfied = (matrix >= 4).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return satisfied / answered


def _digits(answers: pd.Series) -> np.ndarray:
    if len(answers) == 0:
        return np.zeros((0, 0), dtype=np.int8)
    width = len(answers.iloc[0])
    raw = np.frombuffer("".join(answers).encode(), dtype=np.uint8)
    return (raw.reshape(len(answers), width) - ord("0")).astype(np.int8)


def straight_lined(answers: pd.Series) -> np.ndarray:
    """Whether every answered item got the same value (all 5s, all 4s, ...)."""
    matrix = _digits(answers)
    low = np.where(matrix == 0, 9, matrix).min(axis=1, initial=9)
    high = matrix.max(axis=1, initial=0)
    return np.asarray(low == high)


def open_mask(intervals_by_unit: list[list[tuple[int, int, int]]]) -> np.ndarray:
    """Opening minutes per unit and weekday from (weekday, start, end) intervals.

    Parameters
    ----------
    intervals_by_unit : list of lists of (weekday, start_minute, end_minute)
        Weekday 0 = Monday; minutes from local midnight, end exclusive.

    Returns
    -------
    ndarray of bool, shape (units, 7, 1440)
    """
    mask = np.zeros((len(intervals_by_unit), 7, MINUTES_PER_DAY), dtype=bool)
    minutes = np.arange(MINUTES_PER_DAY)
    for position, intervals in enumerate(intervals_by_unit):  # units x a few intervals
        for weekday, start, end in intervals:
            mask[position, weekday] |= (minutes >= start) & (minutes < end)
    return mask


def widen(mask: np.ndarray, before: int, after: int) -> np.ndarray:
    """Open each interval ``before`` minutes earlier and close it ``after`` later.

    A minute is open in the result if an open minute lies within ``before`` minutes
    after it or ``after`` minutes before it (a dilation along the minutes of a day).
    """
    counts = np.concatenate(
        [np.zeros(mask.shape[:-1] + (1,), dtype=int), np.cumsum(mask, axis=-1)], axis=-1
    )
    minutes = np.arange(mask.shape[-1])
    high = np.minimum(minutes + before + 1, mask.shape[-1])
    low = np.maximum(minutes - after, 0)
    return (counts[..., high] - counts[..., low]) > 0


def window_counts(
    group: np.ndarray, seconds: np.ndarray, window: float
) -> tuple[np.ndarray, np.ndarray]:
    """Responses of the same group in the window ending at each response.

    Parameters
    ----------
    group : ndarray of int
        Group code of each response, rows sorted by (group, seconds).
    seconds : ndarray of float
        Time of each response in seconds.
    window : float
        Window length in seconds.

    Returns
    -------
    count, start : ndarray
        :math:`k_i = \\#\\{j : g_j = g_i,\\ t_i - w < t_j \\le t_i\\}` and the index
        of the first row of that window.
    """
    span = float(seconds.max() - seconds.min()) + 2 * window + 1 if len(seconds) else 1
    key = group.astype(float) * span + (
        seconds - (seconds.min() if len(seconds) else 0)
    )
    start = np.searchsorted(key, key - window, side="right")
    return np.arange(len(key)) - start + 1, start


def covered(start: np.ndarray, end: np.ndarray, size: int) -> np.ndarray:
    """Rows that lie in any of the index ranges [start, end] (a difference array)."""
    marks = np.zeros(size + 1, dtype=int)
    np.add.at(marks, start, 1)
    np.add.at(marks, end + 1, -1)
    return np.cumsum(marks[:-1]) > 0


def _flags(
    frame: pd.DataFrame, mask: np.ndarray, code: str, group, evidence=np.nan
) -> pd.DataFrame:
    """Flag rows ``mask`` of ``frame`` with ``code``, their group key and evidence."""
    rows = frame.loc[np.asarray(mask, dtype=bool)]
    if rows.empty:
        return pd.DataFrame(
            {"id": pd.Series(dtype="int64"), "code": "", "group": "", "evidence": 0.0}
        ).iloc[:0]
    values = evidence[np.asarray(mask, dtype=bool)] if np.ndim(evidence) else evidence
    return pd.DataFrame(
        {
            "id": rows["id"].to_numpy(),
            "code": code,
            "group": group(rows).to_numpy(dtype=str),
            "evidence": values,
        }
    )


def _day_key(*columns: pd.Series) -> pd.Series:
    key = columns[0].astype(str)
    for column in columns[1:]:
        key = key + ":" + column.astype(str)
    return key


def prepare(signals: pd.DataFrame) -> pd.DataFrame:
    """Derived columns: local day and minute, weekday, seconds to answer, pattern.

    ``served`` and ``submitted`` are local (naive) times; ``day`` is a date string.
    """
    frame = signals.copy()
    frame["seconds"] = (frame["submitted"] - frame["served"]).dt.total_seconds()
    # Categories: grouping by them sorts small integer codes, not a million strings.
    codes, days = pd.factorize(frame["submitted"].dt.normalize())
    frame["day"] = pd.Categorical.from_codes(
        codes, categories=pd.Index(days).strftime("%Y-%m-%d")
    )
    for column in ("network", "device", "answers", "field"):
        frame[column] = frame[column].astype("category")
    # Who answered: the phone, or the response itself when it came without a cookie.
    frame["who"] = np.where(
        frame["device"].notna(),
        frame["device"].cat.codes.to_numpy(),
        -1 - np.arange(len(frame)),
    )
    frame["t"] = (frame["submitted"] - pd.Timestamp("2000-01-01")).dt.total_seconds()
    frame["items"] = frame["answers"].str.len()
    frame["answered"] = (frame["items"] - frame["answers"].str.count("0")).clip(lower=1)
    frame["straight"] = straight_lined(frame["answers"])
    frame["satisfied"] = satisfied_share(frame["answers"])
    return frame


def flag_fast(frame: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Responses submitted faster than ``fast_seconds_per_item`` × items answered.

    Notes
    -----
    Flag when :math:`t_{submit} - t_{served} < c \\cdot m`, with ``m`` the items the
    citizen answered on the 1-5 scale and ``c`` the threshold. Grouped by counter
    and day.
    """
    limit = (thresholds.fast_seconds_per_item * frame["answered"]).to_numpy()
    return _flags(
        frame,
        frame["seconds"].to_numpy() < limit,
        "fast",
        lambda rows: _day_key(rows["counter"], rows["day"]),
        limit,
    )


def flag_off_hours(
    frame: pd.DataFrame, context: Context, thresholds: Thresholds
) -> pd.DataFrame:
    """Forms served outside the unit's opening hours, widened by the grace minutes.

    Notes
    -----
    The serving time counts, not the submission: a citizen may finish on the bus,
    but scans the code at the desk. Grouped by counter and day.
    """
    if frame.empty:
        return _flags(frame, np.zeros(0, bool), "off-hours", None)
    mask = widen(
        context.open_minutes,
        thresholds.hours_grace_before,
        thresholds.hours_grace_after,
    )
    position = {code: i for i, code in enumerate(context.units)}
    unit = frame["unit"].map(position).to_numpy()
    served = frame["served"]
    minute = (served.dt.hour * 60 + served.dt.minute).to_numpy()
    outside = ~mask[unit, served.dt.day_of_week.to_numpy(), minute]
    return _flags(
        frame,
        outside,
        "off-hours",
        lambda rows: _day_key(rows["counter"], rows["served"].dt.strftime("%Y-%m-%d")),
    )


def flag_device_repeat(frame: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Phones answering more than a citizen with several dossiers would.

    Notes
    -----
    Per device and day, :math:`n > ` ``device_per_day`` flags that day's responses
    of the device (group ``day:<device>:<day>``); otherwise per device over the
    period, :math:`n >` ``device_per_period`` flags all of them (``period:<device>``).
    Responses without a device cookie are left to the network rules.
    """
    known = frame[frame["device"].notna()]
    per_day = known.groupby(["device", "day"])["id"].transform("size")
    daily = (per_day > thresholds.device_per_day).to_numpy()
    per_period = known.groupby("device")["id"].transform("size")
    over_period = (per_period > thresholds.device_per_period).to_numpy() & ~daily
    return pd.concat(
        [
            _flags(
                known,
                daily,
                "device-repeat",
                lambda rows: "day:" + _day_key(rows["device"], rows["day"]),
            ),
            _flags(
                known,
                over_period,
                "device-repeat",
                lambda rows: "period:" + rows["device"].astype(str),
            ),
        ],
        ignore_index=True,
    )


def counter_busy_rate(
    frame: pd.DataFrame, context: Context, thresholds: Thresholds
) -> pd.Series:
    """Expected responses in a window at each counter's busy time.

    Notes
    -----
    :math:`\\lambda_c = f \\cdot q_{90}(n_{c,d}) \\cdot w / T_u`, with
    :math:`q_{90}(n_{c,d})` the 90th percentile of the counter's responses per active
    day (this period and before), ``f`` the peak factor, ``w`` the window and
    :math:`T_u` the unit's open minutes on an open day; a counter with fewer than
    ``baseline_days`` active days takes the median counter's :math:`q_{90}`. The
    90th percentile rather than the median keeps busy days (Mondays, month ends)
    genuine; a stuffed day is itself one of many days.
    """
    days = context.counter_days
    if len(days):
        per_counter = days.groupby("counter")["responses"]
        busy = per_counter.quantile(0.9)
        enough = per_counter.size() >= thresholds.baseline_days
        typical = float(busy[enough].median()) if enough.any() else float(busy.median())
        busy = busy.where(enough, np.maximum(busy, typical))
    else:
        busy = pd.Series(dtype=float)
    counters = frame[["counter", "unit"]].drop_duplicates("counter")
    position = {code: i for i, code in enumerate(context.units)}
    open_per_day = context.open_minutes.sum(axis=2).astype(float)  # units x weekdays
    open_per_day[open_per_day == 0] = np.nan
    with np.errstate(all="ignore"):
        typical_day = np.nanmedian(open_per_day, axis=1)
    unit_minutes = typical_day[counters["unit"].map(position).to_numpy(dtype=int)]
    unit_minutes = np.where(np.isfinite(unit_minutes), unit_minutes, 480.0)
    daily = (
        counters["counter"].map(busy).fillna(float(busy.median()) if len(busy) else 0.0)
    )
    rate = (
        thresholds.burst_peak_factor
        * daily.to_numpy(dtype=float)
        * thresholds.burst_window_minutes
        / unit_minutes
    )
    return pd.Series(np.maximum(rate, 1.0), index=counters["counter"].to_numpy())


def _bursts(
    frame: pd.DataFrame, by: list[str], rate: pd.Series, thresholds: Thresholds
) -> np.ndarray:
    """Rows in a window of their group whose count is a Poisson tail at the rate."""
    codes = frame.groupby(by, sort=True).ngroup().to_numpy()
    order = np.lexsort((frame["t"].to_numpy(), codes))
    ordered = frame.iloc[order]
    count, start = window_counts(
        codes[order], ordered["t"].to_numpy(), thresholds.burst_window_minutes * 60.0
    )
    expected = ordered["counter"].map(rate).to_numpy(dtype=float)
    tail = stats.poisson.sf(count - 1, expected)
    end = (count >= thresholds.burst_min) & (tail < thresholds.burst_p)
    ends = np.flatnonzero(end)
    inside = covered(start[ends], ends, len(ordered))
    result = np.zeros(len(frame), dtype=bool)
    result[order] = inside
    return result


def flag_bursts(
    frame: pd.DataFrame, context: Context, thresholds: Thresholds
) -> pd.DataFrame:
    """Windows with far more responses than the counter's busy rate.

    Notes
    -----
    For each response, :math:`k` = responses in the ``burst_window_minutes`` ending
    at it, from the same network at the same counter (``network-burst``) or from any
    network at the counter (``counter-burst``, for addresses that rotate). The window
    is a burst when :math:`k \\ge` ``burst_min`` and :math:`P(X \\ge k) <`
    ``burst_p`` for :math:`X \\sim \\mathrm{Poisson}(\\lambda_c)`
    (:func:`counter_busy_rate`); every response in a burst window is flagged.
    Grouped by network, counter and day (counter and day).
    """
    at_counter = frame[frame["counter"].notna()]
    rate = counter_busy_rate(at_counter, context, thresholds)
    network = _bursts(at_counter, ["network", "counter"], rate, thresholds)
    counter = _bursts(at_counter, ["counter"], rate, thresholds) & ~network
    expected = at_counter["counter"].map(rate).to_numpy(dtype=float)
    return pd.concat(
        [
            _flags(
                at_counter,
                network,
                "network-burst",
                lambda rows: _day_key(rows["network"], rows["counter"], rows["day"]),
                expected,
            ),
            _flags(
                at_counter,
                counter,
                "counter-burst",
                lambda rows: _day_key(rows["counter"], rows["day"]),
                expected,
            ),
        ],
        ignore_index=True,
    )


def pattern_digest(answers: pd.Series) -> pd.Series:
    """A short stable name of each answer pattern (8 hex digits of BLAKE2b)."""
    values = answers.astype(str)
    names = {
        value: hashlib.blake2b(value.encode(), digest_size=4).hexdigest()
        for value in values.unique()
    }
    return values.map(names)


def pattern_shares(frame: pd.DataFrame) -> pd.Series:
    """Share of each exact answer pattern among all responses (the baseline)."""
    return frame["answers"].value_counts(normalize=True)


def _votes(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """One vote per phone and pattern in each group: a phone's own repeats are
    device-repeat's business, and must not make its neighbours' answers look copied."""
    return (~frame.duplicated([*by, "answers", "who"])).astype(int)


def _pattern_repeats(
    frame: pd.DataFrame, by: list[str], shares: pd.Series, thresholds: Thresholds
) -> np.ndarray:
    votes = frame.assign(vote=_votes(frame, by))
    size = votes.groupby(by)["vote"].transform("sum").to_numpy()
    copies = votes.groupby([*by, "answers"])["vote"].transform("sum").to_numpy()
    share = frame["answers"].map(shares).to_numpy()
    tail = stats.binom.sf(copies - 1, size, share)
    return (copies >= thresholds.pattern_min) & (tail < thresholds.pattern_p)


def _network_pattern_repeats(
    frame: pd.DataFrame, shares: pd.Series, thresholds: Thresholds
) -> np.ndarray:
    """Over the period: one network's copies of a pattern at a counter against the
    pattern's share at the same counter from the other networks (and province-wide)."""
    by = ["network", "counter"]
    frame = frame.assign(vote=_votes(frame, by))
    size = frame.groupby(by)["vote"].transform("sum").to_numpy()
    copies = frame.groupby([*by, "answers"])["vote"].transform("sum").to_numpy()
    at_counter = frame.groupby("counter")["vote"].transform("sum").to_numpy()
    pattern_at_counter = (
        frame.groupby(["counter", "answers"])["vote"].transform("sum").to_numpy()
    )
    others = at_counter - size
    with np.errstate(all="ignore"):
        elsewhere = (pattern_at_counter - copies) / others
    share = np.maximum(frame["answers"].map(shares).to_numpy(dtype=float), elsewhere)
    tail = stats.binom.sf(copies - 1, size, np.nan_to_num(share, nan=1.0))
    same_day = (
        frame.assign(vote=_votes(frame, [*by, "day"]))
        .groupby([*by, "day", "answers"])["vote"]
        .transform("sum")
        .to_numpy()
    )
    return (
        (others >= thresholds.pattern_baseline)
        & (copies >= thresholds.pattern_min)
        & (tail < thresholds.pattern_p)
        & (same_day >= 2)  # a lone copy on a day is a citizen's, whatever the period
    )


def flag_pattern_repeats(frame: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Copies of one exact answer sheet, far above the pattern's share, in a group.

    Notes
    -----
    In a group of :math:`n` responses (one network at one counter on one day; then,
    for addresses that rotate, one counter on one day; then one network at one
    counter over the period, where :math:`s_p` is the larger of the province share
    and the share at the same counter from the other networks), a pattern appearing
    :math:`k` times is a repeat when :math:`k \\ge` ``pattern_min`` and
    :math:`P(X \\ge k) <` ``pattern_p``, :math:`X \\sim \\mathrm{Bin}(n, s_p)`,
    with :math:`s_p` the pattern's share among all the period's responses. "All 5",
    the commonest genuine pattern, has a large share: a satisfied centre is never
    flagged for it, but dozens of copies among few other answers are.
    """
    at_counter = frame[frame["counter"].notna()]
    shares = pattern_shares(at_counter)
    share = at_counter["answers"].map(shares).to_numpy(dtype=float)
    network = _pattern_repeats(
        at_counter, ["network", "counter", "day"], shares, thresholds
    )
    counter = (
        _pattern_repeats(at_counter, ["counter", "day"], shares, thresholds) & ~network
    )
    period = _network_pattern_repeats(at_counter, shares, thresholds) & ~(
        network | counter
    )
    at_counter = at_counter.assign(pattern=at_counter["answers"])
    return pd.concat(
        [
            _flags(
                at_counter,
                network,
                "pattern-repeat",
                lambda rows: _day_key(
                    rows["network"],
                    rows["counter"],
                    rows["day"],
                    pattern_digest(rows["pattern"]),
                ),
                share,
            ),
            _flags(
                at_counter,
                counter,
                "pattern-repeat",
                lambda rows: _day_key(
                    rows["counter"], rows["day"], pattern_digest(rows["pattern"])
                ),
                share,
            ),
            _flags(
                at_counter,
                period,
                "pattern-repeat",
                lambda rows: (
                    "period:"
                    + _day_key(
                        rows["network"],
                        rows["counter"],
                        pattern_digest(rows["pattern"]),
                    )
                ),
                share,
            ),
        ],
        ignore_index=True,
    )


def _slack(dossiers: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    return np.maximum(
        thresholds.dossier_slack, np.ceil(thresholds.dossier_slack_share * dossiers)
    )


def flag_over_dossiers(
    frame: pd.DataFrame, context: Context, thresholds: Thresholds
) -> pd.DataFrame:
    """More responses on a day than the register's dossiers of that day, plus slack.

    Notes
    -----
    Only on days the register covers for the unit. Per unit and day,
    :math:`n > D + \\max(s, \\lceil r D \\rceil)` with :math:`D` the dossiers
    returned that day or received that day, whichever is more (the citizens who could
    have been at the desk),
    ``s`` = ``dossier_slack`` and ``r`` = ``dossier_slack_share``; then per unit,
    field and day for the fields the citizen named (not "khac").
    """
    covers = context.register_days
    if frame.empty or covers.empty:
        return _flags(frame, np.zeros(len(frame), bool), "over-dossiers", None)
    spans = frame[["unit"]].merge(covers, on="unit", how="left")
    inside = (
        spans["first"].notna()
        & (frame["day"].to_numpy() >= spans["first"].fillna("").to_numpy())
        & (frame["day"].to_numpy() <= spans["last"].fillna("").to_numpy())
    ).to_numpy()
    covered_rows = frame.loc[inside]
    dossiers = context.dossiers
    per_day = dossiers.groupby(["unit", "day"])["dossiers"].sum()
    n_day = covered_rows.groupby(["unit", "day"])["id"].transform("size").to_numpy()
    day_index = pd.MultiIndex.from_arrays([covered_rows["unit"], covered_rows["day"]])
    d_day = per_day.reindex(day_index).fillna(0).to_numpy()
    over_day = n_day > d_day + _slack(d_day, thresholds)
    per_field = dossiers.groupby(["unit", "field", "day"])["dossiers"].sum()
    named = covered_rows["field"].notna() & (covered_rows["field"] != "khac")
    n_field = (
        covered_rows.groupby(["unit", "field", "day"])["id"]
        .transform("size")
        .to_numpy()
    )
    field_index = pd.MultiIndex.from_arrays(
        [covered_rows["unit"], covered_rows["field"].fillna(""), covered_rows["day"]]
    )
    d_field = per_field.reindex(field_index).fillna(0).to_numpy()
    over_field = (
        named.to_numpy() & (n_field > d_field + _slack(d_field, thresholds)) & ~over_day
    )
    return pd.concat(
        [
            _flags(
                covered_rows,
                over_day,
                "over-dossiers",
                lambda rows: _day_key(rows["unit"], rows["day"]),
                d_day,
            ),
            _flags(
                covered_rows,
                over_field,
                "over-dossiers",
                lambda rows: _day_key(rows["unit"], rows["day"], rows["field"]),
                d_field,
            ),
        ],
        ignore_index=True,
    )


def flag_unit_jumps(
    frame: pd.DataFrame, context: Context, thresholds: Thresholds
) -> pd.DataFrame:
    """A unit's day far from its own history, in volume or in satisfaction.

    Notes
    -----
    History: the unit's active days in ``context.unit_days`` (this period and the
    days before); a unit with fewer than ``baseline_days`` is not judged.

    - Volume: expected :math:`E_d = \\tilde r \\cdot D_d` when the register covers
      the day (:math:`\\tilde r` the median of responses per dossier over days),
      else the median daily volume :math:`\\tilde n`. Flag when :math:`n_d \\ge`
      ``jump_min``, :math:`n_d \\ge` ``jump_ratio`` :math:`\\cdot E_d` and
      :math:`P(X \\ge n_d) <` ``jump_p`` for :math:`X \\sim \\mathrm{Poisson}(E_d)`.
    - Satisfaction: the day's mean share satisfied :math:`\\bar s_d` against the
      median day :math:`\\tilde s`; flag when :math:`|\\bar s_d - \\tilde s| \\ge`
      ``jump_score_points`` and :math:`|\\bar s_d - \\tilde s| / \\max(1.4826\\,
      \\mathrm{MAD}_d, \\hat\\sigma / \\sqrt{n_d}) \\ge` ``jump_z``.

    Grouped by unit and day: every response of the day is in the group.
    """
    history = context.unit_days
    if frame.empty or history.empty:
        return _flags(frame, np.zeros(len(frame), bool), "unit-jump", None)
    history = history[history["responses"] > 0].copy()
    history["mean"] = history["satisfied"] / history["responses"]
    dossiers = context.dossiers.groupby(["unit", "day"])["dossiers"].sum()
    history["dossiers"] = dossiers.reindex(
        pd.MultiIndex.from_arrays([history["unit"], history["day"]])
    ).to_numpy()
    with np.errstate(all="ignore"):
        history["rate"] = history["responses"] / history["dossiers"]
    history["deviation"] = np.abs(
        history["mean"] - history.groupby("unit")["mean"].transform("median")
    )
    grouped = history.groupby("unit")
    baseline = pd.DataFrame(
        {
            "days": grouped.size(),
            "usual_volume": grouped["responses"].median(),
            "usual_rate": grouped["rate"].median(),
            "usual_score": grouped["mean"].median(),
            "spread": 1.4826 * grouped["deviation"].median(),
            "sd": frame.groupby("unit")["satisfied"].std(),
        }
    )
    day = (
        frame.groupby(["unit", "day"])
        .agg(responses=("id", "size"), score=("satisfied", "mean"))
        .reset_index()
        .merge(baseline, left_on="unit", right_index=True)
    )
    day = day[day["days"] >= thresholds.baseline_days]
    day_dossiers = dossiers.reindex(
        pd.MultiIndex.from_arrays([day["unit"], day["day"]])
    ).to_numpy(dtype=float)
    rate = day["usual_rate"].to_numpy(dtype=float)
    known = np.isfinite(rate) & np.isfinite(day_dossiers)
    expected = np.where(
        known, rate * np.nan_to_num(day_dossiers), day["usual_volume"].to_numpy(float)
    )
    expected = np.maximum(expected, 0.5)
    n = day["responses"].to_numpy()
    volume = (
        (n >= thresholds.jump_min)
        & (n >= thresholds.jump_ratio * expected)
        & (stats.poisson.sf(n - 1, expected) < thresholds.jump_p)
    )
    gap = day["score"].to_numpy(float) - day["usual_score"].to_numpy(float)
    sampling = day["sd"].fillna(0.5).to_numpy(float) / np.sqrt(n)
    scale = np.maximum(day["spread"].to_numpy(float), sampling)
    with np.errstate(all="ignore"):
        score = (
            (n >= thresholds.jump_min)
            & (np.abs(gap) * 100 >= thresholds.jump_score_points)
            & (np.abs(gap) / scale >= thresholds.jump_z)
            & ~volume
        )
    jumped = pd.concat(
        [
            day.loc[volume, ["unit", "day"]].assign(
                kind="volume", evidence=expected[volume]
            ),
            day.loc[score, ["unit", "day"]].assign(
                kind="score", evidence=100 * day["usual_score"].to_numpy(float)[score]
            ),
        ]
    )
    member = frame[["id", "unit", "day"]].merge(jumped, on=["unit", "day"])
    return _flags(
        member,
        np.ones(len(member), dtype=bool),
        "unit-jump",
        lambda rows: _day_key(rows["unit"], rows["day"], rows["kind"]),
        member["evidence"].to_numpy(float),
    )


def flag_responses(
    signals: pd.DataFrame, context: Context, thresholds: Thresholds = Thresholds()
) -> pd.DataFrame:
    """Every flag of every rule on a period's counter responses.

    Parameters
    ----------
    signals : DataFrame
        Columns :data:`SIGNAL_COLUMNS`: ``served`` and ``submitted`` as local times,
        ``network`` and ``device`` as hashes (``device`` may be missing), ``answers``
        one digit per scale item (0 = no opinion), ``field`` the procedure field.
    context : Context
        Opening hours, register and history (:class:`Context`).
    thresholds : Thresholds

    Returns
    -------
    DataFrame
        ``id, code, group, evidence``: one row per flag (a response has at most one
        group per code); ``evidence`` is the group's baseline where the rule has one
        (threshold seconds, expected count in a window, pattern share, dossiers of
        the day, expected volume or usual share satisfied in %).
    """
    frame = prepare(signals)
    found = pd.concat(
        [
            flag_fast(frame, thresholds),
            flag_device_repeat(frame, thresholds),
            flag_bursts(frame, context, thresholds),
            flag_pattern_repeats(frame, thresholds),
            flag_off_hours(frame, context, thresholds),
            flag_over_dossiers(frame, context, thresholds),
            flag_unit_jumps(frame, context, thresholds),
        ],
        ignore_index=True,
    )
    return found.drop_duplicates(["id", "code"]).reset_index(drop=True)
