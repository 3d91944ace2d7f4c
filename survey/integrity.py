"""Integrity signals kept with each response (salted hashes, never raw identifiers),
opening hours as data, and the words that explain each flag to an analyst."""

import hashlib
import hmac
import ipaddress
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from analysis.integrity import CODES, Thresholds

# Mon-Fri all day and Saturday morning: the one-stop centres' usual week. A unit
# without hours of its own takes its parent's; the root takes this (configurable).
DEFAULT_HOURS = "T2-T6 07:30-17:00; T7 07:30-11:30"
WEEKDAYS = {"T2": 0, "T3": 1, "T4": 2, "T5": 3, "T6": 4, "T7": 5, "CN": 6}
_DAYS = r"(T[2-7]|CN)(?:\s*-\s*(T[2-7]|CN))?"
_TIMES = r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})"

LABELS = {
    "fast": _l("Gửi quá nhanh"),
    "device-repeat": _l("Một điện thoại gửi nhiều lần"),
    "network-burst": _l("Dồn dập từ một mạng"),
    "counter-burst": _l("Dồn dập tại một quầy"),
    "pattern-repeat": _l("Lặp lại một kiểu trả lời"),
    "off-hours": _l("Ngoài giờ làm việc"),
    "over-dossiers": _l("Nhiều phiếu hơn số hồ sơ"),
    "unit-jump": _l("Đột biến so với chính đơn vị"),
}
EXPLANATIONS = {
    "fast": _l(
        "Thời gian từ lúc mở phiếu đến lúc gửi ngắn hơn thời gian tối thiểu để đọc và "
        "chọn từng câu trên điện thoại."
    ),
    "device-repeat": _l(
        "Cùng một điện thoại gửi nhiều phiếu hơn số hồ sơ một người thường có trong "
        "một ngày hoặc trong cả đợt."
    ),
    "network-burst": _l(
        "Trong 30 phút, một mạng gửi tại một quầy nhiều phiếu hơn hẳn mức đông nhất "
        "thường thấy của quầy đó."
    ),
    "counter-burst": _l(
        "Trong 30 phút, một quầy nhận từ nhiều mạng khác nhau nhiều phiếu hơn hẳn mức "
        "đông nhất thường thấy của quầy (địa chỉ mạng có thể bị thay đổi liên tục)."
    ),
    "pattern-repeat": _l(
        "Cùng một bộ câu trả lời lặp lại nhiều lần trong một nhóm phiếu, nhiều hơn hẳn "
        "tỷ lệ của bộ câu trả lời đó trong toàn tỉnh."
    ),
    "off-hours": _l("Phiếu được mở ngoài giờ làm việc của đơn vị."),
    "over-dossiers": _l(
        "Số phiếu trong ngày nhiều hơn số hồ sơ đơn vị trả kết quả (hoặc tiếp nhận, nếu "
        "nhiều hơn) trong ngày đó theo sổ theo dõi hồ sơ."
    ),
    "unit-jump": _l(
        "Số phiếu hoặc mức hài lòng trong ngày khác hẳn những ngày khác của chính đơn vị."
    ),
}
assert set(LABELS) == set(EXPLANATIONS) == set(CODES)


class HoursError(ValueError):
    """Opening hours that cannot be read, with the reason."""


def salted_hash(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def network_of(address: str | None) -> str:
    """Return the client's network: /24 for IPv4, /48 for IPv6 (a shared Wi-Fi, a carrier NAT)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_hash(salt: str, address: str | None) -> str:
    return salted_hash(salt, "net:" + network_of(address))


def device_hash(salt: str, device_cookie: str) -> str:
    return salted_hash(salt, "dev:" + device_cookie)


def device_tag(salt: str, device_cookie: str) -> str:
    """The part of a device's hash that a served form carries (binds key to phone)."""
    return device_hash(salt, device_cookie)[:16]


def parse_hours(text: str) -> list[tuple[int, int, int]]:
    """Read opening hours: ``"T2-T6 07:30-11:30, 13:30-17:00; T7 07:30-11:30"``.

    Days are T2 (Monday) to T7 and CN (Sunday), alone or as a range; each is followed
    by one or more time ranges. Returns (weekday, start minute, end minute) triples.
    :raise HoursError: naming the part that cannot be read.
    """
    intervals = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        match = re.fullmatch(rf"{_DAYS}\s+(.+)", part, flags=re.IGNORECASE)
        if not match:
            raise HoursError(
                _("Không đọc được “%(part)s” (ví dụ: T2-T6 07:30-17:00).", part=part)
            )
        first = WEEKDAYS[match.group(1).upper()]
        last = WEEKDAYS[(match.group(2) or match.group(1)).upper()]
        if last < first:
            raise HoursError(_("Khoảng ngày ngược trong “%(part)s”.", part=part))
        for times in match.group(3).split(","):
            found = re.fullmatch(_TIMES, times.strip())
            if not found:
                raise HoursError(
                    _(
                        "Không đọc được giờ “%(strip)s” trong “%(part)s”.",
                        strip=times.strip(),
                        part=part,
                    )
                )
            h1, m1, h2, m2 = map(int, found.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if not (m1 < 60 and m2 < 60 and 0 <= start < end <= 24 * 60):
                raise HoursError(
                    _(
                        "Giờ không hợp lệ “%(strip)s” trong “%(part)s”.",
                        strip=times.strip(),
                        part=part,
                    )
                )
            intervals += [(day, start, end) for day in range(first, last + 1)]
    if not intervals:
        raise HoursError(_("Chưa có giờ làm việc nào."))
    return intervals


def thresholds_from(config: dict) -> Thresholds:
    """The flag thresholds: documented defaults, overridden by INTEGRITY_THRESHOLDS."""
    return Thresholds.from_mapping(dict(config.get("INTEGRITY_THRESHOLDS") or {}))
