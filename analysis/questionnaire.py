"""Questionnaire versions as data: the one parser and definition of the code base.

A version is a TOML file ``questionnaires/<code>.toml``: the scale, the criteria
(items) grouped in elements (the method's blocks), optionally elements grouped in
areas (the method's two fields of 1001/QĐ-BNV: policy and public administrative
services), the questions beside the criteria, the answer codes that count as
satisfied and the aggregation rule. A criterion may carry ``text_en``, an element or
area ``title_en``, a question and an option ``label_en``: an English rendering for the
English survey (the Vietnamese wording stays the official one, and is shown where no
rendering is given). A version whose file is frozen (it has responses, and its content
hash is stored) gets its English from a file beside it, ``questionnaires/<code>.en.toml``
(see :func:`with_english`), which is read at load time and is not part of the hash.
The web application, the command line and the estimators all read a version through
:func:`parse_questionnaire`, so they cannot disagree about it; the estimators use its index part,
:attr:`Questionnaire.structure`.

The aggregation rule belongs to the version because the methods differ (SIPAS.md,
"The index formulas"):

``criteria_then_elements``
    element index = mean of its criterion indices; an area and the overall index =
    mean of their element indices (2640/QĐ-BNV).
``items``
    every composite (element, area, overall) = mean of the indices of all the items
    beneath it (the reading of 1001/QĐ-BNV that reproduces the published national
    value: 39 items weighted 23:16, not the mean of the two fields).

Only composites whose parts have answers in a domain average them (a criterion that
nobody answered in a unit drops out of that unit's means).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from .columns import OVERALL

#: Versioned questionnaire files: ``questionnaires/`` at the repository root.
QUESTIONNAIRE_DIR = Path(__file__).resolve().parent.parent / "questionnaires"
AGGREGATIONS = ("criteria_then_elements", "items")
QUESTION_KINDS = ("single", "multi", "text")
#: Where a question appears on the form: after the criteria, as an improvement
#: priority, or in the (optional) respondent profile.
SECTIONS = ("assessment", "priorities", "profile")
#: Longest code of an element, area, criterion or question (a stored column name).
MAX_CODE = 16


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Structure:
    """The index part of a questionnaire version: what the estimators need.

    Parameters
    ----------
    code : str
        Questionnaire version, e.g. ``"sipas-2640"``.
    elements : dict of str to list of str
        Element code to its criterion codes, in questionnaire order,
        e.g. ``{"E1": ["1.1", "1.2", "1.3", "1.4"], ...}``.
    aggregation : {"criteria_then_elements", "items"}
        How criterion indices combine into the composites.
    satisfied : tuple of int
        Answer codes counted as satisfied.
    scale : tuple of int
        Valid answer codes.
    titles : dict of str to str
        Titles of elements and areas.
    areas : dict of str to list of str
        Area code to its element codes (empty: no area level). Areas partition the
        elements.

    Notes
    -----
    Indicators come in the order overall (``"SIPAS"``), areas, elements, criteria.
    """

    code: str
    elements: dict[str, list[str]]
    aggregation: str = "criteria_then_elements"
    satisfied: tuple[int, ...] = (4, 5)
    scale: tuple[int, ...] = (1, 2, 3, 4, 5)
    titles: dict[str, str] = field(default_factory=dict, compare=False)
    areas: dict[str, list[str]] = field(default_factory=dict)

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
        if not set(self.satisfied) <= set(self.scale) or not self.satisfied:
            raise QuestionnaireError(
                f"{self.code}: satisfied codes must be codes of the scale"
            )
        if self.areas:
            listed = [e for elements in self.areas.values() for e in elements]
            if sorted(listed) != sorted(self.elements):
                raise QuestionnaireError(
                    f"{self.code}: areas must hold every element exactly once"
                )

    @property
    def criteria(self) -> list[str]:
        """All criterion codes in questionnaire order."""
        return [code for codes in self.elements.values() for code in codes]

    @property
    def composites(self) -> list[str]:
        """Composite indicator codes: overall, areas, elements."""
        return [OVERALL, *self.areas, *self.elements]


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    label_en: str = ""


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str
    # Optional English rendering (``text_en`` in the file) for the English survey;
    # the Vietnamese wording stays the official one.
    text_en: str = ""


@dataclass(frozen=True)
class Element:
    code: str
    title: str
    criteria: tuple[Criterion, ...]
    title_en: str = ""


@dataclass(frozen=True)
class Area:
    code: str
    title: str
    elements: tuple[str, ...]
    title_en: str = ""


@dataclass(frozen=True)
class Question:
    code: str
    kind: str
    label: str
    required: bool = False
    options: tuple[Option, ...] = ()
    on_scale: bool = False
    max_length: int = 1000
    section: str = "assessment"
    label_en: str = ""

    def option_en(self, code: str) -> str:
        """The English label of an option ("" where the file gives none)."""
        return next((o.label_en for o in self.options if o.code == code), "")


@dataclass(frozen=True)
class Questionnaire:
    """A questionnaire version: what the form asks and how the indices are formed.

    ``no_opinion`` is the label of the "no opinion" answer, or None where the method
    has none (1001/QĐ-BNV): there, criteria may be left unanswered instead. Either
    way an unanswered or "no opinion" criterion is stored as 0 and is out of every
    denominator. ``source`` says where the wording comes from, ``confirmed`` whether
    it was checked against the decision.
    """

    code: str
    title: str
    method: str
    aggregation: str
    scale: tuple[Option, ...]
    no_opinion: str | None
    elements: tuple[Element, ...]
    questions: tuple[Question, ...] = ()
    areas: tuple[Area, ...] = ()
    satisfied: tuple[int, ...] = (4, 5)
    source: str = ""
    confirmed: bool = True
    no_opinion_en: str = ""
    title_en: str = ""

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for e in self.elements for c in e.criteria)

    @property
    def criteria_required(self) -> bool:
        """Whether every criterion needs an answer (it has a "no opinion" choice)."""
        return self.no_opinion is not None

    @property
    def scale_items(self) -> tuple[str, ...]:
        """Codes answered on the scale, in stored order: the criteria, then scale questions."""
        return tuple(c.code for c in self.criteria) + tuple(
            q.code for q in self.questions if q.on_scale
        )

    @cached_property
    def structure(self) -> Structure:
        """The index part, for the estimators."""
        return Structure(
            code=self.code,
            elements={e.code: [c.code for c in e.criteria] for e in self.elements},
            aggregation=self.aggregation,
            satisfied=self.satisfied,
            scale=tuple(int(o.code) for o in self.scale),
            titles={e.code: e.title for e in self.elements}
            | {a.code: a.title for a in self.areas},
            areas={a.code: list(a.elements) for a in self.areas},
        )

    def title_of(self, code: str) -> str:
        """Wording of a criterion, or title of an element or area ("" if unknown)."""
        for criterion in self.criteria:
            if criterion.code == code:
                return criterion.text
        return self.structure.titles.get(code, "")

    def title_en_of(self, code: str) -> str:
        """English rendering of a criterion, element or area ("" if none is given)."""
        for criterion in self.criteria:
            if criterion.code == code:
                return criterion.text_en
        for part in (*self.elements, *self.areas):
            if part.code == code:
                return part.title_en
        return ""

    def area_opening(self, element: str) -> Area | None:
        """The area whose first element this is (where a form shows its title)."""
        return next((a for a in self.areas if a.elements[0] == element), None)

    def encode_answers(self, scale: dict[str, int]) -> str:
        """Return the stored form of scale answers: one digit per item, in item order.

        Items left out (unanswered) are stored as 0.
        """
        return "".join(str(scale.get(code, 0)) for code in self.scale_items)

    def decode_answers(self, stored: str) -> dict[str, int]:
        return {
            code: int(digit)
            for code, digit in zip(self.scale_items, stored, strict=True)
        }

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=32)
def parse_questionnaire(text: str, source: str = "<text>") -> Questionnaire:
    """Parse and validate a questionnaire's TOML text.

    Raises
    ------
    QuestionnaireError
        Naming the source and the first problem found.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{source}: not valid TOML: {exc}") from None
    try:
        questionnaire = _build(data)
        questionnaire.structure  # noqa: B018 (validates the index part)
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise QuestionnaireError(f"{source}: {reason}") from None
    return questionnaire


def load_file(path: Path) -> tuple[Questionnaire, str]:
    """Return the parsed questionnaire of a file, with its English, and its text.

    The text is the file alone (what the content hash covers); the English file
    beside it (:func:`english_path`) only adds renderings.
    """
    text = path.read_text(encoding="utf-8")
    definition = parse_questionnaire(text, str(path))
    return with_english(definition, english_path(path.parent, definition.code)), text


def english_path(folder: Path, code: str) -> Path:
    """Where the English rendering of a version lives: ``<folder>/<code>.en.toml``."""
    return Path(folder) / f"{code}.en.toml"


def is_english_file(path: Path) -> bool:
    """Whether a file is an English rendering (not a questionnaire version)."""
    return path.name.endswith(".en.toml")


def with_english(definition: Questionnaire, path: Path | None) -> Questionnaire:
    """Return the definition with the English renderings of a file beside it, if any.

    The file holds only wording, keyed by code (every key optional)::

        title = "..."
        no_opinion = "..."     # where the version has that answer
        [scale]            # "1" = "Very dissatisfied", ...
        [elements]         # "E1" = "Access to public administrative services"
        [areas]            # area code = title
        [criteria]         # "1.1" = "..."
        [questions.<code>]
        label = "..."
        options = { <option code> = "..." }

    A code that the version does not have is an error (a misspelt key would leave
    Vietnamese on the English page without a word). Renderings in the version's own
    file (``text_en``, ``title_en``, ``label_en``) are kept where this file is silent.

    Raises
    ------
    QuestionnaireError
        If the file is not valid TOML or names a code the version does not have.
    """
    if path is None or not Path(path).is_file():
        return definition
    return _merge_english(definition, Path(path).read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=32)
def _merge_english(definition: Questionnaire, text: str, source: str) -> Questionnaire:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{source}: not valid TOML: {exc}") from None

    def table(name: str, known) -> dict:
        found = data.get(name, {})
        unknown = sorted(set(found) - set(known))
        if unknown:
            raise QuestionnaireError(
                f"{source}: unknown {name} code(s): {', '.join(map(str, unknown))}"
            )
        return found

    scale = table("scale", [o.code for o in definition.scale])
    elements = table("elements", [e.code for e in definition.elements])
    areas = table("areas", [a.code for a in definition.areas])
    criteria = table("criteria", [c.code for c in definition.criteria])
    questions = table("questions", [q.code for q in definition.questions])

    def option(o: Option, labels: dict) -> Option:
        return replace(o, label_en=str(labels.get(o.code, o.label_en)))

    def question(q: Question) -> Question:
        raw = questions.get(q.code, {})
        labels = raw.get("options", {})
        unknown = sorted(set(labels) - {o.code for o in q.options})
        if unknown:
            raise QuestionnaireError(
                f"{source}: question {q.code!r} has no option(s) {', '.join(unknown)}"
            )
        return replace(
            q,
            label_en=str(raw.get("label", q.label_en)),
            options=tuple(option(o, labels) for o in q.options),
        )

    return replace(
        definition,
        scale=tuple(option(o, scale) for o in definition.scale),
        no_opinion_en=str(data.get("no_opinion", definition.no_opinion_en)),
        title_en=str(data.get("title", definition.title_en)),
        elements=tuple(
            replace(
                e,
                title_en=str(elements.get(e.code, e.title_en)),
                criteria=tuple(
                    replace(c, text_en=str(criteria.get(c.code, c.text_en)))
                    for c in e.criteria
                ),
            )
            for e in definition.elements
        ),
        areas=tuple(
            replace(a, title_en=str(areas.get(a.code, a.title_en)))
            for a in definition.areas
        ),
        questions=tuple(question(q) for q in definition.questions),
    )


def load_questionnaire(name_or_path: str | Path = "sipas-2640") -> Questionnaire:
    """Read a questionnaire version by code or path.

    Parameters
    ----------
    name_or_path : str or Path
        A questionnaire code (looked up as ``questionnaires/<code>.toml`` at the
        repository root) or the path of a TOML file.

    Raises
    ------
    QuestionnaireError
        If the file does not exist or is not a valid questionnaire.
    """
    path = Path(name_or_path)
    if not path.is_file():
        path = QUESTIONNAIRE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise QuestionnaireError(f"questionnaire not found: {name_or_path}")
    return load_file(path)[0]


def load_structure(name_or_path: str | Path = "sipas-2640") -> Structure:
    """The index structure of a questionnaire version (see :func:`load_questionnaire`)."""
    return load_questionnaire(name_or_path).structure


def _options(raw: list, where: str) -> tuple[Option, ...]:
    options = tuple(
        Option(str(o["code"]), str(o["label"]), str(o.get("label_en", ""))) for o in raw
    )
    _unique([o.code for o in options], f"option codes of {where}")
    return options


def _unique(codes: list[str], what: str) -> None:
    seen = set()
    for code in codes:
        if code in seen:
            raise ValueError(f"duplicate code {code!r} in {what}")
        seen.add(code)


def _question(raw: dict) -> Question:
    kind = raw["kind"]
    if kind not in QUESTION_KINDS:
        raise ValueError(
            f"question {raw['code']!r}: kind must be one of {QUESTION_KINDS}"
        )
    section = str(raw.get("section", "assessment"))
    if section not in SECTIONS:
        raise ValueError(f"question {raw['code']!r}: section must be one of {SECTIONS}")
    on_scale = bool(raw.get("scale", False))
    options = _options(raw.get("options", []), f"question {raw['code']!r}")
    if kind != "text" and not on_scale and not options:
        raise ValueError(f"question {raw['code']!r} needs options or scale = true")
    return Question(
        code=str(raw["code"]),
        kind=kind,
        label=str(raw["label"]),
        required=bool(raw.get("required", False)),
        options=options,
        on_scale=on_scale,
        max_length=int(raw.get("max_length", 1000)),
        section=section,
        label_en=str(raw.get("label_en", "")),
    )


def _build(data: dict) -> Questionnaire:
    if data["aggregation"] not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}")
    scale = tuple(Option(str(k), str(v)) for k, v in data["scale"].items())
    if [o.code for o in scale] != ["1", "2", "3", "4", "5"]:
        raise ValueError("scale must list the answers 1 to 5 in order")
    elements = tuple(
        Element(
            str(e["code"]),
            str(e["title"]),
            tuple(
                Criterion(str(c["code"]), str(c["text"]), str(c.get("text_en", "")))
                for c in e["criteria"]
            ),
            str(e.get("title_en", "")),
        )
        for e in data["elements"]
    )
    if not elements or any(not e.criteria for e in elements):
        raise ValueError("every questionnaire needs elements, each with criteria")
    areas = tuple(
        Area(
            str(a["code"]),
            str(a["title"]),
            tuple(map(str, a["elements"])),
            str(a.get("title_en", "")),
        )
        for a in data.get("areas", [])
    )
    questions = tuple(_question(raw) for raw in data.get("questions", []))
    codes = (
        [e.code for e in elements]
        + [a.code for a in areas]
        + [c.code for e in elements for c in e.criteria]
    )
    _unique(codes + [q.code for q in questions], "elements, areas, criteria, questions")
    if any(len(code) > MAX_CODE for code in codes + [q.code for q in questions]):
        raise ValueError(f"codes are at most {MAX_CODE} characters")
    return Questionnaire(
        code=str(data["code"]),
        title=str(data["title"]),
        method=str(data.get("method", "")),
        aggregation=data["aggregation"],
        scale=scale,
        no_opinion=data.get("no_opinion"),
        elements=elements,
        questions=questions,
        areas=areas,
        satisfied=tuple(int(code) for code in data.get("satisfied", (4, 5))),
        source=str(data.get("source", "")),
        confirmed=bool(data.get("confirmed", True)),
        title_en=str(data.get("title_en", "")),
    )
