"""Helpers for browser tests: viewport sizes, new pages, accessibility checks, screenshots,
layout checks.

Import them in a browser test with
`from tests.browser.helpers import check_accessibility, screenshot, assert_no_horizontal_scroll`.
(Signing staff in is `tests.helpers.sign_in_browser`.)
"""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DEFAULT_TIMEOUT_MS = 10_000

# Impacts that fail a test; "minor" and "moderate" findings are left to review.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})

_axe = Axe()


def new_page(browser: Browser, viewport: dict, **options) -> tuple[BrowserContext, Page]:
    """A page in a fresh browser context (close the context when done); `options` go to
    `browser.new_context`, e.g. `java_script_enabled=False`."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1, **options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context, context.new_page()


def accessibility_violations(page: Page, impacts=BLOCKING_IMPACTS) -> list[dict]:
    """Run axe-core in the page; the violations whose impact is in `impacts`."""
    results = _axe.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" [{violation.get('helpUrl', '')}]"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {target}: {summary}")
    return "\n".join(lines)


def check_accessibility(page: Page) -> None:
    """Fail when axe finds serious or critical violations, listing each with its targets."""
    violations = accessibility_violations(page)
    assert not violations, (
        f"axe found {len(violations)} serious/critical violation(s) on {page.url}:\n"
        + format_violations(violations)
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as test-artifacts/screenshots/<name>.png; return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when it fits)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )


def assert_no_horizontal_scroll(page: Page) -> None:
    overflow = horizontal_overflow(page)
    if overflow > 0:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
                .slice(0, 10)
                .map(el => el.tagName.toLowerCase()
                    + (el.id ? '#' + el.id : '')
                    + (el.className && typeof el.className === 'string'
                        ? '.' + el.className.trim().split(/\\s+/).join('.') : ''))"""
        )
        raise AssertionError(
            f"{page.url} scrolls sideways by {overflow}px at width "
            f"{page.viewport_size and page.viewport_size['width']}; widest elements: {wide}"
        )
