"""Survey page weight: bytes of HTML and CSS a phone downloads, raw and gzip-compressed."""

import re
import tempfile

from bench.results import write_section

BUDGET = 30 * 1024
GZIP = {"Accept-Encoding": "gzip"}


def run() -> dict:
    from survey import create_app
    from survey.extensions import db
    from survey.services import demo, units

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "DEMO": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/b.db",
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            demo.seed_demo(responses=0)
            token = units.counter_token(units.counters_with_units()[0])
        client = app.test_client()
        html = client.get(f"/s/{token}").data
        html_wire = len(client.get(f"/s/{token}", headers=GZIP).data)
        stylesheets = re.findall(rb'<link rel="stylesheet" href="([^"]+)"', html)
        css, css_wire = b"", 0
        for href in stylesheets:
            with (
                client.get(href.decode()) as raw,
                client.get(href.decode(), headers=GZIP) as wire,
            ):
                css, css_wire = css + raw.data, css_wire + len(wire.data)
        hosts = set(re.findall(rb'(?:src|href)="(https?://[^/"]+)', html))
        with app.app_context():
            db.engine.dispose()
    sizes = {
        "html": len(html),
        "html_gzip": html_wire,
        "css": len(css),
        "css_gzip": css_wire,
        "requests": 1 + len(stylesheets),
    }
    sizes["total_gzip"] = sizes["html_gzip"] + sizes["css_gzip"]
    body = (
        "Bytes as served by the app to a client that accepts gzip (what crosses the wire).\n\n"
        "| resource | raw bytes | gzip bytes |\n|---|---:|---:|\n"
        f"| survey page HTML | {sizes['html']:,} | {sizes['html_gzip']:,} |\n"
        f"| stylesheet | {sizes['css']:,} | {sizes['css_gzip']:,} |\n"
        f"| **total** | {sizes['html'] + sizes['css']:,} | **{sizes['total_gzip']:,}** |\n\n"
        f"Budget {BUDGET:,} bytes gzip: {'met' if sizes['total_gzip'] <= BUDGET else 'MISSED'}; "
        f"{sizes['requests']} requests; other hosts contacted: {len(hosts) or 'none'}; "
        "no JavaScript."
    )
    write_section("Survey page weight", body, "python -m bench page")
    return sizes
