"""The audit log reads as sentences in Vietnam time, names its objects, and shows the
before and after in words (no JSON, no "surveyperiod 2")."""

from datetime import UTC, datetime

from survey import clock
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID


def test_audit_log_reads_as_sentences(admin_client):
    # 09:05 UTC is 16:05 in Vietnam
    with clock.travel(datetime(2026, 11, 20, 9, 5, tzinfo=UTC)):
        admin_client.post(f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"})
    admin_client.post(
        f"/admin/counters/{OPEN_COUNTER_ID}/rotate", data={"confirm": "1"}
    )
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "admin đóng đợt Đợt thử lúc 16:05 20/11/2026" in html
    assert "<b>Trạng thái:</b> Đang mở → Đã đóng" in html
    assert "admin đổi mã QR của quầy Quầy 1 (Sở Tư pháp) lúc" in html
    assert "surveyperiod" not in html
    assert "period.close" not in html.split("<tbody>")[1]
    assert "{&#34;" not in html  # no JSON
    assert '{"' not in html
    assert '<option value="period.close">đóng đợt</option>' in html


def test_audit_log_in_english(admin_client):
    admin_client.post(f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"})
    admin_client.get("/lang/en")
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "admin closed period Đợt thử at" in html
    assert "<b>Status:</b> Open → Closed" in html


def test_every_recorded_action_reads_as_words():
    """Each action the services record (literal, or an f-string's known values) has words."""
    import re
    from pathlib import Path

    from survey.services.audit import ACTION_WORDS

    variants = {
        "flags.{action}": ("exclude", "clear"),
        "unit.{kind}": ("merge", "split"),
    }
    recorded = set()
    for path in Path("survey").rglob("*.py"):
        pattern = r'audit\.record\(\s*(f?)"([^"]+)"'
        for is_f, action in re.findall(pattern, path.read_text(encoding="utf-8")):
            if is_f:
                assert action in variants, f"{path}: unknown action pattern {action}"
                stem = action.split("{")[0]
                recorded.update(stem + value for value in variants[action])
            else:
                recorded.add(action)
        for action in re.findall(
            r'finish\([^)]*"([a-z_]+\.[a-z_]+)"', path.read_text()
        ):
            recorded.add(action)
    assert "register.import" in recorded
    assert recorded - set(ACTION_WORDS) == set()
