"""File imports: one report for every table an analyst uploads, and a record of each file.

A report lists every problem of every row. The first ``SCREEN_LIMIT`` stay in memory for
the page; all of them go, gzipped, into the refused import's record, so the full report
can be downloaded however long it is.
"""

import csv
import gzip
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import clock
from ..errors import ServiceError
from ..extensions import db
from ..i18n import local_number
from ..models import FileImport
from ..readers import SEPARATORS, Table, TableError, file_digest
from . import audit

SCREEN_LIMIT = 200  # problems shown on a page; the downloadable report has them all
RECENT = 10


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # as a spreadsheet counts it (header = 1); None for the whole file
    column: str | None
    value: str | None
    message: str


@dataclass
class ImportReport:
    """What an import did, or why it was refused; `import_id` names its record."""

    import_id: int | None = None
    filename: str = ""
    encoding: str | None = None
    separator: str | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first SCREEN_LIMIT
    problem_count: int = 0

    @property
    def how_read(self) -> str:
        """Which encoding and separator were used, in words."""
        if self.encoding is None:
            return _("bảng tính XLSX")
        encoding = {
            "utf-8": "UTF-8",
            "utf-8-sig": _("UTF-8 có BOM"),
            "cp1258": "Windows-1258",
        }.get(self.encoding, self.encoding)
        return _(
            "CSV %(encoding)s, phân cách bằng %(separator)s",
            encoding=encoding,
            separator=SEPARATORS.get(self.separator or "", self.separator),
        )

    def summary(self) -> str:
        if self.problem_count:
            lines = [f"{_line(p)}" for p in self.problems]
            more = self.problem_count - len(self.problems)
            if more:
                lines.append(_("… và %(count)s vấn đề nữa.", count=more))
            head = _("%(count)s vấn đề, không nhập dòng nào:", count=self.problem_count)
            return "\n".join([head, *lines])
        return _(
            "%(rows)s dòng (%(how)s): %(created)s mới, %(updated)s cập nhật, "
            "%(unchanged)s không đổi.",
            rows=number(self.rows),
            how=self.how_read,
            created=number(self.created),
            updated=number(self.updated),
            unchanged=number(self.unchanged),
        )


def number(count: int) -> str:
    """A count with the thousands marks of the reader's language: 1.000.000 in Vietnamese."""
    return local_number(f"{count:,}")


def _line(problem: Problem) -> str:
    where = _("dòng %(row)s", row=problem.row) if problem.row else _("tệp")
    if problem.column:
        where += f", {problem.column}"
    return f"{where}: {problem.message}"


class ImportRejected(ServiceError):
    """A file with problems; nothing of it was stored. The report names every problem."""

    status = 422

    def __init__(self, report: ImportReport):
        super().__init__(report.summary())
        self.report = report


def begin(kind: str, filename: str, table: Table, *, by) -> FileImport:
    """Add the record of an import to the caller's transaction."""
    record = FileImport(
        kind=kind,
        status="done",
        filename=filename[:255],
        sha256=table.sha256,
        size=table.size,
        encoding=table.encoding,
        separator=table.separator,
        by_id=by.id if by else None,
    )
    db.session.add(record)
    db.session.flush()
    return record


def finish(record: FileImport, report: ImportReport, action: str, *, by) -> None:
    """Record a successful import's counts in its record and the audit log; commit."""
    record.rows, record.created = report.rows, report.created
    record.updated, record.unchanged = report.updated, report.unchanged
    record.finished_at = clock.now()
    report.import_id, report.filename = record.id, record.filename
    report.encoding, report.separator = record.encoding, record.separator
    counts = ("rows", "created", "updated", "unchanged")
    audit.record(
        action,
        record,
        after={"file": record.filename, "sha256": record.sha256}
        | {name: getattr(report, name) for name in counts},
        by=by,
    )
    db.session.commit()


def reject(
    kind: str,
    filename: str,
    source: Table | BinaryIO,
    problems: Iterable[Problem],
    *,
    rows: int = 0,
    by=None,
) -> ImportRejected:
    """Roll back, record the refused file with every problem, and return the error to raise.

    `problems` may stream from the caller's transaction: it is read before the rollback.
    """
    first, count, blob = _write_report(problems)
    db.session.rollback()
    if isinstance(source, Table):
        sha256, size = source.sha256, source.size
        encoding, separator = source.encoding, source.separator
    else:
        (sha256, size), encoding, separator = file_digest(source), None, None
    record = FileImport(
        kind=kind,
        status="refused",
        filename=filename[:255],
        sha256=sha256,
        size=size,
        encoding=encoding,
        separator=separator,
        rows=rows,
        problems=count,
        problem_report=blob,
        by_id=by.id if by else None,
        finished_at=clock.now(),
    )
    db.session.add(record)
    db.session.commit()
    report = ImportReport(
        import_id=record.id,
        filename=record.filename,
        encoding=encoding,
        separator=separator,
        rows=rows,
        problems=first,
        problem_count=count,
    )
    return ImportRejected(report)


def unreadable(kind: str, filename: str, stream: BinaryIO, exc: TableError, *, by):
    """The refusal of a file that could not be read as a table at all."""
    problem = Problem(exc.row, None, None, str(exc))
    return reject(kind, filename, stream, [problem], by=by)


def _write_report(problems: Iterable[Problem]) -> tuple[list[Problem], int, bytes]:
    """Keep the first problems, count them all and gzip them all as CSV, in flat memory."""
    first, count = [], 0
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb") as packed:
            text = io.TextIOWrapper(packed, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow([_("Dòng"), _("Cột"), _("Giá trị"), _("Vấn đề")])
            for problem in problems:
                if count < SCREEN_LIMIT:
                    first.append(problem)
                count += 1
                writer.writerow(
                    [
                        problem.row or "",
                        problem.column or "",
                        problem.value or "",
                        problem.message,
                    ]
                )
            text.flush()
            text.detach()
        spool.seek(0)
        return first, count, spool.read()


def problem_report(import_id: int) -> Iterator[bytes] | None:
    """The full problem report of a refused import as CSV chunks, or None."""
    blob = db.session.scalar(
        sa.select(FileImport.problem_report).where(FileImport.id == import_id)
    )
    if blob is None:
        return None
    return _chunks(gzip.GzipFile(fileobj=io.BytesIO(blob)))


def _chunks(stream) -> Iterator[bytes]:
    while chunk := stream.read(1 << 16):
        yield chunk


def recent(kind: str, limit: int = RECENT) -> list[FileImport]:
    """The latest imports of a kind, newest first, with who made them."""
    query = (
        sa.select(FileImport)
        .where(FileImport.kind == kind)
        .order_by(FileImport.id.desc())
        .limit(limit)
        .options(sa.orm.joinedload(FileImport.by))
    )
    return list(db.session.scalars(query))
