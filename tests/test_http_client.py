"""The engine's HTTP client makes its transports at the first request (http:// and https:// apart, so
a start reads no CA bundle it does not use): https stays verified, http keeps working beside it."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from briefings.sources import FeedError, FetchSettings, fetch, make_client
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.posts import ALL_POSTS, rss_feed
from tests.fixtures.serving import serve_in_thread

FAST = FetchSettings(timeout_seconds=5.0)


class _Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = rss_feed("https://127.0.0.1", ALL_POSTS)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietTLSServer(HTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hanging up on our certificate is the point


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[str]:
    """An https:// feed on 127.0.0.1 whose certificate no CA signed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    server = _QuietTLSServer(("127.0.0.1", 0), _Feed)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = serve_in_thread(server)
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/feed/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_https_is_verified_and_http_works_beside_it(
    self_signed_https: str, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    async with make_client(FAST) as client:
        with pytest.raises(FeedError, match="CERTIFICATE_VERIFY_FAILED"):
            await fetch(client, self_signed_https, FAST)
        fetched = await fetch(client, feed_server.url("/feed/"), FAST)
        assert b"<rss" in fetched.body


async def test_a_client_that_fetched_nothing_closes() -> None:
    async with make_client(FAST):
        pass
