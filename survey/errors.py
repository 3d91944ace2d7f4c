"""Service errors and the HTTP error pages (Vietnamese, since citizens see them)."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError


class ServiceError(Exception):
    """A rule of the domain refused the request; the message is safe to show."""

    status = 400


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


MESSAGES = {
    400: (
        "Yêu cầu không hợp lệ",
        "Trang gửi lên không hợp lệ hoặc đã hết hạn. Vui lòng mở lại trang và thử lại.",
    ),
    403: ("Không có quyền truy cập", "Tài khoản của bạn không được xem trang này."),
    404: (
        "Không tìm thấy trang",
        "Mã QR hoặc đường dẫn không đúng, hoặc đã được thay thế. "
        "Vui lòng quét mã QR đang dán tại quầy.",
    ),
    405: ("Thao tác không được phép", "Trang này không nhận thao tác đó."),
    409: ("Không thể thực hiện", "Yêu cầu không phù hợp với trạng thái hiện tại."),
    413: (
        "Nội dung quá dài",
        "Nội dung gửi lên quá dài. Vui lòng rút gọn góp ý và gửi lại.",
    ),
    422: ("Thông tin chưa hợp lệ", "Vui lòng kiểm tra lại các câu trả lời."),
    429: ("Quá nhiều yêu cầu", "Bạn gửi quá nhanh. Vui lòng đợi một lát rồi thử lại."),
    500: (
        "Lỗi hệ thống",
        "Đã có lỗi xảy ra. Câu trả lời của bạn chưa được lưu; vui lòng thử lại sau.",
    ),
}


def error_page(status: int, message: str | None = None):
    """Render the error page for a status, with an optional specific message."""
    title, default = MESSAGES.get(status, MESSAGES[400])
    return render_template(
        "errors/error.html", title=title, message=message or default, status=status
    ), status


def init_app(app: Flask) -> None:
    for status in MESSAGES:
        if status != 422:
            app.register_error_handler(status, lambda exc, s=status: error_page(s))
    app.register_error_handler(CSRFError, lambda exc: error_page(400, MESSAGES[400][1]))
    app.register_error_handler(
        ServiceError, lambda exc: error_page(exc.status, str(exc))
    )
