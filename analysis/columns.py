"""Column names shared by the analysis functions, the CLI and the web application.

A response frame has one row per response: the domain column (``unit`` by default),
optional design columns (``stratum``, ``psu``, ``weight``, ``fpc``) and one column per
criterion, named by the criterion code (``"1.1"`` .. ``"5.4"``), holding the answer
1-5 or a missing value for "no opinion". Other columns are ignored.
"""

UNIT = "unit"
STRATUM = "stratum"
PSU = "psu"
WEIGHT = "weight"
FPC = "fpc"
PARENT = "parent"

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
