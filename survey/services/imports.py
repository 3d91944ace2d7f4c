"""CSV imports: one reader and one report for every table an analyst uploads."""

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..boundary import clean_text
from ..errors import ServiceError


class ImportRejected(ServiceError):
    """A CSV import with bad rows; nothing was stored."""

    status = 422

    def __init__(self, report: "ImportReport"):
        super().__init__(report.summary())
        self.report = report


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.errors:
            lines = [f"row {row}: {reason}" for row, reason in self.errors]
            return f"{len(self.errors)} bad row(s), nothing imported:\n" + "\n".join(
                lines
            )
        return f"{self.created} created, {self.updated} updated"


def read_table(text: str, columns: Sequence[str]) -> Iterator[dict[str, str]]:
    """Read CSV text (a BOM from spreadsheet programs is fine) that has the given columns.

    :raise ImportRejected: naming the missing columns (row 1, the header).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportRejected(
            ImportReport(errors=[(1, f"missing column(s): {', '.join(missing)}")])
        )
    return (clean_cells(row) for row in reader)


def clean_cells(row: dict) -> dict:
    """Pass every cell through the input boundary (NFC, no control characters)."""
    return {
        key: clean_text(value, multiline=False) if isinstance(value, str) else value
        for key, value in row.items()
    }
