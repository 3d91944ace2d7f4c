"""Uploads of the register and the unit tree through the workspace and the CLI."""

import csv
import io

import sqlalchemy as sa
from flask import request, session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey.admin.uploads import allow_large_upload
from survey.extensions import db
from survey.models import Dossier, FileImport, User
from tests.helpers import complete_answers, counter_path, logged_in, to_cp1258
from tests.seed import OPEN_COUNTER_ID

HEADER = "dossier_code;unit_code;field;received_on;returned_on;on_time\n"


def register_file(count: int, unit: str = "STP") -> str:
    return HEADER + "".join(
        f"HS-{n:06d};{unit};Hộ tịch;01/03/2026;05/03/2026;Đúng hạn\n"
        for n in range(count)
    )


def post_file(client, url: str, data: bytes, name: str = "so.csv", **fields):
    # Encoded here in memory: the test client spools big bodies to a file it never closes.
    upload = FileStorage(io.BytesIO(data), filename=name)
    boundary, body = encode_multipart({"file": upload, **fields})
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post(url, data=body, content_type=content_type)


def dossier_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Dossier.id)))


def test_a_big_file_goes_through_the_upload_route_only(app, client, admin_client):
    data = register_file(4000).encode()  # about 240 KB, over three times the global cap
    assert len(data) > 3 * app.config["MAX_CONTENT_LENGTH"]
    response = post_file(admin_client, "/admin/register/import", data)
    assert response.status_code == 302
    assert dossier_count(app) == 4000
    page = admin_client.get("/admin/register").get_data(as_text=True)
    assert "so.csv" in page
    assert "đã nhập" in page
    # A public route keeps the small cap.
    path = counter_path(OPEN_COUNTER_ID)
    big = complete_answers() | {"q_suggestion": "x" * 100_000}
    assert app.test_client().post(path, data=big).status_code == 413


def test_only_an_active_administrator_gets_the_large_cap(app):
    with app.app_context():
        users = dict(db.session.execute(sa.select(User.username, User.id)).all())
    small, large = app.config["MAX_CONTENT_LENGTH"], app.config["MAX_UPLOAD_LENGTH"]
    for username, cap in (("admin", large), ("viewer", small), ("head", small)):
        with app.test_request_context("/admin/register/import", method="POST"):
            session["user_id"] = users[username]
            allow_large_upload()
            assert request.max_content_length == cap, username
    with app.test_request_context("/admin/register/import", method="POST"):
        allow_large_upload()  # nobody signed in
        assert request.max_content_length == small
    with app.test_request_context("/admin/register", method="GET"):
        session["user_id"] = users["admin"]
        allow_large_upload()
        assert request.max_content_length == small
    data = register_file(4000).encode()
    for username in ("viewer", "head"):
        response = post_file(logged_in(app, username), "/admin/register/import", data)
        assert response.status_code in (403, 413)
    assert dossier_count(app) == 0


def test_a_file_over_the_upload_cap_gets_its_own_message(make_app):
    app = make_app(MAX_UPLOAD_LENGTH=2 * 1024 * 1024)
    data = register_file(40_000).encode()
    response = post_file(logged_in(app), "/admin/register/import", data)
    assert response.status_code == 413
    assert "Tệp lớn hơn giới hạn 2 MB" in response.get_data(as_text=True)
    assert dossier_count(app) == 0


def test_a_refused_upload_shows_the_first_problems_and_offers_all(app, admin_client):
    data = register_file(300, unit="NOPE").encode()
    response = post_file(admin_client, "/admin/register/import", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "300 vấn đề" in page
    assert "Dưới đây là 200 vấn đề đầu tiên" in page
    assert page.count("không có đơn vị mang mã NOPE") == 200
    assert "dấu chấm phẩy" in page  # which separator and encoding were used
    with app.app_context():
        import_id = db.session.scalar(sa.select(FileImport.id))
    report = admin_client.get(f"/admin/imports/{import_id}/problems.csv")
    assert report.status_code == 200
    assert report.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    assert len(rows) == 301
    assert rows[-1][:3] == ["301", "unit_code", "NOPE"]
    assert dossier_count(app) == 0
    assert admin_client.get("/admin/imports/999/problems.csv").status_code == 404


def test_the_encoding_can_be_chosen_in_the_form(app, admin_client):
    data = to_cp1258(register_file(3))
    response = post_file(
        admin_client, "/admin/register/import", data, encoding="cp1258"
    )
    assert response.status_code == 302
    flashed = admin_client.get("/admin/register").get_data(as_text=True)
    assert "Windows-1258" in flashed
    assert dossier_count(app) == 3
    wrong = post_file(admin_client, "/admin/register/import", data, encoding="utf-8")
    assert wrong.status_code == 422
    assert "Windows-1258" in wrong.get_data(as_text=True)
    assert (
        post_file(admin_client, "/admin/register/import", data, encoding="latin-9")
    ).status_code == 422


def test_other_files_and_empty_forms_are_refused(app, admin_client):
    pdf = post_file(admin_client, "/admin/register/import", b"%PDF-1.4", "so.pdf")
    assert pdf.status_code == 422
    assert ".xlsx" in pdf.get_data(as_text=True)
    assert admin_client.post("/admin/register/import", data={}).status_code == 422
    broken = post_file(admin_client, "/admin/units/import", b"PK\x03\x04junk", "u.xlsx")
    assert broken.status_code == 422
    assert "XLSX" in broken.get_data(as_text=True)
    assert dossier_count(app) == 0


def test_unit_upload_reports_every_problem_of_every_row(app, admin_client):
    data = b"code;name;level;parent_code\n;;village;NOPE\n"
    response = post_file(admin_client, "/admin/units/import", data, "units.csv")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for message in (
        "thiếu mã đơn vị",
        "thiếu tên đơn vị",
        "cấp không hợp lệ",
        "không có trong tệp",
    ):
        assert message in page


def test_cli_imports_the_register_and_writes_the_full_report(app, runner, tmp_path):
    good = tmp_path / "so.csv"
    good.write_text(register_file(5), encoding="utf-8-sig")
    result = runner.invoke(args=["import-register", str(good)])
    assert result.exit_code == 0, result.output
    assert "5 mới" in result.output
    assert "UTF-8 có BOM" in result.output
    again = runner.invoke(args=["import-register", str(good)])
    assert "5 không đổi" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text(register_file(250, unit="NOPE"), encoding="utf-8")
    report = tmp_path / "problems.csv"
    refused = runner.invoke(args=["import-register", str(bad), "--report", str(report)])
    assert refused.exit_code == 1
    assert "… và 50 vấn đề nữa." in refused.output
    assert len(report.read_text(encoding="utf-8-sig").splitlines()) == 251
    cp1258 = tmp_path / "old.csv"
    cp1258.write_bytes(to_cp1258(register_file(2).replace("HS-", "CP-")))
    forced = runner.invoke(
        args=["import-register", str(cp1258), "--encoding", "cp1258"]
    )
    assert forced.exit_code == 0, forced.output
    assert dossier_count(app) == 7
