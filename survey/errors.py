"""Service errors and the HTTP error pages (in the visitor's language, Vietnamese by default)."""

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest


class ServiceError(Exception):
    """A rule of the domain refused the request; the message is safe to show."""

    status = 400


class ShownBadRequest(BadRequest):
    """A 400 whose description is a translated message for the visitor (not a code)."""


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


MESSAGES = {
    400: (
        _l("Yêu cầu không hợp lệ"),
        _l(
            "Trang gửi lên không hợp lệ hoặc đã hết hạn. Vui lòng mở lại trang và thử lại."
        ),
    ),
    403: (
        _l("Không có quyền truy cập"),
        _l("Tài khoản của bạn không được xem trang này."),
    ),
    404: (
        _l("Không tìm thấy trang"),
        _l(
            "Mã QR hoặc đường dẫn không đúng, hoặc đã được thay thế. "
            "Vui lòng quét mã QR đang dán tại quầy."
        ),
    ),
    405: (_l("Thao tác không được phép"), _l("Trang này không nhận thao tác đó.")),
    409: (
        _l("Không thể thực hiện"),
        _l("Yêu cầu không phù hợp với trạng thái hiện tại."),
    ),
    413: (
        _l("Nội dung quá dài"),
        _l("Nội dung gửi lên quá dài. Vui lòng rút gọn góp ý và gửi lại."),
    ),
    422: (_l("Thông tin chưa hợp lệ"), _l("Vui lòng kiểm tra lại các câu trả lời.")),
    429: (
        _l("Quá nhiều yêu cầu"),
        _l("Bạn gửi quá nhanh. Vui lòng đợi một lát rồi thử lại."),
    ),
    500: (
        _l("Lỗi hệ thống"),
        _l(
            "Đã có lỗi xảy ra. Câu trả lời của bạn chưa được lưu; vui lòng thử lại sau."
        ),
    ),
}


# The workspace speaks to an official, not to a citizen with a survey in hand.
WORKSPACE_MESSAGES = {
    400: _l("Yêu cầu không hợp lệ hoặc biểu mẫu đã hết hạn. Mở lại trang và thử lại."),
    403: _l("Tài khoản của bạn không có quyền thực hiện thao tác này."),
    404: _l("Không tìm thấy trang hoặc đối tượng này; có thể nó đã bị xóa hay đổi mã."),
    409: _l("Thao tác không phù hợp với trạng thái hiện tại của đối tượng."),
    422: _l("Dữ liệu nhập chưa hợp lệ. Xem lại các ô được đánh dấu."),
    500: _l(
        "Đã có lỗi hệ thống; thao tác chưa được thực hiện. Vui lòng thử lại, nếu vẫn "
        "lỗi hãy báo bộ phận quản trị hệ thống kèm thời điểm xảy ra."
    ),
}


def in_workspace() -> bool:
    return request.blueprint in ("admin", "auth")


def error_page(status: int, message: str | None = None):
    """Render the error page for a status, with an optional specific message."""
    title, default = MESSAGES.get(status, MESSAGES[400])
    if in_workspace():
        default = WORKSPACE_MESSAGES.get(status, default)
        return render_template(
            "errors/workspace_error.html",
            title=title,
            message=message or default,
            status=status,
        ), status
    return render_template(
        "errors/error.html", title=title, message=message or default, status=status
    ), status


def too_many_requests(exc):
    """The 429 page, with Retry-After: how long the door stays shut for this client."""
    from .door import retry_after

    page, status = error_page(429)
    response = make_response(page, status)
    seconds = retry_after()
    if seconds:
        response.headers["Retry-After"] = str(seconds)
    return response


def too_large(exc):
    """413: on an upload route, say the file's limit instead of the survey's."""
    cap = current_app.config["MAX_UPLOAD_LENGTH"]
    if request.max_content_length == cap:  # an upload route, for an administrator
        limit = cap // (1024 * 1024)
        return error_page(
            413,
            _l(
                "Tệp lớn hơn giới hạn %(limit)s MB. Chia tệp thành nhiều phần, hoặc "
                "nhập bằng lệnh flask import-register.",
                limit=limit,
            ),
        )
    return error_page(413)


def init_app(app: Flask) -> None:
    for status in MESSAGES:
        if status not in (413, 422, 429):
            app.register_error_handler(status, lambda exc, s=status: error_page(s))
    app.register_error_handler(413, too_large)
    app.register_error_handler(429, too_many_requests)
    app.register_error_handler(
        ShownBadRequest, lambda exc: error_page(400, str(exc.description))
    )
    app.register_error_handler(CSRFError, lambda exc: error_page(400, MESSAGES[400][1]))
    app.register_error_handler(
        ServiceError, lambda exc: error_page(exc.status, str(exc))
    )
