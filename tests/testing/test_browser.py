"""The browser harness: finding Chromium, and telling drawn charts from empty ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.testing.browser import (
    CHROMIUM_ENV,
    BrowserError,
    ChromiumNotFoundError,
    find_chromium,
    render_page,
    rendered_charts,
    screenshot,
)
from tests.conftest import missing_prerequisite

DOM = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<div id="drawn"><div class="plot-container plotly"><div class="svg-container">
<svg class="main-svg"><g><rect></rect></g></svg><br></div></div></div>
<div id="empty"><div class="plot-container plotly"><img src="x.png"></div></div>
<div id="outside"></div><svg class="main-svg"></svg>
</body></html>
"""


def test_rendered_charts_looks_inside_each_div_only() -> None:
    assert rendered_charts(DOM, ["drawn", "empty", "outside", "absent"]) == {
        "drawn": True,
        "empty": False,
        "outside": False,
        "absent": False,
    }


def test_configured_chromium_must_be_an_executable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    with pytest.raises(ChromiumNotFoundError, match=CHROMIUM_ENV):
        find_chromium()


def test_render_page_runs_scripts_and_reads_the_console(tmp_path: Path) -> None:
    try:
        chromium = find_chromium()
    except ChromiumNotFoundError as exc:
        missing_prerequisite(str(exc))
    page = tmp_path / "page.html"
    page.write_text(
        "<!DOCTYPE html><html><body><div id='out'></div><script>"
        "document.getElementById('out').textContent = 'ran ' + (6 * 7);"
        "setTimeout(() => { document.body.dataset.late = 'yes'; }, 3000);"
        "console.log('hello');"
        "</script></body></html>",
        encoding="utf-8",
    )
    rendered = render_page(page, chromium=chromium)
    assert "ran 42" in rendered.dom
    assert 'data-late="yes"' in rendered.dom  # virtual time let the timer fire
    assert [m.message for m in rendered.console] == ["hello"]
    assert rendered.errors == ()


def test_a_failing_browser_is_an_error(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    with pytest.raises(BrowserError, match="exited with 3"):
        render_page(tmp_path / "page.html", chromium=fake)


def test_screenshot_draws_the_page_as_a_png_of_the_window(tmp_path: Path) -> None:
    try:
        chromium = find_chromium()
    except ChromiumNotFoundError as exc:
        missing_prerequisite(str(exc))
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body><h1>Close</h1></body></html>", encoding="utf-8")
    png = screenshot(page, tmp_path / "docs" / "shot.png", window=(640, 480), chromium=chromium)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (640, 480)
