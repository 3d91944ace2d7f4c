"""The index structure of a questionnaire version: criteria, elements, aggregation.

Questionnaires are versioned data files (``questionnaires/<code>.toml``); only the
parts that the index formulas need are read here. The aggregation rule belongs to the
questionnaire version because the methods differ (SIPAS.md, "The index formulas"):

``criteria_then_elements``
    element index = mean of its criterion indices; overall = mean of the element
    indices (2640/QĐ-BNV).
``items``
    element index = mean of its criterion indices; overall = mean of all criterion
    indices (the reading of 1001/QĐ-BNV that reproduces the published national value).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

#: Versioned questionnaire files: ``questionnaires/`` at the repository root.
QUESTIONNAIRE_DIR = Path(__file__).resolve().parent.parent / "questionnaires"
AGGREGATIONS = ("criteria_then_elements", "items")


class QuestionnaireError(ValueError):
    """A questionnaire file is missing or does not describe a valid index."""


@dataclass(frozen=True)
class Structure:
    """Criteria, elements and aggregation rule of one questionnaire version.

    Parameters
    ----------
    code : str
        Questionnaire version, e.g. ``"sipas-2640"``.
    elements : dict of str to list of str
        Element code to its criterion codes, in questionnaire order,
        e.g. ``{"E1": ["1.1", "1.2", "1.3", "1.4"], ...}``.
    aggregation : {"criteria_then_elements", "items"}
        How criterion indices combine into the overall index.
    satisfied : tuple of int
        Answer codes counted as satisfied.
    scale : tuple of int
        Valid answer codes.
    """

    code: str
    elements: dict[str, list[str]]
    aggregation: str = "criteria_then_elements"
    satisfied: tuple[int, ...] = (4, 5)
    scale: tuple[int, ...] = (1, 2, 3, 4, 5)
    titles: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise QuestionnaireError(
                f"unknown aggregation {self.aggregation!r}; "
                f"expected one of {', '.join(AGGREGATIONS)}"
            )
        if not self.elements or any(not c for c in self.elements.values()):
            raise QuestionnaireError(f"{self.code}: every element needs criteria")
        codes = self.criteria
        if len(set(codes)) != len(codes):
            raise QuestionnaireError(f"{self.code}: a criterion code is repeated")
        if not set(self.satisfied) <= set(self.scale):
            raise QuestionnaireError(f"{self.code}: satisfied codes outside the scale")

    @property
    def criteria(self) -> list[str]:
        """All criterion codes in questionnaire order."""
        return [code for codes in self.elements.values() for code in codes]


def load_structure(name_or_path: str | Path = "sipas-2640") -> Structure:
    """Read the index structure of a questionnaire version.

    Parameters
    ----------
    name_or_path : str or Path
        A questionnaire code (looked up as ``questionnaires/<code>.toml`` at the
        repository root) or the path of a TOML file.

    Returns
    -------
    Structure

    Raises
    ------
    QuestionnaireError
        If the file does not exist or lacks elements and criteria.
    """
    path = Path(name_or_path)
    if not path.is_file():
        path = QUESTIONNAIRE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise QuestionnaireError(f"questionnaire not found: {name_or_path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{path}: {exc}") from exc
    try:
        elements = {
            element["code"]: [criterion["code"] for criterion in element["criteria"]]
            for element in data["elements"]
        }
        titles = {
            element["code"]: element.get("title", "") for element in data["elements"]
        }
    except (KeyError, TypeError) as exc:
        raise QuestionnaireError(f"{path}: elements need a code and criteria") from exc
    scale = tuple(sorted(int(code) for code in data.get("scale", {}))) or (
        1,
        2,
        3,
        4,
        5,
    )
    return Structure(
        code=data.get("code", path.stem),
        elements=elements,
        aggregation=data.get("aggregation", "criteria_then_elements"),
        satisfied=tuple(data.get("satisfied", (4, 5))),
        scale=scale,
        titles=titles,
    )
