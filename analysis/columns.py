"""Column names shared by the analysis functions, the CLI and the web application.

A response frame has one row per response: the domain column (``unit`` by default),
optional design columns (``stratum``, ``psu``, ``weight``, ``fpc``) and one column per
criterion, named by the criterion code (``"1.1"`` .. ``"5.4"``), holding the answer
1-5, or 0 or a missing value for "no opinion" (the web form stores 0, the exports
write an empty cell). Other columns are ignored, except that a column that looks like
a criterion code (:data:`CRITERION_LIKE`) but is not a criterion of the questionnaire
is an error: it means the responses belong to another questionnaire version.
"""

import re

UNIT = "unit"
STRATUM = "stratum"
PSU = "psu"
WEIGHT = "weight"
FPC = "fpc"
PARENT = "parent"

#: The stored answer meaning "no opinion" (unless the questionnaire's scale uses 0).
NO_OPINION = 0
#: Column names that look like criterion codes, e.g. ``1.1``, ``5.4``, ``I.A.1`` or
#: ``II.E.3``: a number or a Roman numeral followed by dot-separated parts.
CRITERION_LIKE = re.compile(r"(?:\d+|[IVXLC]+)(?:\.[0-9A-Za-z]+)+")

#: Domain label of the whole population in result tables.
ALL = "ALL"
#: Indicator code of the overall index.
OVERALL = "SIPAS"

OUTPUT_COLUMNS = [
    "unit",
    "indicator",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "n",
    "n_eff",
    "deff",
    "moe",
    "reliable",
    "note",
]


def row_number(position: int) -> int:
    """Row of the response at ``position`` (counted from 0) as a spreadsheet shows it.

    Error messages name rows the way a person reading the CSV or XLSX file in a
    spreadsheet does: the header is row 1, so the first response is row 2.
    """
    return int(position) + 2
