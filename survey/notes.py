"""Reliability notes in the reader's language.

``analysis`` writes its notes in plain English ("effective n 29.8 < 30"), since it
knows nothing of Flask; publications keep them as written. Pages show them through the
``reliability_note`` filter, one translatable message per kind of note.
"""

import re

from flask_babel import gettext as _

from .i18n import local_number


def _number(text: str) -> str:
    return local_number(text)


def _one(note: str) -> str:
    fixed = {
        "no answers": lambda: _("không có câu trả lời"),
        "SE is zero: one PSU": lambda: _("sai số chuẩn bằng 0: chỉ có một cụm"),
        "SE is zero: all answers alike": lambda: _(
            "sai số chuẩn bằng 0: mọi câu trả lời như nhau"
        ),
        "SE is zero: PSUs alike": lambda: _("sai số chuẩn bằng 0: các cụm như nhau"),
        "no confidence interval": lambda: _("không có khoảng tin cậy"),
    }
    if note in fixed:
        return fixed[note]()
    if m := re.fullmatch(r"effective n ([\d.]+) < ([\d.]+)", note):
        return _("n hiệu dụng %(n)s < %(least)s", n=_number(m[1]), least=_number(m[2]))
    if m := re.fullmatch(r"CI width ([\d.]+) >= ([\d.]+)", note):
        return _(
            "độ rộng khoảng tin cậy %(width)s ≥ %(most)s điểm",
            width=_number(m[1]),
            most=_number(m[2]),
        )
    if m := re.fullmatch(r"df (\d+) < ([\d.]+)", note):
        return _("bậc tự do %(df)s < %(least)s", df=m[1], least=_number(m[2]))
    if m := re.fullmatch(r"mean of (\d+) of (\d+) (criteria|elements)", note):
        if m[3] == "criteria":
            return _(
                "trung bình của %(used)s/%(total)s tiêu chí", used=m[1], total=m[2]
            )
        return _("trung bình của %(used)s/%(total)s yếu tố", used=m[1], total=m[2])
    if m := re.fullmatch(r"(\d+) strat(?:um|a) with one PSU \((\w+)\)", note):
        return _("%(count)s tầng chỉ có một cụm (%(rule)s)", count=m[1], rule=m[2])
    return note


def reliability_note(text: str | None) -> str:
    """A note such as "effective n 29.8 < 30; df 3 < 5" in the page's language."""
    if not text:
        return ""
    return "; ".join(_one(part.strip()) for part in text.split(";"))
