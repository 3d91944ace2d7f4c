"""Forms of the workspace. Views fill choices; services check uniqueness and rules."""

from flask_babel import lazy_gettext as _l
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
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

REQUIRED = _l("Bắt buộc.")
# wtforms fills in %(max)d; its own messages have no Vietnamese catalog.
TOO_LONG = _l("Tối đa %(max)d ký tự.")


def choices(pairs) -> list[SelectChoice]:
    """Options of a select or checkbox field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def password_field(label) -> PasswordField:
    return PasswordField(
        label, validators=[InputRequired(REQUIRED), Length(max=200, message=TOO_LONG)]
    )


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[InputRequired(REQUIRED), Length(max=80, message=TOO_LONG)],
    )
    password = password_field(_l("Mật khẩu"))


class PasswordForm(FlaskForm):
    current = password_field(_l("Mật khẩu hiện tại"))
    new = password_field(_l("Mật khẩu mới"))
    confirm = password_field(_l("Nhập lại mật khẩu mới"))


class UnitForm(FlaskForm):
    code = StringField(
        _l("Mã đơn vị"),
        validators=[InputRequired(REQUIRED), Length(max=32, message=TOO_LONG)],
    )
    name = StringField(
        _l("Tên đơn vị"),
        validators=[InputRequired(REQUIRED), Length(max=200, message=TOO_LONG)],
    )
    level = SelectField(_l("Cấp"), validators=[InputRequired(REQUIRED)])
    parent_id = SelectField(_l("Đơn vị cấp trên"), coerce=int, validators=[Optional()])
    opening_hours = StringField(
        _l("Giờ làm việc (bỏ trống = theo đơn vị cấp trên)"),
        validators=[Optional(), Length(max=200, message=TOO_LONG)],
    )


class CounterForm(FlaskForm):
    name = StringField(
        _l("Tên quầy"),
        validators=[InputRequired(REQUIRED), Length(max=120, message=TOO_LONG)],
    )


class TableUploadForm(FlaskForm):
    file = FileField(
        _l("Tệp CSV hoặc XLSX"),
        validators=[
            FileRequired(_l("Chọn một tệp.")),
            FileAllowed(["csv", "txt", "xlsx"], _l("Chỉ nhận tệp .csv hoặc .xlsx.")),
        ],
    )
    encoding = SelectField(
        _l("Bảng mã (tệp CSV)"),
        choices=choices(
            [
                ("", _l("Tự nhận")),
                ("utf-8", "UTF-8"),
                ("cp1258", _l("Windows-1258 (Excel cũ)")),
            ]
        ),
        default="",
        validate_choice=True,
    )


class RestructureForm(FlaskForm):
    """Merge units into a new one, or split one into several new ones, on a date."""

    kind = SelectField(
        _l("Kiểu sắp xếp"),
        choices=choices([("merge", _l("Hợp nhất")), ("split", _l("Chia tách"))]),
    )
    old_codes = StringField(
        _l("Mã đơn vị cũ (cách nhau bởi dấu phẩy)"),
        validators=[InputRequired(REQUIRED), Length(max=500, message=TOO_LONG)],
    )
    new_units = TextAreaField(
        _l("Đơn vị mới: mỗi dòng gồm mã, tên, cấp, cách nhau bởi dấu phẩy"),
        validators=[InputRequired(REQUIRED), Length(max=5000, message=TOO_LONG)],
    )
    effective_on = DateField(
        _l("Có hiệu lực từ ngày"), validators=[InputRequired(REQUIRED)]
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PeriodForm(FlaskForm):
    name = StringField(
        _l("Tên đợt"),
        validators=[InputRequired(REQUIRED), Length(max=120, message=TOO_LONG)],
    )
    starts_on = DateField(_l("Từ ngày"), validators=[InputRequired(REQUIRED)])
    ends_on = DateField(_l("Đến ngày"), validators=[InputRequired(REQUIRED)])
    questionnaire_id = SelectField(_l("Bộ câu hỏi"), coerce=int)
    channels = MultiCheckboxField(
        _l("Kênh thu thập"),
        choices=choices(
            [
                ("counter", _l("Mã QR tại quầy (tự nguyện)")),
                ("sample", _l("Phiếu mời theo mẫu ngẫu nhiên")),
            ]
        ),
        validators=[InputRequired(_l("Chọn ít nhất một kênh."))],
    )


class PlanForm(FlaskForm):
    moe = IntegerField(
        _l("Sai số mong muốn (± điểm %)"),
        default=5,
        validators=[
            InputRequired(REQUIRED),
            NumberRange(1, 30, message=_l("Từ %(min)s đến %(max)s.")),
        ],
    )
    deff = StringField(
        _l("Hiệu ứng thiết kế dự kiến"),
        default="1.5",
        validators=[InputRequired(REQUIRED), Length(max=10, message=TOO_LONG)],
    )


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Lý do"),
        validators=[
            InputRequired(_l("Phải ghi lý do.")),
            Length(3, 300, message=_l("Từ %(min)d đến %(max)d ký tự.")),
        ],
    )


class ResultsForm(FlaskForm):
    """The method settings of a computation of results."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    weighting = SelectField(
        _l("Trọng số"),
        choices=choices(
            [
                ("none", _l("Không trọng số")),
                ("volume", _l("Theo số hồ sơ đã trả (sổ theo dõi)")),
                ("rake", _l("Hiệu chỉnh theo biên (raking)")),
            ]
        ),
        default="none",
    )
    ci = SelectField(
        _l("Khoảng tin cậy"),
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
        _l("Độ tin cậy"),
        choices=choices([("0.95", "95%"), ("0.9", "90%"), ("0.99", "99%")]),
        default="0.95",
    )
    trim = StringField(
        _l("Cắt trọng số (bội số trung bình, bỏ trống = không cắt)"),
        validators=[Optional(), Length(max=10, message=TOO_LONG)],
    )
    # Choices (flag kinds) are filled by the view.
    exclude_flags = MultiCheckboxField(
        _l("Loại thêm phiếu có cờ chưa xem xét thuộc các loại"),
        validators=[Optional()],
    )
    # How a unit's weaknesses are found (services/weaknesses.py)
    reference = SelectField(
        _l("Điểm yếu: so với"),
        choices=choices(
            [("province", _l("Toàn tỉnh")), ("block", _l("Khối cùng loại đơn vị"))]
        ),
        default="province",
    )
    adjustment = SelectField(
        _l("Điều chỉnh đa so sánh"),
        choices=choices(
            [
                ("holm", _l("Holm (xác suất sai ít nhất một kết luận)")),
                ("bh", _l("Benjamini–Hochberg (tỷ lệ kết luận sai)")),
            ]
        ),
        default="holm",
    )
    pool_periods = SelectField(
        _l("Đơn vị nhỏ: gộp số kỳ gần nhất"),
        choices=choices([(str(k), str(k)) for k in range(1, 9)]),
        default="1",
    )
    channel = SelectField(
        _l("Kênh"),
        choices=choices(
            [
                ("auto", _l("Mẫu ngẫu nhiên, cạnh QR tại quầy (mặc định)")),
                ("sample", _l("Chỉ mẫu ngẫu nhiên (phiếu mời)")),
                ("counter", _l("Chỉ QR tại quầy (tự nguyện)")),
                ("both", _l("Cả hai kênh, đặt cạnh nhau")),
            ]
        ),
        default="auto",
    )
    nonresponse = SelectField(
        _l("Điều chỉnh không phản hồi (kênh mẫu)"),
        choices=choices(
            [
                ("stratum", _l("Trong từng tầng đơn vị × lĩnh vực")),
                ("unit", _l("Trong từng đơn vị")),
            ]
        ),
        default="stratum",
    )


class DecimalText(StringField):
    """A number typed the Vietnamese way (1,5) or the English way (1.5)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data in (None, ""):
            self.data = None
            return
        try:
            self.data = float(str(self.data).strip().replace(",", "."))
        except ValueError:
            self.data = None
            raise ValidationError(_l("Nhập một số, ví dụ 1,5.")) from None

    def _value(self):
        if isinstance(self.data, float):
            return f"{self.data:g}"
        return super()._value()


def ranged(kind, label, default, low, high):
    """A required number field that must lie between low and high."""
    return kind(
        label,
        default=default,
        validators=[
            InputRequired(REQUIRED),
            NumberRange(low, high, message=_l("Từ %(min)s đến %(max)s.")),
        ],
    )


class SamplePlanForm(FlaskForm):
    """The planner's inputs of a sampled channel (a GET form: it proposes, saves nothing)."""

    class Meta:
        csrf = False

    design = SelectField(
        _l("Thiết kế mẫu"),
        choices=choices(
            [
                ("srswor", _l("Cỡ mẫu cố định mỗi tầng (sổ hồ sơ đã chốt)")),
                ("poisson", _l("Tỷ lệ rút mỗi tầng, rút dần khi nhập sổ (Poisson)")),
            ]
        ),
        default="srswor",
    )
    moe = ranged(DecimalText, _l("Sai số mong muốn (± điểm %)"), 5.0, 0.5, 30)
    level = SelectField(
        _l("Độ tin cậy"),
        choices=choices([("0.95", "95%"), ("0.9", "90%"), ("0.99", "99%")]),
        default="0.95",
    )
    share = ranged(DecimalText, _l("Tỷ lệ hài lòng dự kiến (%)"), 50.0, 1, 99)
    deff = ranged(
        DecimalText, _l("Hiệu ứng thiết kế (khi kỳ trước chưa đo)"), 1.5, 0.5, 10
    )
    response_rate = ranged(
        DecimalText,
        _l("Tỷ lệ phản hồi dự kiến, % (khi kỳ trước chưa đo)"),
        50.0,
        1,
        100,
    )
    min_per_field = ranged(
        IntegerField, _l("Tối thiểu mỗi lĩnh vực (phiếu)"), 0, 0, 1000
    )
