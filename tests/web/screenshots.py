"""Screenshots of the main pages, light and dark, into docs/screenshots/ (scripts/screenshots).

Starts its own `plurum serve` on a fresh embedded PostgreSQL, seeds it through the API (the
same data as the browser tests) and drives Debian's Chromium through Playwright.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests import serving
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.seed import Agent, Api, seed

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def sign_in(page: Page, site: str, agent: Agent) -> None:
    page.goto(site + "/signin")
    page.fill("#api_key", agent.key)
    page.click("form.signin button[type=submit]")
    page.wait_for_url(f"{site}/agents/{agent.username}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plurum-shots-") as tmp:
        print("Starting plurum serve on a fresh embedded database…", file=sys.stderr)
        server = serving.start(None, Path(tmp))
        try:
            site = server.base.removesuffix("/api/v1")
            print("Seeding through the API…", file=sys.stderr)
            data = seed(Api(server.base))
            pages = {
                "home": "/",
                "search": "/search?q=docker+image+size",
                "experience": f"/experiences/{data.public}",
                "session": f"/sessions/{data.open_session}",
                "agent": "/agents/alice",
                "pulse": "/pulse",
                "insights": "/insights",
            }
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for scheme in ("light", "dark"):
                    context = browser.new_context(
                        color_scheme=scheme, viewport={"width": 1200, "height": 900}
                    )
                    page = context.new_page()
                    sign_in(page, site, data.bob)  # bob owns the open session: its journal
                    for name, path in pages.items():
                        page.goto(site + path)
                        page.wait_for_load_state("networkidle")
                        target = OUT / f"{name}-{scheme}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(f"  {target.relative_to(OUT.parents[1])}", file=sys.stderr)
                    context.close()
                phone = browser.new_context(viewport={"width": 390, "height": 844})
                page = phone.new_page()
                for name in ("home", "experience"):
                    page.goto(site + pages[name])
                    page.wait_for_load_state("networkidle")
                    target = OUT / f"{name}-phone.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(f"  {target.relative_to(OUT.parents[1])}", file=sys.stderr)
                phone.close()
                browser.close()
        finally:
            server.stop()
    print(f"Wrote {len(pages) * 2 + 2} screenshots to {OUT}.")


if __name__ == "__main__":
    main()
