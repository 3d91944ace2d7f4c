"""Results computed once per (period, method settings, data version) and kept.

Pages read the stored tables; they never recompute a large period in a request. A
stored table whose data version differs from the period's current one is stale: the
pages show it as it was, labelled with its time, with a refresh that runs in the
background (a thread holding the row's lock, or `flask refresh-results` from cron).
The flag pass that must precede a computation runs inside that refresh too.
"""

import gzip
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..errors import ServiceError
from ..extensions import db
from ..idset import pack_ids, unpack_ids
from ..models import (
    Dossier,
    FileImport,
    FlagDecision,
    FlagPass,
    Invitation,
    InvitationBatch,
    Publication,
    StoredResult,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)
from . import indices
from .steps import step

log = logging.getLogger(__name__)

#: A computation that holds the lock longer than this is taken as dead.
LOCK_TIMEOUT = timedelta(minutes=20)
#: Below this many responses a page computes in the request (the demo, small periods).
DEFAULT_SYNC_LIMIT = 20_000
FORMAT = 1
#: Kept as a failed computation's error when it was not a rule's message (see the log).
INTERNAL_ERROR = "internal error"
#: Unpacked results kept per process (each about a megabyte at 120 units).
UNPACKED_CACHE_SIZE = 8


def settings_hash(settings: indices.Settings) -> str:
    """A canonical digest of method settings: equal settings, equal digest."""
    blob = json.dumps(settings.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _key(settings: indices.Settings, publication: Publication | None = None) -> str:
    """The row key: the settings, and the publication whose responses they read."""
    digest = settings_hash(settings)
    if publication is None:
        return digest
    return hashlib.sha256(f"publication {publication.id} {digest}".encode()).hexdigest()


def _version(period: SurveyPeriod, publication: Publication | None) -> str:
    """A publication's responses never change: its computation is never stale."""
    if publication is not None:
        return f"publication {publication.id}"
    return data_version(period)


def data_version(period: SurveyPeriod) -> str:
    """A fingerprint of everything a computation of the period reads.

    Responses (last id, last status change: new responses, exclusions and
    restores), flag passes and decisions, the register (dossiers and imports that
    update them), the sample's invitations and deliveries, and the unit tree. Each
    part is an aggregate that an index answers, so the fingerprint stays cheap at
    millions of responses.
    """
    parts = [
        # Two index lookups (period, id) and (period, status_at), not a count: a
        # response is never deleted, so a new one always raises the last id.
        db.session.execute(
            sa.select(
                sa.select(sa.func.max(SurveyResponse.id))
                .where(SurveyResponse.period_id == period.id)
                .scalar_subquery(),
                sa.select(sa.func.max(SurveyResponse.status_at))
                .where(SurveyResponse.period_id == period.id)
                .scalar_subquery(),
            )
        ).one(),
        db.session.execute(
            sa.select(FlagPass.data_version, FlagPass.ran_at).where(
                FlagPass.period_id == period.id
            )
        ).one_or_none(),
        db.session.execute(
            sa.select(
                sa.func.count(FlagDecision.id),
                sa.func.max(FlagDecision.id),
                sa.func.max(FlagDecision.undone_at),
            ).where(FlagDecision.period_id == period.id)
        ).one(),
        # The register is only ever added to or updated by imports (a dossier is
        # never deleted): the last dossier and the last import tell every change
        # through one index each, where a count would read a million rows.
        db.session.execute(sa.select(sa.func.max(Dossier.id))).one(),
        db.session.execute(sa.select(sa.func.max(FileImport.id))).one(),
        db.session.execute(
            sa.select(sa.func.count(Invitation.id), sa.func.max(Invitation.id)).where(
                Invitation.period_id == period.id
            )
        ).one(),
        db.session.execute(
            sa.select(sa.func.max(InvitationBatch.delivered_at)).where(
                InvitationBatch.period_id == period.id
            )
        ).one(),
        db.session.execute(
            sa.select(
                Unit.id,
                Unit.parent_id,
                Unit.code,
                Unit.name,
                Unit.level,
                Unit.opening_hours,
            ).order_by(Unit.id)
        ).all(),
        [period.questionnaire_id, period.channels],
    ]
    blob = json.dumps([list(p) if p is not None else None for p in parts], default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# ---- serialising Results: gzip JSON, no pickle ----------------------------------------


def _frame_out(frame: pd.DataFrame | None):
    if frame is None:
        return None
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": frame.astype(object).where(frame.notna(), None).values.tolist(),
    }


def _frame_in(data) -> pd.DataFrame | None:
    if data is None:
        return None
    frame = pd.DataFrame(data["data"], columns=data["columns"])
    for column, dtype in zip(data["columns"], data["dtypes"], strict=True):
        if dtype != "object":
            try:
                frame[column] = frame[column].astype(dtype)
            except (TypeError, ValueError):
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _plain(value):
    """JSON for numpy scalars (json's float repr round-trips every double)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _results_out(results: indices.Results) -> dict:
    return {
        "settings": results.settings.to_dict(),
        "table": _frame_out(results.table),
        "ranks": _frame_out(results.ranks),
        "versus": _frame_out(results.versus_province),
        "ids": pack_ids(results.response_ids).hex(),
        "responses": len(results.response_ids),
        "excluded": results.excluded,
        "weights": results.weights,
        "integrity": results.integrity,
        "channel": results.channel,
        "beside": _results_out(results.beside) if results.beside is not None else None,
        "gap": _frame_out(results.gap),
        "rates": _frame_out(results.rates),
        "weaknesses": results.weaknesses,
    }


def _results_in(data: dict, period: SurveyPeriod) -> indices.Results:
    ids = unpack_ids(bytes.fromhex(data["ids"]))
    return indices.Results(
        period,
        indices.Settings.from_dict(data["settings"]),
        _frame_in(data["table"]),
        _frame_in(data["ranks"]),
        _frame_in(data["versus"]),
        ids,
        data["excluded"],
        data["weights"],
        data["integrity"],
        data["channel"],
        _results_in(data["beside"], period) if data["beside"] else None,
        _frame_in(data["gap"]),
        _frame_in(data["rates"]),
        weaknesses=data.get("weaknesses"),
    )


def pack(results: indices.Results) -> bytes:
    """Results as gzip-compressed JSON (tables, ids as a compact set)."""
    blob = json.dumps({"format": FORMAT, "results": _results_out(results)},
                      default=_plain, ensure_ascii=False)  # fmt: skip
    return gzip.compress(blob.encode(), compresslevel=5)


def unpack(blob: bytes, period: SurveyPeriod) -> indices.Results:
    """The Results of ``pack`` bytes, for a period."""
    data = json.loads(gzip.decompress(blob))
    return _results_in(data["results"], period)


# ---- reading and refreshing -----------------------------------------------------------


@dataclass
class Lookup:
    """What the pages can show for a period under some settings.

    state: "current" (computed on today's data), "stale" (newer data exists: shown
    with its time and a refresh), "computing" (nothing stored yet; a computation
    runs), or "failed" (the last computation's error, nothing stored).
    """

    state: str
    results: indices.Results | None = None
    computed_at: object = None
    computing: bool = False
    error: str | None = None


def _row(period, settings, publication=None) -> StoredResult | None:
    return db.session.scalar(
        sa.select(StoredResult).filter_by(
            period_id=period.id, settings_hash=_key(settings, publication)
        )
    )


def _is_computing(row: StoredResult | None) -> bool:
    return (
        row is not None
        and row.computing_since is not None
        and clock.now() - row.computing_since < LOCK_TIMEOUT
    )


def lookup(
    period: SurveyPeriod,
    settings: indices.Settings,
    publication: Publication | None = None,
) -> Lookup:
    """The stored results of a period under these exact settings, and their state.

    With a publication: computed on the responses that publication used.
    """
    row = _row(period, settings, publication)
    computing = _is_computing(row)
    if row is None or row.data_version is None:
        if row is not None and row.error and not computing:
            return Lookup("failed", error=row.error)
        return Lookup("computing", computing=computing)
    results = _unpacked(row, period)
    current = row.data_version == _version(period, publication)
    state = "current" if current else "stale"
    return Lookup(state, results, row.computed_at, computing, row.error)


def _unpacked(row: StoredResult, period: SurveyPeriod) -> indices.Results:
    """The row's Results, unpacked once per stored computation in this process.

    The key names one stored computation (its period, settings, data version and
    time), so a new one is unpacked again; pages only read Results. The cached
    copy is handed out with this request's period.
    """
    cache = current_app.extensions.setdefault("stored_results", {})
    key = (row.period_id, row.settings_hash, row.data_version, str(row.computed_at))
    found = cache.get(key)
    if found is None:
        found = unpack(row.content, period)
        if len(cache) >= UNPACKED_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = found
    return _on(found, period)


def _on(results: indices.Results, period: SurveyPeriod) -> indices.Results:
    beside = _on(results.beside, period) if results.beside is not None else None
    return replace(results, period=period, beside=beside)


def claim(period: SurveyPeriod, settings: indices.Settings, publication=None) -> bool:
    """Take the computation lock of (period, settings); False if another holds it."""
    key = _key(settings, publication)
    if _row(period, settings, publication) is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    StoredResult(
                        period_id=period.id,
                        settings_hash=key,
                        settings=settings.to_dict(),
                    )  # fmt: skip
                )
        except IntegrityError:
            pass  # another process created it: the update below decides
    now = clock.now()
    taken = db.session.execute(
        sa.update(StoredResult)
        .where(
            StoredResult.period_id == period.id,
            StoredResult.settings_hash == key,
            sa.or_(
                StoredResult.computing_since.is_(None),
                StoredResult.computing_since < now - LOCK_TIMEOUT,
            ),
        )
        .values(computing_since=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return taken == 1


def store(
    period: SurveyPeriod,
    settings: indices.Settings,
    results: indices.Results,
    seconds: float,
    publication: Publication | None = None,
) -> None:
    """Keep computed results with the data version they were computed on; unlock."""
    with step("storing"):
        _store(period, settings, results, seconds, publication)


def _store(period, settings, results, seconds, publication=None) -> None:
    key = _key(settings, publication)
    values = {
        "content": pack(results),
        "data_version": _version(period, publication),
        "computed_at": clock.now(),
        "seconds": seconds,
        "computing_since": None,
        "error": None,
        "settings": settings.to_dict(),
    }
    updated = db.session.execute(
        sa.update(StoredResult)
        .where(StoredResult.period_id == period.id, StoredResult.settings_hash == key)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:
        db.session.add(StoredResult(period_id=period.id, settings_hash=key, **values))
    db.session.commit()


def compute(period, settings, publication=None) -> indices.Results:
    """Compute the results, and every unit's weaknesses to keep with them."""
    from . import weaknesses  # they read publications, which read stored results
    from .publications import used_ids

    if publication is None:
        results = indices.compute(period, settings)  # runs the flag pass if stale
    else:
        results = indices.compute(period, settings, used_ids(publication))
    with step("weaknesses"):
        results.weaknesses = weaknesses.every_unit(results)
    for done in (results, results.beside):  # the rows behind them are not kept
        if done is not None:
            done.workings = None
    return results


def compute_and_store(
    period: SurveyPeriod,
    settings: indices.Settings,
    publication: Publication | None = None,
) -> indices.Results | None:
    """Run the flag pass if due, compute and store; release the lock. Errors are kept."""
    started = time.perf_counter()
    try:
        results = compute(period, settings, publication)
    except ServiceError as exc:
        db.session.rollback()
        db.session.execute(
            sa.update(StoredResult)
            .where(
                StoredResult.period_id == period.id,
                StoredResult.settings_hash == _key(settings, publication),
            )  # fmt: skip
            .values(computing_since=None, error=str(exc)[:500])
        )
        db.session.commit()
        return None
    store(period, settings, results, time.perf_counter() - started, publication)
    return results


def _run(app, period_id: int, settings: indices.Settings, publication_id=None) -> None:
    with app.app_context():
        try:
            period = db.session.get(SurveyPeriod, period_id)
            publication = publication_id and db.session.get(Publication, publication_id)
            compute_and_store(period, settings, publication or None)
        except Exception:  # a thread has no one to tell: log, release the lock
            log.exception("background results of period %s failed", period_id)
            db.session.rollback()
            db.session.execute(
                sa.update(StoredResult)
                .where(
                    StoredResult.period_id == period_id,
                    StoredResult.settings_hash
                    == _key(
                        settings,
                        publication_id and db.session.get(Publication, publication_id),
                    ),
                )  # fmt: skip
                .values(computing_since=None, error=INTERNAL_ERROR)
            )
            db.session.commit()
        finally:
            db.session.remove()


def refresh(
    period: SurveyPeriod,
    settings: indices.Settings,
    publication: Publication | None = None,
) -> bool:
    """Start computing (period, settings) unless it runs already; True if started.

    In the background (a thread of this process) unless RESULTS_BACKGROUND is off,
    then in the caller.
    """
    if not claim(period, settings, publication):
        return False
    app = current_app._get_current_object()
    if app.config.get("RESULTS_BACKGROUND", True):
        publication_id = publication.id if publication is not None else None
        threading.Thread(
            target=_run, args=(app, period.id, settings, publication_id), daemon=True
        ).start()
    else:
        compute_and_store(period, settings, publication)
    return True


def small(period: SurveyPeriod) -> bool:
    """True if the period is small enough to compute within a page request."""
    limit = current_app.config.get("RESULTS_SYNC_LIMIT", DEFAULT_SYNC_LIMIT)
    count = db.session.scalar(
        sa.select(sa.func.count(SurveyResponse.id)).where(
            SurveyResponse.period_id == period.id
        )
    )
    return count < limit


def for_page(
    period: SurveyPeriod,
    settings: indices.Settings,
    publication: Publication | None = None,
) -> Lookup:
    """What a page shows: stored results, computed now only for a small period.

    A large period never waits: without a stored table a background computation
    starts and the page says so; a stale table is shown as of its time. With a
    publication, the results are computed on the responses it used (its numbers).
    :raise ResultsError: if the settings cannot apply to the data (small periods).
    """
    found = lookup(period, settings, publication)
    if found.state == "current" or found.computing:
        return found
    if small(period):
        started = time.perf_counter()
        results = compute(period, settings, publication)
        store(period, settings, results, time.perf_counter() - started, publication)
        return Lookup("current", results, clock.now())
    if found.state == "computing":  # never computed: start it, the page waits politely
        refresh(period, settings, publication)
        return Lookup("computing", computing=True)
    return found


def refresh_stale(period: SurveyPeriod) -> int:
    """Recompute every stored settings combination of a period that is stale."""
    version = data_version(period)
    rows = list(
        db.session.scalars(sa.select(StoredResult).filter_by(period_id=period.id))
    )
    done = 0
    for row in rows:
        if (row.data_version or "").startswith("publication "):
            continue  # a publication's responses never change
        if row.data_version != version and not _is_computing(row):
            settings = indices.Settings.from_dict(row.settings)
            if claim(period, settings):
                compute_and_store(period, settings)
                done += 1
    return done
