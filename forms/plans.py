"""Forms of improvement plans: pick criteria, then write each item; remarks."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .admin import REQUIRED, TOO_LONG

NOT_A_PERCENT = _l("Nhập một số từ 0 đến 100, ví dụ 60 hoặc 62,5.")


class CriteriaField(SelectMultipleField):
    """Checkboxes, one per criterion; the view fills the choices."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PickForm(FlaskForm):
    """Step one: the criteria the plan addresses."""

    criteria = CriteriaField(
        _l("Tiêu chí đưa vào kế hoạch"), validators=[InputRequired(REQUIRED)]
    )


def percent(form, field) -> None:
    """Accept 60, 62.5 or 62,5; store a float."""
    text = (field.data or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(NOT_A_PERCENT) from None
    if not 0 <= value <= 100:
        raise ValidationError(NOT_A_PERCENT)
    field.data = text


class ItemForm(Form):
    """One criterion of a plan (a subform: the plan form carries the CSRF token)."""

    criterion = HiddenField(validators=[InputRequired(REQUIRED), Length(max=16)])
    cause = TextAreaField(
        _l("Nguyên nhân"),
        validators=[InputRequired(REQUIRED), Length(max=2000, message=TOO_LONG)],
    )
    actions = TextAreaField(
        _l("Giải pháp, việc làm cụ thể"),
        validators=[InputRequired(REQUIRED), Length(max=2000, message=TOO_LONG)],
    )
    responsible = StringField(
        _l("Người chịu trách nhiệm"),
        validators=[InputRequired(REQUIRED), Length(max=200, message=TOO_LONG)],
    )
    deadline = DateField(
        _l("Thời hạn"), validators=[InputRequired(REQUIRED)], format="%Y-%m-%d"
    )
    target = StringField(
        _l("Mục tiêu kỳ sau (%)"),
        validators=[InputRequired(REQUIRED), Length(max=8), percent],
    )


class PlanForm(FlaskForm):
    """Step two: causes, actions, who, by when and the target of every criterion."""

    items = FieldList(FormField(ItemForm), min_entries=0, max_entries=60)


class RemarkForm(FlaskForm):
    """A remark on a plan; to return a plan it is the reason."""

    text = TextAreaField(
        _l("Nhận xét"),
        validators=[InputRequired(REQUIRED), Length(max=2000, message=TOO_LONG)],
    )
