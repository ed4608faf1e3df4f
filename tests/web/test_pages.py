"""The pages in a real headless Chromium, against `plurum serve` with seeded data.

One server and one browser for the module; the data is seeded once (tests/web/seed.py).
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.web.seed import Agent, Api, Seeded

LIVE_S = 2.0


def no_console_errors(page: Page) -> None:
    assert page.console.errors == []  # type: ignore[attr-defined]


def sign_in(page: Page, site: str, agent: Agent) -> None:
    page.goto(site + "/signin")
    page.get_by_label("API key").fill(agent.key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site}/agents/{agent.username}")


def test_every_page_renders_seeded_data_without_console_errors(
    page: Page, site: str, seeded: Seeded
) -> None:
    expectations = {
        "/": ["Deploy FastAPI to AWS ECS with Docker", "Debug flaky websocket tests"],
        "/search?q=docker+image": ["Shrink Docker images for Python services", "matched"],
        f"/experiences/{seeded.public}": [
            "alpine base image",
            "musl broke psycopg wheels",
            "Multi-stage Docker builds cut image size by 80%",
            "ECS health checks hit / by default",
            "FROM python:3.11-slim AS build",
            "Wilson",
            "Shrink Docker images for Python services",  # similar
        ],
        "/sessions": ["Debug flaky websocket tests"],
        f"/sessions/{seeded.open_session}": ["Debug flaky websocket tests", "testing"],
        "/agents/alice": ["Alice the deployer", "Deploy FastAPI to AWS ECS with Docker"],
        "/pulse": ["Debug flaky websocket tests"],
        "/insights": ["Most acquired", "alpine base image", "Deploy FastAPI to AWS ECS"],
        "/signin": ["API key"],
    }
    for path, texts in expectations.items():
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        body = page.locator("body").inner_text()
        for text in texts:
            assert text in body, (path, text)
        assert page.locator("h1").count() == 1, path
        headers = response.headers
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]
    # the charts are inline SVG drawn by the server, with a text alternative
    page.goto(f"{site}/experiences/{seeded.public}")
    chart = page.locator("svg.chart")
    expect(chart).to_have_attribute("role", "img")
    assert "1 worked, 1 failed" in (chart.get_attribute("aria-label") or "")
    failed = page.locator(".counts div", has_text="failed, last 30 days").locator("dd")
    expect(failed).to_have_text("1")  # until freshness lands: recent failure counts
    assert page.locator("svg.chart rect").count() == 2
    no_console_errors(page)


def test_experience_page_tabs_and_copy(page: Page, site: str, seeded: Seeded) -> None:
    page.goto(f"{site}/experiences/{seeded.public}")
    expect(page.locator("#panel-summary")).to_be_visible()
    expect(page.locator("#panel-checklist")).to_be_hidden()
    page.get_by_text("Checklist", exact=True).click()
    expect(page.locator("#panel-checklist")).to_be_visible()
    expect(page.locator("#panel-checklist")).to_contain_text("## Don't")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator(".artifact button.copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert "FROM python:3.11-slim" in page.evaluate("navigator.clipboard.readText()")
    no_console_errors(page)


def test_search_works_with_javascript_off(browser: Browser, site: str, seeded: Seeded) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/")
    page.get_by_label("Search experiences").fill("docker image size")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=docker"))
    results = page.locator("article.card h3")
    expect(results.first).to_be_visible()
    titles = results.all_inner_texts()
    assert "Shrink Docker images for Python services" in titles
    assert any("relevance" in t for t in page.locator(".card .meta").all_inner_texts())
    # a tag filter narrows it: only alice's experience carries "ecs"
    page.goto(site + "/search?q=docker&tags=ecs")
    assert page.locator("article.card h3").all_inner_texts() == [
        "Deploy FastAPI to AWS ECS with Docker"
    ]
    context.close()


def test_pulse_shows_a_new_public_session_within_two_seconds(
    page: Page, site: str, api: Api, seeded: Seeded
) -> None:
    page.goto(site + "/pulse")
    expect(page.locator("[data-live-state]")).to_have_text("live")
    api.call("POST", "/sessions", seeded.bob, json={"topic": "Live pulse heron"})
    started = time.monotonic()
    expect(page.locator(".feed")).to_contain_text("Live pulse heron", timeout=LIVE_S * 1000)
    assert time.monotonic() - started <= LIVE_S
    # private sessions never reach the feed
    api.call(
        "POST", "/sessions", seeded.alice, json={"topic": "Hidden ibis", "visibility": "private"}
    )
    api.call("POST", "/sessions", seeded.bob, json={"topic": "Visible crane"})
    expect(page.locator(".feed")).to_contain_text("Visible crane", timeout=LIVE_S * 1000)
    assert "Hidden ibis" not in page.locator("body").inner_text()
    no_console_errors(page)


def test_pulse_reconnects_by_itself(page: Page, site: str, api: Api, seeded: Seeded) -> None:
    sockets: list[WebSocketRoute] = []

    def proxy(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/live/pulse"), proxy)
    page.goto(site + "/pulse")
    state = page.locator("[data-live-state]")
    expect(state).to_have_text("live")
    sockets[0].close(code=1012, reason="service restart")  # what uvicorn sends on shutdown
    expect(state).to_have_text("reconnecting…")
    expect(state).to_have_text("live", timeout=10_000)
    assert len(sockets) == 2
    api.call("POST", "/sessions", seeded.bob, json={"topic": "After reconnect osprey"})
    expect(page.locator(".feed")).to_contain_text("After reconnect osprey", timeout=LIVE_S * 1000)
    no_console_errors(page)


def test_open_session_page_shows_new_entries_live_to_its_owner(
    page: Page, site: str, api: Api, seeded: Seeded
) -> None:
    sign_in(page, site, seeded.bob)
    page.goto(f"{site}/sessions/{seeded.open_session}")
    expect(page.locator("[data-live-state]")).to_have_text("live")
    expect(page.locator(".journal")).to_contain_text("sleep(1) in the test")
    api.call(
        "POST",
        f"/sessions/{seeded.open_session}/entries",
        seeded.bob,
        json={"entry_type": "breakthrough", "content": {"description": "await an event"}},
    )
    started = time.monotonic()
    expect(page.locator(".journal")).to_contain_text("await an event", timeout=LIVE_S * 1000)
    assert time.monotonic() - started <= LIVE_S
    expect(page.locator('[data-field="entry_count"]')).to_have_text("2")
    no_console_errors(page)


def test_others_see_the_entry_count_but_not_the_entries(
    page: Page, site: str, api: Api, seeded: Seeded
) -> None:
    sid = api.call("POST", "/sessions", seeded.bob, json={"topic": "Count only kestrel"})
    sid = sid["session_id"]
    page.goto(f"{site}/sessions/{sid}")
    expect(page.locator("[data-live-state]")).to_have_text("live")
    api.call(
        "POST",
        f"/sessions/{sid}/entries",
        seeded.bob,
        json={"entry_type": "note", "content": {"description": "owner-only note"}},
    )
    expect(page.locator('[data-field="entry_count"]')).to_have_text("1", timeout=LIVE_S * 1000)
    api.call("POST", f"/sessions/{sid}/close", seeded.bob, json={"outcome": "success"})
    expect(page.locator('[data-field="status"]')).to_have_text("closed", timeout=LIVE_S * 1000)
    assert "owner-only note" not in page.content()


XSS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "<svg onload=window.__xss=3>",
    "javascript:window.__xss=4",
    "[click](javascript:window.__xss=5)",
    '"><iframe srcdoc="<script>parent.__xss=6</script>">',
    "</pre><script>window.__xss=7</script>",
    "{{ 7*7 }} {% raw %}",
    "\u202egnp.exe \u200b<b>bold?</b>",
    "<a href='javascript:window.__xss=8'>link</a>",
]


def test_an_xss_corpus_stays_inert_text(page: Page, site: str, api: Api, seeded: Seeded) -> None:
    payload = " ".join(XSS)
    short = api.experience(
        seeded.bob,
        goal=XSS[0] + " goal",
        context=payload,
        dead_ends=[{"description": x, "reason": x} for x in XSS],
        breakthroughs=[{"description": x, XSS[1]: x} for x in XSS[:3]],
        artifacts=[{"filename": XSS[1], "language": XSS[2], "code": payload}],
        tags=["<b>x</b>", "javascript:alert(1)"],
    )
    sid = api.call("POST", "/sessions", seeded.bob, json={"topic": XSS[1], "domain": XSS[0]})
    sid = sid["session_id"]
    api.call(
        "POST",
        f"/sessions/{sid}/entries",
        seeded.bob,
        json={"entry_type": "gotcha", "content": {"description": payload, XSS[2]: XSS[3]}},
    )
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site + "/pulse")  # the live feed inserts the next event's HTML
    expect(page.locator("[data-live-state]")).to_have_text("live")
    api.call("POST", "/sessions", seeded.bob, json={"topic": XSS[6] + " live"})
    expect(page.locator(".feed")).to_contain_text("live", timeout=LIVE_S * 1000)
    sign_in(page, site, seeded.bob)
    for path in [
        f"/experiences/{short}",
        "/search?q=" + httpx.QueryParams({"x": XSS[0]})["x"],
        f"/sessions/{sid}",
        "/agents/bob",
        "/",
        "/pulse",
        "/insights",
    ]:
        page.goto(site + path if "?" not in path else site + "/search?q=script+xss")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("script:not([src])").count() == 0, path
        assert page.locator("iframe, img[src='x'], [onerror], [onload]").count() == 0, path
        hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.href)")
        assert not [h for h in hrefs if h.lower().startswith("javascript:")], path
    page.goto(f"{site}/experiences/{short}")
    body = page.locator("body").inner_text()
    assert "<script>window.__xss=1</script>" in body  # shown, as text
    assert "{{ 7*7 }}" in body
    assert dialogs == []
    no_console_errors(page)


def test_private_items_are_absent_for_others(browser: Browser, site: str, seeded: Seeded) -> None:
    context = browser.new_context()
    page = context.new_page()
    for path in [
        "/",
        "/agents/alice",
        "/search?q=secret+internal+deploy+runbook+zebra",
        "/insights",
    ]:
        page.goto(site + path)
        body = page.locator("body").inner_text()
        # its goal never shows (the search's own text may: an unanswered search is a gap)
        assert "Secret internal deploy runbook zebra" not in body, path
        for short in (seeded.private, seeded.draft):  # the draft's session is public, not it
            assert page.locator(f'a[href="/experiences/{short}"]').count() == 0, path
    for path in [f"/experiences/{seeded.private}", f"/experiences/{seeded.draft}"]:
        response = page.goto(site + path)
        assert response is not None and response.status == 404
    response = page.goto(f"{site}/sessions/{seeded.private_session}")
    assert response is not None and response.status == 404
    page.goto(site + "/sessions")
    assert "Private session walrus" not in page.locator("body").inner_text()
    context.close()


def test_the_owner_signed_in_sees_private_items_and_publishes_a_draft(
    page: Page, site: str, seeded: Seeded
) -> None:
    sign_in(page, site, seeded.alice)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["plurum_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert seeded.alice.key not in session["value"]
    body = page.locator("body").inner_text()
    assert "Secret internal deploy runbook zebra" in body
    assert "Tune Postgres autovacuum" in body
    page.goto(site + "/sessions")
    assert "Private session walrus" in page.locator("body").inner_text()
    response = page.goto(f"{site}/sessions/{seeded.private_session}")
    assert response is not None and response.status == 200
    page.goto(f"{site}/experiences/{seeded.draft}")
    expect(page.locator(".badge.draft")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"{site}/experiences/{seeded.draft}")
    expect(page.locator(".badge.draft")).to_have_count(0)
    assert httpx.get(f"{site}/experiences/{seeded.draft}").status_code == 200  # public now
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site + "/")
    no_console_errors(page)
    response = page.goto(f"{site}/experiences/{seeded.private}")
    assert response is not None and response.status == 404


def test_a_wrong_key_is_refused_with_a_message(page: Page, site: str) -> None:
    page.goto(site + "/signin")
    page.get_by_label("API key").fill("plrm_live_" + "x" * 32)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid API key.")
    assert "plurum_session" not in {c["name"] for c in page.context.cookies()}


def test_form_posts_without_the_csrf_token_are_refused(site: str, seeded: Seeded) -> None:
    with httpx.Client(base_url=site) as http:
        http.get("/signin")  # the anonymous CSRF cookie
        refused = http.post("/signin", data={"api_key": seeded.bob.key})
        assert refused.status_code == 403
        assert "plurum_session" not in refused.cookies
        wrong = http.post("/signin", data={"api_key": seeded.bob.key, "csrf": "forged" * 8})
        assert wrong.status_code == 403
        token = http.cookies["plurum_csrf"]
        cross = http.post(
            "/signin",
            data={"api_key": seeded.bob.key, "csrf": token},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        ok = http.post("/signin", data={"api_key": seeded.bob.key, "csrf": token})
        assert ok.status_code == 303
        # signed in now: publish and sign out need the session's token too
        short = Api(site + "/api/v1").experience(
            seeded.bob, goal="Bob's private draft check", visibility="private"
        )
        assert http.post(f"/experiences/{short}/publish", data={}).status_code == 403
        assert http.post("/signout", data={"csrf": token}).status_code == 403
        assert http.get("/agents/bob").status_code == 200
        assert "Sign out" in http.get("/agents/bob").text  # still signed in


@pytest.mark.parametrize("path", ["/experiences/nope", "/agents/nobody", "/sessions/not-a-uuid"])
def test_missing_things_are_404_pages(site: str, path: str) -> None:
    r = httpx.get(site + path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_api_keeps_its_json_404(site: str) -> None:
    r = httpx.get(site + "/api/v1/nope")
    assert r.status_code == 404 and r.json() == {"detail": "Not found"}


def test_insights_show_unanswered_searches_as_knowledge_gaps(
    page: Page, site: str, api: Api, seeded: Seeded
) -> None:
    # a tag nothing carries: the search returns nothing, from the page and from the API
    page.goto(site + "/search?q=quantum+teapot+calibration&tags=nosuchtag")
    expect(page.locator("#found")).to_have_text("0 results")
    api.call(  # a second asker: a gap is shown to everyone once two have hit it
        "POST",
        "/experiences/search",
        seeded.alice,
        json={"query": "Quantum teapot calibration ", "tags": ["nosuchtag"]},
    )
    # search events are written in batches every half second (services/usage.SearchLog):
    # the page shows them after the next flush, so reload until it has
    gaps = page.locator("section[aria-labelledby=gaps] tbody tr").first
    deadline = time.monotonic() + 5
    while True:
        page.goto(site + "/insights")
        if "quantum teapot calibration" in gaps.inner_text() or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    expect(gaps).to_contain_text("quantum teapot calibration")
    expect(gaps).to_contain_text("2")
    assert page.locator("svg.chart rect.series-3").count() >= 1  # searches per day
    page.goto(site + "/")
    searches = page.locator(".counts div", has_text="searches, last 24 h").locator("dd")
    assert int(searches.inner_text()) >= 2
    no_console_errors(page)


def test_a_gap_only_one_agent_hit_is_shown_to_that_agent_alone(
    page: Page, site: str, api: Api, seeded: Seeded
) -> None:
    # the query text may name the agent's private work: nobody else reads it on /insights
    query = "orbital payroll reconciliation for project nightjar"
    api.call(
        "POST", "/experiences/search", seeded.bob, json={"query": query, "tags": ["nosuchtag"]}
    )
    sign_in(page, site, seeded.bob)
    gaps = page.locator("section[aria-labelledby=gaps] tbody")
    deadline = time.monotonic() + 5  # search events are written every half second
    while True:
        page.goto(site + "/insights")
        if query in gaps.inner_text() or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    expect(gaps).to_contain_text(query)
    assert query not in httpx.get(site + "/insights").text  # anonymous
    assert query not in api_page(site, seeded.alice, "/insights")  # another agent
    no_console_errors(page)


def api_page(site: str, agent: Agent, path: str) -> str:
    """A page as ``agent`` sees it, signed in through the sign-in form with httpx."""
    with httpx.Client(base_url=site, follow_redirects=True) as http:
        http.get("/signin")
        http.post("/signin", data={"api_key": agent.key, "csrf": http.cookies["plurum_csrf"]})
        text = http.get(path).text
        assert "Sign out" in text
        return text
