"""Cells that a spreadsheet program will never run as formulas (OWASP CSV injection).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel and LibreOffice as a formula (a unit named ``=HYPERLINK(...)`` would
become a live link in every download); such a cell gets a leading apostrophe, which
spreadsheet programs read as "this is text". Numbers are left alone: a negative
number stays a number.
"""

from collections.abc import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Return a text value that starts like a formula with an apostrophe in front."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_row(row: Iterable) -> list:
    """Return a row of cells with every formula-like text neutralised."""
    return [neutralise(value) for value in row]
