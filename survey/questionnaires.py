"""Questionnaire versions as data: parse and validate the TOML files of questionnaires/."""

import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

AGGREGATIONS = ("criteria_then_elements", "items")
QUESTION_KINDS = ("single", "multi", "text")


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Option:
    code: str
    label: str


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str


@dataclass(frozen=True)
class Element:
    code: str
    title: str
    criteria: tuple[Criterion, ...]


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


@dataclass(frozen=True)
class Questionnaire:
    code: str
    title: str
    method: str
    aggregation: str
    scale: tuple[Option, ...]
    no_opinion: str | None
    elements: tuple[Element, ...]
    questions: tuple[Question, ...] = field(default=())

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for e in self.elements for c in e.criteria)

    @property
    def scale_items(self) -> tuple[str, ...]:
        """Codes answered on the 1–5 scale, in stored order: the criteria, then scale questions."""
        return tuple(c.code for c in self.criteria) + tuple(
            q.code for q in self.questions if q.on_scale
        )

    def encode_answers(self, scale: dict[str, int]) -> str:
        """Return the stored form of scale answers: one digit per item, in item order."""
        return "".join(str(scale[code]) for code in self.scale_items)

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

    :raise QuestionnaireError: naming the source and the first problem found.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{source}: not valid TOML: {exc}") from None
    try:
        return _build(data)
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise QuestionnaireError(f"{source}: {reason}") from None


def load_file(path: Path) -> tuple[Questionnaire, str]:
    """Return the parsed questionnaire of a file and its text."""
    text = path.read_text(encoding="utf-8")
    return parse_questionnaire(text, str(path)), text


def _options(raw: list, where: str) -> tuple[Option, ...]:
    options = tuple(Option(str(o["code"]), str(o["label"])) for o in raw)
    _unique([o.code for o in options], f"option codes of {where}")
    return options


def _unique(codes: list[str], what: str) -> None:
    seen = set()
    for code in codes:
        if code in seen:
            raise ValueError(f"duplicate code {code!r} in {what}")
        seen.add(code)


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
            tuple(Criterion(str(c["code"]), str(c["text"])) for c in e["criteria"]),
        )
        for e in data["elements"]
    )
    if not elements or any(not e.criteria for e in elements):
        raise ValueError("every questionnaire needs elements, each with criteria")
    questions = []
    for raw in data.get("questions", []):
        kind = raw["kind"]
        if kind not in QUESTION_KINDS:
            raise ValueError(
                f"question {raw['code']!r}: kind must be one of {QUESTION_KINDS}"
            )
        on_scale = bool(raw.get("scale", False))
        options = _options(raw.get("options", []), f"question {raw['code']!r}")
        if kind != "text" and not on_scale and not options:
            raise ValueError(f"question {raw['code']!r} needs options or scale = true")
        questions.append(
            Question(
                code=str(raw["code"]),
                kind=kind,
                label=str(raw["label"]),
                required=bool(raw.get("required", False)),
                options=options,
                on_scale=on_scale,
                max_length=int(raw.get("max_length", 1000)),
                section=str(raw.get("section", "assessment")),
            )
        )
    codes = [e.code for e in elements] + [c.code for e in elements for c in e.criteria]
    _unique(codes + [q.code for q in questions], "elements, criteria and questions")
    if any(len(code) > 16 for code in codes):
        raise ValueError("codes are at most 16 characters")
    return Questionnaire(
        code=str(data["code"]),
        title=str(data["title"]),
        method=str(data.get("method", "")),
        aggregation=data["aggregation"],
        scale=scale,
        no_opinion=data.get("no_opinion"),
        elements=elements,
        questions=tuple(questions),
    )
