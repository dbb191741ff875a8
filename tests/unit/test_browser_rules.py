"""The browser rules as pure functions: what is an origin of ours (`web.origin`), what a state-changing
API request must say about its body and origin (`api.media`), the docs pages' policy (`web.docs`)."""

from __future__ import annotations

from typing import Any

import pytest

from podium.api import media
from podium.settings import Settings
from podium.web import docs, origin


def scope(method: str = "POST", *, scheme: str = "http", host: str | None = "127.0.0.1:8080",
          **headers: str) -> dict[str, Any]:
    raw = [(b"host", host.encode())] if host is not None else []
    raw += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "http", "method": method, "scheme": scheme, "headers": raw, "server": ("127.0.0.1", 8080)}


@pytest.mark.parametrize(("given", "expected"), [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("HTTP://LocalHost:80", "http://localhost"),
    ("https://podium.example.com:443/ui/executions?x=1", "https://podium.example.com"),
    ("http://[::1]:8080", "http://[::1]:8080"),
    ("http://user@host:81", "http://host:81"),
    ("null", None), ("", None), ("file:///etc/passwd", None), ("http://host:99999", None), ("//host", None),
])
def test_origins_are_compared_in_one_spelling(given: str, expected: str | None) -> None:
    assert origin.canonical(given) == expected


def test_the_servers_own_origin_is_its_scheme_and_host_header() -> None:
    assert origin.own(scope()) == "http://127.0.0.1:8080"
    assert origin.own(scope(scheme="https", host="Podium.Example.com:443")) == "https://podium.example.com"
    assert origin.own(scope(host=None)) == "http://127.0.0.1:8080"  # no Host: the address served on
    assert origin.is_ours(scope(), "http://127.0.0.1:8080")
    assert not origin.is_ours(scope(), "http://127.0.0.1:9090")  # another port is another origin
    assert not origin.is_ours(scope(), "https://127.0.0.1:8080")  # and another scheme
    assert not origin.is_ours(scope(), "null")
    assert origin.is_ours(scope(), "https://podium.example.com", {"https://podium.example.com"})


def test_trusted_origins_are_checked_and_kept_canonical() -> None:
    settings = Settings(trusted_origins=["HTTPS://Podium.Example.com:443", "http://10.0.0.5:8080"])
    assert settings.trusted_origins == ["https://podium.example.com", "http://10.0.0.5:8080"]
    with pytest.raises(ValueError, match="not an origin"):
        Settings(trusted_origins=["podium.example.com"])


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json",
                                          "application/vnd.podium+json; charset=utf-8"])
def test_json_bodies_pass(content_type: str) -> None:
    media.check(scope(content_type=content_type, content_length="2"))


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", "text/json",
                                          "application/octet-stream"])
def test_any_other_content_type_is_415_even_with_no_body(content_type: str) -> None:
    for length in ("0", "12"):
        with pytest.raises(media.UnsupportedMediaType, match="application/json"):
            media.check(scope(content_type=content_type, content_length=length))


def test_a_body_needs_a_content_type_but_no_body_needs_none() -> None:
    media.check(scope())  # neither body nor type: a route that reads nothing
    media.check(scope(content_length="0"))
    with pytest.raises(media.UnsupportedMediaType, match="without a Content-Type"):
        media.check(scope(content_length="15"))  # a fetch with a Blob body sends no type
    with pytest.raises(media.UnsupportedMediaType):
        media.check(scope(transfer_encoding="chunked"))


def test_bbs_routes_also_take_protobuf() -> None:
    media.check(scope(content_type="application/x-protobuf", content_length="9"), protobuf=True)
    with pytest.raises(media.UnsupportedMediaType, match="or application/x-protobuf"):
        media.check(scope(content_type="text/plain", content_length="9"), protobuf=True)
    with pytest.raises(media.UnsupportedMediaType):
        media.check(scope(content_type="application/x-protobuf", content_length="9"))


def test_reads_are_not_checked() -> None:
    for method in ("GET", "HEAD", "OPTIONS"):
        media.check(scope(method, content_type="text/plain", content_length="3", origin="http://evil.example"))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_foreign_origin_is_403_and_ours_passes(method: str) -> None:
    media.check(scope(method, origin="http://127.0.0.1:8080", content_type="application/json"))
    for foreign in ("http://evil.example", "http://127.0.0.1:9999", "null"):
        with pytest.raises(media.ForeignOrigin, match="another site"):
            media.check(scope(method, origin=foreign, content_type="application/json"))


def test_the_docs_policy_allows_the_pages_own_inline_script_by_hash_only() -> None:
    page = b"<html><script src='https://cdn.jsdelivr.net/x.js'></script><script>start()</script></html>"
    found = docs.policy(page)
    assert "'sha256-" in found and "'unsafe-inline'" not in found.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in found and "https://cdn.jsdelivr.net" in found
    assert docs.policy(page.replace(b"start()", b"evil()")) != found
