"""QR codes of counter URLs, as SVG for print and PNG for messaging apps."""

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage


def _code(url: str, border: int = 2) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(url)
    code.make(fit=True)
    return code


def counter_qr_svg(url: str) -> str:
    """Return an SVG document with the QR code of a URL (scales to any poster size)."""
    image = _code(url).make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def counter_qr_png(url: str, box_size: int = 10) -> bytes:
    """Return a PNG of the QR code of a URL."""
    code = _code(url, border=4)
    code.box_size = box_size
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()
