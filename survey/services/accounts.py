"""Accounts, roles and what each person may see."""

import sqlalchemy as sa
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..boundary import clean_text
from ..errors import ServiceError
from ..extensions import db
from ..models import Role, Unit, User
from . import audit

MIN_PASSWORD = 10
# Checked against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = generate_password_hash("not-a-password")


def same_text(password: str) -> str:
    """A password as the input boundary delivers it from a form (NFC, no controls), so
    one set from the command line matches what the login page later sends."""
    return clean_text(password, multiline=False)


def create_user(
    username: str,
    password: str,
    role: str,
    unit: Unit | None = None,
    *,
    by: User | None = None,
) -> User:
    """Create an account.

    :raise ServiceError: if the name is taken, the password short or the role inconsistent.
    """
    username = username.strip().lower()
    if role not in {r.value for r in Role}:
        raise ServiceError(_("Vai trò %(role)s không hợp lệ.", role=role))
    if (role == Role.UNIT_HEAD) != (unit is not None):
        raise ServiceError(
            _("Thủ trưởng đơn vị cần một đơn vị; các vai trò khác không gắn đơn vị.")
        )
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            _(
                "Mật khẩu cần ít nhất %(least)s ký tự.",
                least=MIN_PASSWORD,
            )
        )
    if db.session.scalar(sa.select(User.id).filter_by(username=username)) is not None:
        raise ServiceError(
            _("Tên đăng nhập %(username)s đã có người dùng.", username=username)
        )
    user = User(
        username=username,
        password_hash=generate_password_hash(same_text(password)),
        role=role,
        unit=unit,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        user,
        after={"username": username, "role": role, "unit": unit.code if unit else None},
        by=by,
    )
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(
        sa.select(User).filter_by(username=username.strip().lower())
    )
    if user is None or not user.is_active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, same_text(password)):
        return None
    user.last_login_at = clock.now()
    audit.record("user.login", user, by=user)
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """End every session of a person (logout, password change): their cookies lapse."""
    user.session_version += 1
    audit.record("user.logout", user, by=user)
    db.session.commit()


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """Replace a person's password and end all their sessions.

    :raise ServiceError: if the current password is wrong, the new one short or
        not repeated identically.
    """
    if not check_password_hash(user.password_hash, same_text(current)):
        raise ServiceError(_("Mật khẩu hiện tại không đúng."))
    if len(new) < MIN_PASSWORD:
        raise ServiceError(_("Mật khẩu mới cần ít nhất %(n)s ký tự.", n=MIN_PASSWORD))
    if new != confirm:
        raise ServiceError(_("Hai lần nhập mật khẩu mới không giống nhau."))
    user.password_hash = generate_password_hash(same_text(new))
    user.session_version += 1
    audit.record("user.password", user, by=user)
    db.session.commit()


def visible_unit_ids(user: User) -> set[int] | None:
    """Return the ids of the units a user may see: None means every unit."""
    if user.role != Role.UNIT_HEAD:
        return None
    return subtree_ids(user.unit_id)


def subtree_ids(unit_id: int) -> set[int]:
    """Return a unit's id and the ids of all its descendants (one recursive query)."""
    tree = sa.select(Unit.id).where(Unit.id == unit_id).cte("tree", recursive=True)
    tree = tree.union_all(sa.select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(sa.select(tree.c.id)))


def can_see_unit(user: User, unit_id: int | None) -> bool:
    visible = visible_unit_ids(user)
    return visible is None or unit_id in visible


def units_by_ids(ids: set[int]) -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).where(Unit.id.in_(ids))))


def unit_id_of(code: str) -> int | None:
    return db.session.scalar(sa.select(Unit.id).filter_by(code=code))


def all_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.username)))
