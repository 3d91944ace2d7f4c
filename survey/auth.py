"""Login, logout and the guards of the workspace."""

import functools

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from forms.admin import LoginForm, PasswordForm

from . import clock
from .boundary import local_path
from .errors import ServiceError
from .extensions import db, limiter
from .models import Role, User
from .services import accounts

bp = Blueprint("auth", __name__, url_prefix="/auth")
SEEN_RESOLUTION = 60  # seconds


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.before_app_request
def load_user() -> None:
    """Find the person of this session; a stale, idle or ended session is forgotten.

    The session cookie is signed but a copy of it could be replayed: it is honoured
    only while its version matches the user's (moved on by logout and password
    change) and while it was used in the last SESSION_IDLE_TIMEOUT seconds.
    """
    g.user = None
    if (
        request.endpoint == "static"
    ):  # a stylesheet or icon needs no one, nor the session
        return
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return
    user = db.session.get(User, user_id)
    now = int(clock.now().timestamp())
    idle = now - int(session.get("seen", 0))
    if (
        user is None
        or not user.is_active
        or session.get("version") != user.session_version
        or idle > current_app.config["SESSION_IDLE_TIMEOUT"]
    ):
        session.clear()
        return
    g.user = user
    if idle > SEEN_RESOLUTION:  # rewrite the cookie at most once a minute
        session["seen"] = now


def start_session(user: User) -> None:
    """Open a fresh session (nothing of the anonymous one is kept: a new CSRF token too)."""
    session.clear()
    session["user_id"] = user.id
    session["version"] = user.session_version
    session["seen"] = int(clock.now().timestamp())
    session.permanent = True


@bp.route("/login", methods=("GET", "POST"))
@limiter.limit(login_limit, methods=["POST"])
def login():
    """Log a person in to the workspace."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    status = 401 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Log out: this session and every copy of it (and the person's other sessions) end."""
    if g.user is not None:
        accounts.end_sessions(g.user)
    session.clear()
    flash(_("Đã đăng xuất."))
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=("GET", "POST"))
def password():
    """Change one's own password; every other session of the person ends."""
    if g.user is None:
        return redirect(url_for("auth.login", next=request.path))
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                g.user, form.current.data, form.new.data, form.confirm.data
            )
        except ServiceError as exc:
            form.new.errors.append(str(exc))
        else:
            start_session(g.user)
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc."))
            return redirect(url_for("admin.dashboard"))
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status


def safe_next(target: str | None) -> str:
    """Only follow a local path after login (no open redirect)."""
    return local_path(target) or url_for("admin.dashboard")


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapped


def roles_required(*roles: str):
    """Refuse (403) anyone whose role is not listed."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if g.user is None or g.user.role not in roles:
                abort(403)
            return view(**kwargs)

        wrapped.required_roles = roles  # read by the access tests
        return wrapped

    return decorator


admin_only = roles_required(Role.ADMIN)


def require_unit(unit_id: int | None) -> None:
    """Refuse (403) a unit outside the current user's subtree."""
    if not accounts.can_see_unit(g.user, unit_id):
        abort(403)
