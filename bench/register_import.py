"""The dossier register at its real size: CLI imports of 100k, 500k and 1,000,000 dossiers.

A province's export as the one-stop system writes it: semicolon-separated UTF-8 with a
BOM (Excel in a Vietnamese locale), dates DD/MM/YYYY, field names as labels with
diacritics (some as codes), "Đúng hạn"/"Trễ hạn", about 6 % late and 8 % not yet
returned, and a procedure-name column that the import ignores (real exports carry many
such columns). 200 units: 20 departments and 180 communes and wards.

Each size is imported into an empty register of a database of its own
(``bench_register``, dropped at the end) by ``flask --app wsgi import-register FILE``
in a fresh process: wall time and that process's peak RSS (from wait4). Then the
1,000,000-row file again (every dossier unchanged) and next week's export (the same
dossiers with 5 % returned or changed since, plus 100,000 new ones).
Goal: 1,000,000 dossiers in under 60 s, with memory flat as the file grows.
"""

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.results import write_section

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get(
    "SIPAS_BENCH_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432"
)
DATABASE = "bench_register"
SIZES = tuple(
    int(n)
    for n in os.environ.get(
        "SIPAS_BENCH_REGISTER_SIZES", "100000,500000,1000000"
    ).split(",")
)
GOAL_SECONDS = 60
FIELDS = ("Đất đai", "Hộ tịch", "Xây dựng", "Tư pháp, chứng thực", "Đăng ký kinh doanh",
          "Lao động – Thương binh và Xã hội", "Lĩnh vực khác", "dat-dai", "ho-tich")  # fmt: skip
PROCEDURES = (
    "Đăng ký khai sinh có yếu tố nước ngoài",
    "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất",
    "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
    "Đăng ký thành lập hộ kinh doanh",
    "Giải quyết chế độ trợ cấp xã hội hàng tháng",
)
HEADER = (
    "ma_ho_so;dossier_code;unit_code;thu_tuc;field;received_on;returned_on;on_time\n"
)


def units() -> list[tuple[str, str, str, str]]:
    rows = [("BENCH", "Tỉnh Thử Nghiệm", "province", "")]
    rows += [(f"S{n:02d}", f"Sở thứ {n}", "department", "BENCH") for n in range(1, 21)]
    rows += [
        (f"X{n:03d}", f"Xã thứ {n}", "commune" if n % 3 else "ward", "BENCH")
        for n in range(1, 181)
    ]
    return rows


def write_register(path: Path, count: int, changed: float = 0.0) -> None:
    """Write dossiers 0..count-1; each is the same every week unless among `changed`."""
    codes = [u[0] for u in units()[1:]]
    weekly = random.Random(2026)
    first = date(2026, 1, 1)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(HEADER)
        for n in range(count):
            own = random.Random(n)  # the same dossier gets the same values every week
            received = first + timedelta(days=own.randrange(80))
            returned = received + timedelta(days=own.randrange(1, 20))
            late, open_now = own.random() < 0.06, own.random() < 0.08
            if changed and weekly.random() < changed:  # returned since, or corrected
                late, open_now = (late, False) if open_now else (not late, False)
            status = "" if open_now else ("Trễ hạn" if late else "Đúng hạn")
            out.write(
                f"{n};BNV.{n % 97:02d}-{received:%y%m%d}-{n:07d};"
                f"{codes[own.randrange(len(codes))]};{PROCEDURES[n % len(PROCEDURES)]};"
                f"{FIELDS[own.randrange(len(FIELDS))]};{received:%d/%m/%Y};"
                f"{'' if open_now else f'{returned:%d/%m/%Y}'};{status}\n"
            )


def flask(env: dict, *args: str) -> tuple[float, float, int, str]:
    """Run a flask command in a fresh process: wall and CPU seconds, peak RSS in MB,
    output. CPU is the importing process's own (user + system), without the database's.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss // 1024, output.strip()


def run() -> None:
    admin = sa.create_engine(f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
                             isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    # The importing process runs as in production: real secrets, no demo fallback.
    env = os.environ | {
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "SIPAS_SECRET_KEY": "bench-secret-key-not-for-production-use",
        "SIPAS_INTEGRITY_SALT": "bench-integrity-salt-not-for-production",
        "SIPAS_PUBLIC_BASE_URL": "https://sipas.example.gov.vn",
    }
    database = sa.create_engine(
        f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}"
    )
    lines = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            flask(env, "db", "upgrade")
            flask(env, "sync-questionnaires")
            unit_file = folder / "units.csv"
            unit_file.write_text(
                "code,name,level,parent_code\n"
                + "".join(",".join(u) + "\n" for u in units()),
                encoding="utf-8",
            )
            flask(env, "import-units", str(unit_file))
            lines += [
                "| run | dossiers in file | file size | wall time | CPU of the import "
                "process | peak RSS | load average (1 min) | result |",
                "|---|---:|---:|---:|---:|---:|---:|---|",
            ]
            biggest = None
            for size in SIZES:
                path = folder / f"register-{size}.csv"
                write_register(path, size)
                with database.begin() as conn:
                    conn.execute(sa.text("TRUNCATE dossier CASCADE"))
                timing = flask(env, "import-register", str(path))
                lines.append(row(f"fresh import, {size:,}", size, path, *timing))
                biggest = path
                if size != SIZES[-1]:
                    path.unlink()
            size = SIZES[-1]
            timing = flask(env, "import-register", str(biggest))
            lines.append(row("same file again", size, biggest, *timing))
            week = folder / "register-next-week.csv"
            extra = size // 10
            write_register(week, size + extra, changed=0.05)
            biggest.unlink()
            timing = flask(env, "import-register", str(week))
            lines.append(row("next week's export", size + extra, week, *timing))
            with database.connect() as conn:
                stored = conn.scalar(sa.text("SELECT count(*) FROM dossier"))
        lines += [
            "",
            f"Dossiers in the register after the runs: {stored:,}.",
            f"Goal: {SIZES[-1]:,} dossiers in under {GOAL_SECONDS} s, peak RSS flat as "
            "the file grows (compare the fresh imports).",
            "",
            "Each import runs `flask --app wsgi import-register FILE` in a fresh process "
            "against PostgreSQL on loopback (database `bench_register`, dropped after); "
            "CPU and peak RSS are the importing process's (wait4), not the database "
            "server's. The load average column says how busy the 2 cores were: on a shared "
            "machine wall times are an upper bound.",
        ]
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        admin.dispose()
    write_section("register", "\n".join(lines), "python -m bench register")


def row(name: str, size: int, path: Path, seconds, cpu, rss, output) -> str:
    megabytes = path.stat().st_size / 1e6
    result = output.splitlines()[-1].split(": ", 1)[-1]
    load = os.getloadavg()[0]
    return (
        f"| {name} | {size:,} | {megabytes:,.0f} MB | {seconds:.1f} s | {cpu:.1f} s "
        f"| {rss} MB | {load:.1f} | {result} |"
    )


if __name__ == "__main__":
    run()
