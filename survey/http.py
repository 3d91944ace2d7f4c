"""Response hygiene for every page: security headers and gzip for slow phone links."""

import gzip

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COMPRESSIBLE = (
    "text/html",
    "text/css",
    "text/csv",
    "image/svg+xml",
    "application/json",
)


HSTS = "max-age=31536000; includeSubDomains"


def secure_headers(response: Response) -> Response:
    headers = response.headers
    if str(current_app.config["PUBLIC_BASE_URL"]).startswith("https://"):
        # Served over HTTPS: browsers must never come back over plain HTTP.
        headers.setdefault("Strict-Transport-Security", HSTS)
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def gzip_response(response: Response) -> Response:
    """Compress text bodies when the client accepts gzip (3G links pay per byte)."""
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return response
    if (
        response.direct_passthrough
        and response.mimetype in COMPRESSIBLE
        and response.status_code == 200
    ):
        # A static file (the stylesheets are a few kilobytes): read it so it can be compressed.
        source = response.response
        response.direct_passthrough = False
        response.set_data(b"".join(response.iter_encoded()))
        source.close()
    if (
        response.is_streamed
        or response.status_code != 200
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSIBLE
    ):
        return response
    body = response.get_data()
    if len(body) < 600:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure_headers)
    app.after_request(gzip_response)
