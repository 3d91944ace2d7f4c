"""Names for the codes a response carries: units, counters, fields, channels, answers.

The workspace shows words, never the ids and slugs the database keeps.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from analysis.questionnaire import Questionnaire as Definition

from ..extensions import db
from ..i18n import in_language
from ..models import Counter, SurveyResponse, Unit

CHANNELS = {"counter": _l("QR tại quầy"), "sample": _l("Mẫu ngẫu nhiên (thư mời)")}


@dataclass
class Names:
    """Names of the units, counters and fields of some responses."""

    units: dict[int, str]
    counters: dict[int, str]
    fields: dict[str, str]

    def unit(self, unit_id: int | None) -> str:
        return "–" if unit_id is None else self.units.get(unit_id, str(unit_id))

    def counter(self, counter_id: int | None) -> str:
        if counter_id is None:
            return "–"
        return self.counters.get(counter_id, str(counter_id))

    def field(self, code: str | None) -> str:
        return "–" if not code else self.fields.get(code, code)

    @staticmethod
    def channel(code: str) -> str:
        return str(CHANNELS.get(code, code))


def field_names(definition: Definition) -> dict[str, str]:
    question = definition.question("field")
    if question is None:
        return {}
    return {o.code: in_language(o.label, o.label_en) for o in question.options}


def names_for(rows: list[SurveyResponse], definition: Definition) -> Names:
    """Read, in two queries, the names a page of responses needs."""
    unit_ids = {r.unit_id for r in rows}
    counter_ids = {r.counter_id for r in rows if r.counter_id is not None}
    units = dict(
        db.session.execute(
            sa.select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))
        ).all()
    )
    counters = dict(
        db.session.execute(
            sa.select(Counter.id, Counter.name).where(Counter.id.in_(counter_ids))
        ).all()
    )
    return Names(units, counters, field_names(definition))


def extra_answers(response: SurveyResponse, definition: Definition) -> list[dict]:
    """The answers besides the scale, as (question, answer in words, is free text)."""
    out = []
    for question in definition.questions:
        if question.on_scale or question.code not in response.extra:
            continue
        value = response.extra[question.code]
        labels = {o.code: in_language(o.label, o.label_en) for o in question.options}
        if isinstance(value, list):
            words = ", ".join(labels.get(v, v) for v in value)
        else:
            words = labels.get(value, value) if labels else value
        out.append(
            {
                "label": in_language(question.label, question.label_en),
                "answer": words,
                "text": not question.options,
            }
        )
    known = {q.code for q in definition.questions}
    for code, value in response.extra.items():  # answers of a question since removed
        if code not in known:
            text = ", ".join(map(str, value)) if isinstance(value, list) else value
            out.append({"label": code, "answer": text, "text": True})
    return out
