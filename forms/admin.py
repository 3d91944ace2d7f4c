"""Forms of the workspace. Views fill choices; services check uniqueness and rules."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

REQUIRED = "Bắt buộc."


def choices(pairs) -> list[SelectChoice]:
    """Options of a select or checkbox field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(FlaskForm):
    username = StringField(
        "Tên đăng nhập", validators=[InputRequired(REQUIRED), Length(max=80)]
    )
    password = PasswordField(
        "Mật khẩu", validators=[InputRequired(REQUIRED), Length(max=200)]
    )


class UnitForm(FlaskForm):
    code = StringField(
        "Mã đơn vị", validators=[InputRequired(REQUIRED), Length(max=32)]
    )
    name = StringField(
        "Tên đơn vị", validators=[InputRequired(REQUIRED), Length(max=200)]
    )
    level = SelectField("Cấp", validators=[InputRequired(REQUIRED)])
    parent_id = SelectField("Đơn vị cấp trên", coerce=int, validators=[Optional()])


class CounterForm(FlaskForm):
    name = StringField(
        "Tên quầy", validators=[InputRequired(REQUIRED), Length(max=120)]
    )


class CsvUploadForm(FlaskForm):
    file = FileField(
        "Tệp CSV (UTF-8)",
        validators=[
            FileRequired("Chọn một tệp."),
            FileAllowed(["csv"], "Chỉ nhận tệp .csv."),
        ],
    )


class RestructureForm(FlaskForm):
    """Merge units into a new one, or split one into several new ones, on a date."""

    kind = SelectField(
        "Kiểu sắp xếp", choices=choices([("merge", "Hợp nhất"), ("split", "Chia tách")])
    )
    old_codes = StringField(
        "Mã đơn vị cũ (cách nhau bởi dấu phẩy)",
        validators=[InputRequired(REQUIRED), Length(max=500)],
    )
    new_units = TextAreaField(
        "Đơn vị mới: mỗi dòng `mã,tên,cấp`",
        validators=[InputRequired(REQUIRED), Length(max=5000)],
    )
    effective_on = DateField(
        "Có hiệu lực từ ngày", validators=[InputRequired(REQUIRED)]
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PeriodForm(FlaskForm):
    name = StringField("Tên đợt", validators=[InputRequired(REQUIRED), Length(max=120)])
    starts_on = DateField("Từ ngày", validators=[InputRequired(REQUIRED)])
    ends_on = DateField("Đến ngày", validators=[InputRequired(REQUIRED)])
    questionnaire_id = SelectField("Bộ câu hỏi", coerce=int)
    channels = MultiCheckboxField(
        "Kênh thu thập",
        choices=choices(
            [
                ("counter", "Mã QR tại quầy (tự nguyện)"),
                ("sample", "Phiếu mời theo mẫu ngẫu nhiên"),
            ]
        ),
        validators=[InputRequired("Chọn ít nhất một kênh.")],
    )


class PlanForm(FlaskForm):
    moe = IntegerField(
        "Sai số mong muốn (± điểm %)",
        default=5,
        validators=[InputRequired(REQUIRED), NumberRange(1, 30)],
    )
    deff = StringField(
        "Hiệu ứng thiết kế dự kiến",
        default="1.5",
        validators=[InputRequired(REQUIRED), Length(max=10)],
    )


class ReasonForm(FlaskForm):
    reason = StringField(
        "Lý do", validators=[InputRequired("Phải ghi lý do."), Length(3, 300)]
    )


class ResultsForm(FlaskForm):
    """The method settings of a computation of results."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    weighting = SelectField(
        "Trọng số",
        choices=choices(
            [
                ("none", "Không trọng số"),
                ("volume", "Theo số hồ sơ đã trả (sổ theo dõi)"),
                ("rake", "Hiệu chỉnh theo biên (raking)"),
            ]
        ),
        default="none",
    )
    ci = SelectField(
        "Khoảng tin cậy",
        choices=choices(
            [
                ("korn-graubard", "Korn–Graubard"),
                ("beta", "Beta (Clopper–Pearson)"),
                ("logit", "Logit"),
                ("wilson", "Wilson"),
            ]
        ),
        default="korn-graubard",
    )
    level = SelectField(
        "Độ tin cậy",
        choices=choices([("0.95", "95%"), ("0.9", "90%"), ("0.99", "99%")]),
        default="0.95",
    )
    trim = StringField(
        "Cắt trọng số (bội số trung bình, bỏ trống = không cắt)",
        validators=[Optional(), Length(max=10)],
    )
