"""The public questionnaire form, built from a questionnaire version's definition."""

from functools import lru_cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

NO_OPINION = "0"
REQUIRED = _l("Vui lòng chọn một câu trả lời.")
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


class ResponseForm(FlaskForm):
    """Base of every questionnaire form: the signed one-time submission key."""

    k = HiddenField(validators=[InputRequired()])
    # Filled by response_form_class: field name -> questionnaire code, per kind.
    scale_items: dict[str, str] = {}
    other_items: dict[str, str] = {}

    @staticmethod
    def field_name(code: str) -> str:
        return "q_" + code.replace(".", "_").replace("-", "_")

    def unknown_keys(self, formdata) -> set[str]:
        """Names posted that are not questions of this form (a forged or stale form)."""
        return set(formdata) - set(self._fields) - SYSTEM_FIELDS

    def answers(self) -> tuple[dict[str, int], str | None, dict]:
        """Return (scale answers as ints, the procedure field, other answers)."""
        scale = {code: int(self[name].data) for name, code in self.scale_items.items()}
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
def response_form_class(definition) -> type[ResponseForm]:
    """Return a form class for a questionnaire definition (cached: definitions are immutable)."""
    fields: dict = {}
    scale_items, other_items = {}, {}
    criterion_choices = scale_choices(definition.scale, definition.no_opinion)
    for criterion in definition.criteria:
        name = ResponseForm.field_name(criterion.code)
        fields[name] = ChoiceField(
            criterion.text,
            choices=criterion_choices,
            validators=[InputRequired(REQUIRED)],
        )
        scale_items[name] = criterion.code
    for question in definition.questions:
        name = ResponseForm.field_name(question.code)
        required = [InputRequired(REQUIRED)] if question.required else [Optional()]
        if question.on_scale:
            fields[name] = ChoiceField(
                question.label,
                choices=scale_choices(definition.scale, None),
                validators=required,
            )
            scale_items[name] = question.code
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
    fields["scale_items"], fields["other_items"] = scale_items, other_items
    return type("QuestionnaireForm", (ResponseForm,), fields)
