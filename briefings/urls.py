"""URL normalisation, so one post reached by two addresses is stored once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

_TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "share", "amp")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/?#\s:@]*):[^/?#\s]*@")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#\s'\"]*")  # libpq reads ?password= too


def redact_credentials(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (user names are kept): for
    anything shown to a person, a fetch error as much as a config error. A `password=` query
    parameter (which a database URL may carry instead) is masked the same way."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))


def url_syntax_problem(url: str) -> str | None:
    """Why `url` cannot be read as a URL at all (None when it can): the same words for a feed in
    config.toml and one given by `--feed`."""
    if any(c.isspace() for c in url):
        return "a URL cannot contain spaces or line breaks (write a space as %20)"
    try:
        urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL", or a host NFKC normalisation changes
        return "invalid IPv6 address" if "IPv6" in str(exc) else str(exc)
    return None


def shown_db_url(url: URL) -> str:
    """A database URL as shown to a person: no password, neither the `user:password@` one nor a
    `?password=` query parameter."""
    return redact_credentials(url.render_as_string(hide_password=True))


def normalize_url(url: str) -> str:
    """Canonical form: https, lower-case host without www, no default port, fragment, tracking
    parameters or trailing slash. Anything that is not a readable http(s) URL is returned stripped."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range, a broken [IPv6] host: not a URL we can normalise
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().removeprefix("www.")
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith(_TRACKING_PARAMS)
    ]
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))


def post_keys(guid: str, url: str) -> list[str]:
    """The aliases a feed entry is known by: its normalised link and its guid (normalised when a URL)."""
    keys: list[str] = []
    for value in (url, guid):
        if not value:
            continue
        key = normalize_url(value)
        if key.startswith("https://"):
            keys.append(key)
        else:
            keys.append(f"guid:{key}")
    return list(dict.fromkeys(keys))
