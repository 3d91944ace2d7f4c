"""The public questionnaire form, built from a questionnaire version's definition."""

from dataclasses import dataclass
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

NO_OPINION = "0"
REQUIRED = _l("Vui lòng chọn một câu trả lời.")
ONE_CRITERION = _l("Vui lòng trả lời ít nhất một tiêu chí.")
NOT_A_CHOICE = _l("Câu trả lời không hợp lệ, vui lòng chọn lại.")
TOO_LONG = _l("Tối đa %(max)d ký tự.")  # wtforms fills in %(max)d
SYSTEM_FIELDS = frozenset({"csrf_token", "k"})


class ChoiceField(RadioField):
    """A radio group whose invalid-choice message is ours (translated), not wtforms'."""

    def pre_validate(self, form):
        if self.data is not None and self.data not in {
            choice.value for choice in self.choices
        }:
            raise ValidationError(NOT_A_CHOICE)


class MultiChoiceField(SelectMultipleField):
    """Checkboxes: any number of the listed options."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = {choice.value for choice in self.choices}
        if any(value not in allowed for value in self.data or ()):
            raise ValidationError(NOT_A_CHOICE)


@dataclass(frozen=True)
class Rule:
    """What one field accepts, as its validators check it: for the unbound fast path."""

    code: str
    kind: str  # "scale", "single", "multi" or "text"
    allowed: frozenset[str] = frozenset()
    required: bool = False
    max_length: int = 0


class ResponseForm(FlaskForm):
    """Base of every questionnaire form: the signed one-time submission key."""

    k = HiddenField(validators=[InputRequired()])
    # Filled by response_form_class: field name -> questionnaire code, per kind, and the
    # rule of every field. Where the version has no "no opinion" answer, criteria may be
    # left blank, but not all of them (`criteria` names them).
    scale_items: dict[str, str] = {}
    other_items: dict[str, str] = {}
    rules: dict[str, Rule] = {}
    criteria: tuple[str, ...] = ()
    criteria_required: bool = True

    @staticmethod
    def field_name(code: str) -> str:
        return "q_" + code.replace(".", "_").replace("-", "_")

    @classmethod
    def unknown_keys(cls, formdata) -> set[str]:
        """Names posted that are not questions of this form (a forged or stale form)."""
        return set(formdata) - set(cls.rules) - SYSTEM_FIELDS

    @classmethod
    def parse(cls, formdata) -> tuple[dict[str, int], str | None, dict] | None:
        """Return the answers of a clean, valid submission without binding the form.

        Binding 35 fields costs more than the rest of a submission; most submissions are
        valid, so they take this path. It accepts only input that the bound form would
        accept with the same answers (a test checks this); anything else returns None, and
        the caller binds and validates the form, whose messages say what to correct.
        """
        if not formdata.get("k"):
            return None
        scale: dict[str, int] = {}
        other: dict = {}
        for name, rule in cls.rules.items():
            values = formdata.getlist(name)
            if rule.kind == "multi":
                if not set(values) <= rule.allowed:
                    return None
                if values:
                    other[rule.code] = values
                continue
            if len(values) > 1:
                return None
            value = values[0] if values else ""
            if rule.kind == "text":
                if len(value) > rule.max_length or (value and not value.strip()):
                    return None
                if value:
                    other[rule.code] = value
            elif value in rule.allowed:
                if rule.kind == "scale":
                    scale[rule.code] = int(value)
                else:
                    other[rule.code] = value
            elif value or rule.required:
                return None
        if not cls.criteria_required and not any(
            cls.rules[name].code in scale for name in cls.criteria
        ):
            return None
        return scale, other.pop("field", None), other

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.criteria_required or not self.criteria:
            return valid
        if not any(self[name].data for name in self.criteria):
            self[self.criteria[0]].errors.append(ONE_CRITERION)
            return False
        return valid

    def answers(self) -> tuple[dict[str, int], str | None, dict]:
        """Return (scale answers as ints, the procedure field, other answers)."""
        scale = {
            code: int(self[name].data)
            for name, code in self.scale_items.items()
            if self[name].data
        }
        other = {
            code: self[name].data
            for name, code in self.other_items.items()
            if self[name].data not in (None, "", [])
        }
        return scale, other.pop("field", None), other


def scale_choices(scale, no_opinion: str | None) -> list[SelectChoice]:
    choices = [SelectChoice(option.code, option.label) for option in scale]
    return choices + ([SelectChoice(NO_OPINION, no_opinion)] if no_opinion else [])


@lru_cache(maxsize=32)
def response_form_class(
    definition, without: frozenset[str] = frozenset()
) -> type[ResponseForm]:
    """Return a form class for a questionnaire definition (cached: definitions are immutable).

    Questions whose codes are in ``without`` are not asked (e.g. the field of a sampled
    dossier, which the register already knows).
    """
    fields: dict = {}
    scale_items, other_items, rules = {}, {}, {}
    criterion_choices = scale_choices(definition.scale, definition.no_opinion)
    answer_all = definition.criteria_required
    for criterion in definition.criteria:
        name = ResponseForm.field_name(criterion.code)
        fields[name] = ChoiceField(
            criterion.text,
            choices=criterion_choices,
            validators=[InputRequired(REQUIRED) if answer_all else Optional()],
        )
        scale_items[name] = criterion.code
        rules[name] = Rule(
            criterion.code, "scale", _values(criterion_choices), required=answer_all
        )
    for question in definition.questions:
        if question.code in without:
            continue
        name = ResponseForm.field_name(question.code)
        required = [InputRequired(REQUIRED)] if question.required else [Optional()]
        if question.on_scale:
            fields[name] = ChoiceField(
                question.label,
                choices=scale_choices(definition.scale, None),
                validators=required,
            )
            scale_items[name] = question.code
            rules[name] = Rule(
                question.code,
                "scale",
                _values(scale_choices(definition.scale, None)),
                required=question.required,
            )
            continue
        choices = [
            SelectChoice(option.code, option.label) for option in question.options
        ]
        if question.kind == "single":
            fields[name] = ChoiceField(
                question.label, choices=choices, validators=required
            )
        elif question.kind == "multi":
            fields[name] = MultiChoiceField(
                question.label, choices=choices, validators=[Optional()]
            )
        else:
            limit = question.max_length
            fields[name] = TextAreaField(
                question.label,
                validators=[
                    Optional(),
                    Length(max=limit, message=TOO_LONG),
                ],
            )
        other_items[name] = question.code
        rules[name] = Rule(
            question.code,
            question.kind,
            _values(choices),
            required=question.required and question.kind == "single",
            max_length=question.max_length,
        )
    fields |= {
        "scale_items": scale_items,
        "other_items": other_items,
        "rules": rules,
        "criteria": tuple(ResponseForm.field_name(c.code) for c in definition.criteria),
        "criteria_required": answer_all,
    }
    return type("QuestionnaireForm", (ResponseForm,), fields)


def _values(choices: list[SelectChoice]) -> frozenset[str]:
    return frozenset(choice.value for choice in choices)
