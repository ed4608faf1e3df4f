"""The pages' security helpers and charts, without a browser."""

from __future__ import annotations

from datetime import date

import pytest
from starlette.datastructures import Headers
from starlette.requests import Request

from plurum_backend.errors import Forbidden
from plurum_backend.web.charts import Column, stacked_bars
from plurum_backend.web.security import Viewer, check_csrf, over_https, same_origin


def request(
    scheme: str = "http", peer: str = "203.0.113.9", headers: dict[str, str] | None = None
) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": scheme,
            "path": "/signin",
            "query_string": b"",
            "headers": [(b"host", b"plurum.example"), *raw],
            "client": (peer, 50000),
            "server": ("plurum.example", 443 if scheme == "https" else 80),
        }
    )


def test_cookies_are_secure_over_https_directly_or_through_a_trusted_proxy() -> None:
    assert over_https(request("https"), ())
    assert not over_https(request("http"), ())
    forwarded = {"X-Forwarded-Proto": "https"}
    assert not over_https(request(headers=forwarded), ())  # anyone may send the header
    assert not over_https(request(headers=forwarded), ("10.0.0.0/8",))
    assert over_https(request(peer="10.1.2.3", headers=forwarded), ("10.0.0.0/8",))


def test_same_origin_compares_origin_with_host() -> None:
    assert same_origin(Headers({"host": "plurum.example"}))  # no Origin: a same-site form
    assert same_origin(Headers({"host": "plurum.example", "origin": "https://plurum.example"}))
    assert not same_origin(Headers({"host": "plurum.example", "origin": "https://evil.example"}))
    assert not same_origin(Headers({"host": "plurum.example", "origin": "null"}))


def test_csrf_needs_the_exact_token() -> None:
    viewer = Viewer(csrf="t" * 43)
    check_csrf(request(), viewer, "t" * 43)
    for wrong in ("", "t" * 42, "u" * 43):
        with pytest.raises(Forbidden):
            check_csrf(request(), viewer, wrong)
    with pytest.raises(Forbidden):  # no token at all on the viewer's side refuses too
        check_csrf(request(), Viewer(csrf=""), "")
    with pytest.raises(Forbidden):
        check_csrf(request(headers={"Origin": "https://evil.example"}), viewer, "t" * 43)


def test_charts_escape_their_labels_and_stack_values() -> None:
    svg = stacked_bars(
        [Column(date(2026, 1, 1), (2, 1)), Column(date(2026, 1, 2), (0, 0))],
        ["<b>worked</b>", "failed"],
        'label "with" <script>',
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&#34;with&#34;" in svg
    assert svg.count("<rect") == 2  # zero values draw nothing
    assert "2 &lt;b&gt;worked&lt;/b&gt;, 1 failed" in svg
