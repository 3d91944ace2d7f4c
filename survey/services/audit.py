"""The audit log: every admin action with who, what, when, before and after."""

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import AuditEntry, User

PAGE_SIZE = 50


def record(
    action: str,
    target=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    by: User | None = None,
) -> None:
    """Add an entry to the caller's transaction (the caller commits with its change)."""
    db.session.add(
        AuditEntry(
            action=action,
            target_type=type(target).__name__.lower() if target is not None else None,
            target_id=str(getattr(target, "id", "") or "") or None,
            before=before,
            after=after,
            user_id=by.id if by else None,
        )
    )


def entries(
    *,
    action: str | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Return one page of entries, newest first, optionally filtered (keyset by id)."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if user_id:
        query = query.where(AuditEntry.user_id == user_id)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(db.session.scalars(query.options(sa.orm.joinedload(AuditEntry.user))))


def actions() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
        )
    )


# -- Reading the log: sentences, not codes ----------------------------------------

# What each action did, said of its object ("%(target)s").
ACTION_WORDS = {
    "period.create": _l("tạo đợt %(target)s"),
    "period.open": _l("mở đợt %(target)s"),
    "period.close": _l("đóng đợt %(target)s"),
    "period.reopen": _l("mở lại đợt %(target)s"),
    "period.publish": _l("công bố kết quả đợt %(target)s"),
    "period.targets": _l("đặt chỉ tiêu số phiếu của đợt %(target)s"),
    "counter.create": _l("thêm quầy %(target)s"),
    "counter.rename": _l("đổi tên quầy %(target)s"),
    "counter.rotate_token": _l("đổi mã QR của quầy %(target)s"),
    "counter.restore_token": _l("khôi phục mã QR cũ của quầy %(target)s"),
    "unit.create": _l("thêm đơn vị %(target)s"),
    "unit.edit": _l("sửa đơn vị %(target)s"),
    "unit.deactivate": _l("ngừng hoạt động đơn vị %(target)s"),
    "unit.reactivate": _l("cho đơn vị %(target)s hoạt động lại"),
    "unit.restructure": _l("sắp xếp lại đơn vị %(target)s"),
    "unit.import": _l("nhập danh sách đơn vị"),
    "unit.merge": _l("sáp nhập đơn vị"),
    "unit.split": _l("chia tách đơn vị"),
    "register.import": _l("nhập sổ theo dõi hồ sơ"),
    "comment.export": _l("tải góp ý của người dân đợt %(target)s"),
    "flags.exclude": _l("loại các phiếu của một nhóm bị gắn cờ"),
    "flags.clear": _l("gỡ cờ của một nhóm phiếu"),
    "response.exclude": _l("loại %(target)s"),
    "response.restore": _l("khôi phục %(target)s"),
    "response.export": _l("tải dữ liệu phiếu của đợt %(target)s"),
    "flags.undo": _l("hoàn tác một quyết định rà soát cờ"),
    "sample.plan": _l("lập kế hoạch mẫu cho đợt %(target)s"),
    "sample.draw": _l("rút mẫu hồ sơ cho đợt %(target)s"),
    "sample.draw_arrivals": _l("rút mẫu hồ sơ mới về cho đợt %(target)s"),
    "invitations.delivered": _l("ghi nhận đã trao thư mời"),
    "plan.create": _l("lập %(target)s"),
    "plan.update": _l("sửa %(target)s"),
    "plan.comment": _l("góp ý %(target)s"),
    "plan.return": _l("trả lại %(target)s"),
    "plan.evaluate": _l("đánh giá kết quả %(target)s"),
    "plan.item_done": _l("đánh dấu xong một việc của %(target)s"),
    "plan.item_reopened": _l("đánh dấu chưa xong một việc của %(target)s"),
    "user.create": _l("tạo tài khoản %(target)s"),
    "user.login": _l("đăng nhập"),
    "user.logout": _l("đăng xuất"),
    "user.password": _l("đổi mật khẩu"),
}

FIELD_WORDS = {
    "status": _l("Trạng thái"),
    "reason": _l("Lý do"),
    "name": _l("Tên"),
    "code": _l("Mã"),
    "level": _l("Cấp"),
    "parent": _l("Đơn vị cấp trên"),
    "valid_to": _l("Hiệu lực đến"),
    "opening_hours": _l("Giờ làm việc"),
    "channels": _l("Kênh"),
    "questionnaire": _l("Bộ câu hỏi"),
    "unit": _l("Đơn vị"),
    "publication": _l("Bản công bố"),
    "hash": _l("Mã kiểm tra"),
    "settings": _l("Cách tính"),
    "weighting": _l("Trọng số"),
    "ci": _l("Khoảng tin cậy"),
    "level_ci": _l("Độ tin cậy"),
    "channel": _l("Kênh"),
    "role": _l("Vai trò"),
    "text": _l("Nội dung"),
    "period": _l("Đợt"),
    "period_id": _l("Đợt"),
    "unit_id": _l("Đơn vị"),
    "units": _l("Đơn vị"),
    "criterion": _l("Tiêu chí"),
    "cause": _l("Nguyên nhân"),
    "action": _l("Giải pháp"),
    "actions": _l("Giải pháp"),
    "responsible": _l("Người chịu trách nhiệm"),
    "deadline": _l("Thời hạn"),
    "target": _l("Mục tiêu"),
    "baseline": _l("Mức ban đầu"),
    "items": _l("Các mục"),
    "item": _l("Mục"),
    "note": _l("Ghi chú"),
    "done_on": _l("Ngày hoàn thành"),
    "format": _l("Định dạng"),
    "field": _l("Lĩnh vực"),
    "day": _l("Ngày"),
    "decision": _l("Quyết định"),
    "drawn": _l("Số hồ sơ đã rút"),
    "username": _l("Tên đăng nhập"),
    "score_max": _l("Điểm tối đa"),
    "expires_on": _l("Hết hạn"),
}

VALUE_WORDS = {
    "draft": _l("Nháp"),
    "open": _l("Đang mở"),
    "closed": _l("Đã đóng"),
    "valid": _l("Hợp lệ"),
    "excluded": _l("Loại bỏ"),
    "counter": _l("QR tại quầy"),
    "sample": _l("mẫu ngẫu nhiên"),
    "none": _l("Không trọng số"),
    "volume": _l("Theo số hồ sơ đã trả"),
    "rake": _l("Hiệu chỉnh theo biên"),
    "korn-graubard": "Korn–Graubard",
    "wilson": "Wilson",
    "logit": "Logit",
    "beta": "Clopper–Pearson",
    "admin": _l("Quản trị"),
    "unit_head": _l("Thủ trưởng đơn vị"),
    "viewer": _l("Xem"),
}

# The settings a reader of the log needs; the rest are in the publication itself.
SETTING_KEYS = ("weighting", "ci", "channel")


def _names(entries: list[AuditEntry]) -> dict[tuple[str, str], str]:
    """The name of every object the entries speak of, read in one query per kind."""
    from ..models import Counter, ImprovementPlan, SurveyPeriod, Unit

    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.target_type and e.target_id and e.target_id.isdigit():
            wanted.setdefault(e.target_type, set()).add(int(e.target_id))
    names: dict[tuple[str, str], str] = {}
    simple = {"surveyperiod": SurveyPeriod, "unit": Unit}
    for kind, model in simple.items():
        for obj in db.session.scalars(
            sa.select(model).where(model.id.in_(wanted.get(kind, ())))
        ):
            names[(kind, str(obj.id))] = obj.name
    for counter in db.session.scalars(
        sa.select(Counter)
        .where(Counter.id.in_(wanted.get("counter", ())))
        .options(sa.orm.joinedload(Counter.unit))
    ):
        names[("counter", str(counter.id))] = f"{counter.name} ({counter.unit.name})"
    for user in db.session.scalars(
        sa.select(User).where(User.id.in_(wanted.get("user", ())))
    ):
        names[("user", str(user.id))] = user.username
    for plan in db.session.scalars(
        sa.select(ImprovementPlan)
        .where(ImprovementPlan.id.in_(wanted.get("improvementplan", ())))
        .options(sa.orm.joinedload(ImprovementPlan.unit))
    ):
        names[("improvementplan", str(plan.id))] = gettext(
            "kế hoạch khắc phục của %(unit)s", unit=plan.unit.name
        )
    for kind, ident in {(e.target_type, e.target_id) for e in entries}:
        if kind in ("surveyresponse", "response"):
            names[(kind, ident)] = gettext("phiếu số %(id)s", id=ident)
    return names


def _value(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return gettext("có") if value else gettext("không")
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "–"
    if isinstance(value, dict):
        return "; ".join(f"{_field(k)}: {_value(v)}" for k, v in value.items())
    if isinstance(value, str) and "," in value and len(value) < 40:
        return ", ".join(_value(v) for v in value.split(","))
    text = str(VALUE_WORDS.get(value, value)) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:24] + "…"


def _field(key: str) -> str:
    return str(FIELD_WORDS.get(key, key))


def changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) in words for each field the action touched."""
    before, after = dict(entry.before or {}), dict(entry.after or {})
    for side in (before, after):
        if isinstance(side.get("settings"), dict):
            settings = side.pop("settings")
            side.update({k: settings.get(k) for k in SETTING_KEYS if k in settings})
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        rows.append(
            (
                _field(key),
                _value(old) if key in before else "",
                _value(new) if key in after else "",
            )
        )
    return rows


def action_words(action: str) -> str:
    words = ACTION_WORDS.get(action)
    if words is None:
        return action
    return str(words).replace(" %(target)s", "").replace("%(target)s", "")


def sentences(entries: list[AuditEntry]) -> list[dict]:
    """Each entry as a sentence ("admin đóng đợt Quý 4/2026 lúc 16:05 29/11/2026")."""
    from ..i18n import local_datetime

    names = _names(entries)
    out = []
    for e in entries:
        target = names.get((e.target_type, e.target_id)) if e.target_type else None
        words = ACTION_WORDS.get(e.action)
        named = {"target": target or gettext("(đã xóa)")}
        did = e.action if words is None else str(words) % named
        who = e.user.username if e.user else gettext("Hệ thống")
        out.append(
            {
                "entry": e,
                "sentence": gettext(
                    "%(who)s %(did)s lúc %(time)s",
                    who=who,
                    did=did,
                    time=local_datetime(e.at, "HH:mm dd/MM/yyyy"),
                ),
                "changes": changes(e),
            }
        )
    return out
