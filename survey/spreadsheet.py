"""Cells that a spreadsheet program will never run as formulas (OWASP CSV injection).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel and LibreOffice as a formula (a unit named ``=HYPERLINK(...)`` would
become a live link in every download); such a cell gets a leading apostrophe, which
spreadsheet programs read as "this is text". Numbers are left alone: a negative
number stays a number. Control characters that XLSX cannot hold (a NUL stored before
the input boundary existed) are dropped, so one old answer cannot break a download.
"""

import re
from collections.abc import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value):
    """Return a text value that starts like a formula with an apostrophe in front."""
    if not isinstance(value, str):
        return value
    value = UNWRITABLE.sub("", value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralise_row(row: Iterable) -> list:
    """Return a row of cells with every formula-like text neutralised."""
    return [neutralise(value) for value in row]
