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

from forms.admin import LoginForm

from .boundary import local_path
from .extensions import db, limiter
from .models import Role, User
from .services import accounts

bp = Blueprint("auth", __name__, url_prefix="/auth")


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.before_app_request
def load_user() -> None:
    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id else None
    if g.user is not None and not g.user.is_active:
        session.clear()
        g.user = None


@bp.route("/login", methods=("GET", "POST"))
@limiter.limit(login_limit, methods=["POST"])
def login():
    """Log a person in to the workspace."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            session.permanent = True
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    status = 401 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Log out and forget the session."""
    session.clear()
    flash(_("Đã đăng xuất."))
    return redirect(url_for("auth.login"))


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
