"""Open a local HTML file in headless Chromium and return the DOM after its scripts ran.

The evidence bundle's ``report.html`` must render its plotly charts offline; a test proves
it by loading the file in a real browser and looking for what plotly.js draws. Chromium runs
once per page with ``--dump-dom`` and a virtual time budget (scripts and timers run in
virtual time, so the page settles without sleeping), a throwaway profile, and every host
name resolving to nothing, so a page that needs the network fails here as it would on an
auditor's offline machine. Its console (``console.log``/``error``, uncaught exceptions) is
read from Chromium's log and returned with the DOM.

Chromium is found as ``$LEDGER_AUDIT_CHROMIUM``, else ``chromium``, ``chromium-browser``,
``google-chrome-stable`` or ``google-chrome`` on PATH; ``scripts/ensure-chromium.sh``
installs Debian's ``chromium`` package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_ENV = "LEDGER_AUDIT_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
DEFAULT_BUDGET_MS = 10_000
DEFAULT_TIMEOUT_S = 90.0

_CONSOLE = re.compile(
    r'CONSOLE[:(]\d*\)?\] "(?P<message>.*)", source: (?P<source>.*) \((?P<line>\d+)\)$',
    re.MULTILINE,
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium executable was found."""


class BrowserError(RuntimeError):
    """Chromium failed to load or dump the page."""


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """One line the page wrote to the browser console (or an uncaught exception)."""

    message: str
    source: str
    line: int


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """The page after its scripts ran.

    Attributes:
        dom: the serialised DOM (``document.documentElement.outerHTML`` with a doctype).
        console: what the page wrote to the console, in order.
    """

    dom: str
    console: tuple[ConsoleMessage, ...]

    @property
    def errors(self) -> tuple[ConsoleMessage, ...]:
        """Console lines that report an uncaught exception or a failed load."""
        return tuple(
            m
            for m in self.console
            if m.message.startswith("Uncaught") or "Failed to load" in m.message
        )


def find_chromium() -> Path:
    """The Chromium executable (see the module docstring for the search order)."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            raise ChromiumNotFoundError(f"${CHROMIUM_ENV}={configured} is not an executable")
        return Path(configured)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ChromiumNotFoundError(
        f"no Chromium found ({', '.join(CHROMIUM_NAMES)} on PATH, or ${CHROMIUM_ENV}): "
        "run scripts/ensure-chromium.sh (as root) to install Debian's chromium package"
    )


def render_page(
    page: Path,
    *,
    budget_ms: int = DEFAULT_BUDGET_MS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    chromium: Path | None = None,
    window: tuple[int, int] | None = None,
) -> RenderedPage:
    """Load ``page`` in headless Chromium, let its scripts run, and return the DOM.

    Args:
        page: a local HTML file.
        budget_ms: virtual time the page gets to settle (timers and animations included).
        timeout_s: wall-clock limit for the browser process.
        chromium: the executable; found with :func:`find_chromium` when None.
        window: the window's (width, height) in CSS pixels; None: Chromium's default.

    Raises:
        ChromiumNotFoundError: no Chromium.
        BrowserError: Chromium exited with an error, timed out or dumped nothing.
    """
    executable = find_chromium() if chromium is None else chromium
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="ledger-audit-chromium-") as profile:
        command = [
            str(executable),
            "--headless",
            "--no-sandbox",  # root in containers and CI cannot use the setuid sandbox
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no host resolves
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={budget_ms}",
            *([f"--window-size={window[0]},{window[1]}"] if window else []),
            "--dump-dom",
            url,
        ]
        try:
            done = subprocess.run(  # noqa: S603 - our own executable and arguments
                command,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium did not finish {url} in {timeout_s} s") from exc
    if done.returncode != 0 or not done.stdout.strip():
        tail = "\n".join(done.stderr.splitlines()[-20:])
        raise BrowserError(f"chromium exited with {done.returncode} on {url}:\n{tail}")
    console = tuple(
        ConsoleMessage(m["message"], m["source"], int(m["line"]))
        for m in _CONSOLE.finditer(done.stderr)
    )
    return RenderedPage(dom=done.stdout, console=console)


class _Charts(HTMLParser):
    """Find, for each element with one of ``ids``, whether an ``svg.main-svg`` is inside it."""

    def __init__(self, ids: Iterable[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.wanted = frozenset(ids)
        self.stack: list[str | None] = []  # the wanted id an open element belongs to
        self.drawn: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        inside = self.stack[-1] if self.stack else None
        own = values.get("id")
        if own in self.wanted and own is not None:
            inside = own
        classes = (values.get("class") or "").split()
        if inside is not None and tag == "svg" and "main-svg" in classes:
            self.drawn.add(inside)
        if tag not in _VOID:
            self.stack.append(inside)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self.stack:
            self.stack.pop()


def rendered_charts(dom: str, ids: Iterable[str]) -> dict[str, bool]:
    """For each chart ``div`` id: True when plotly drew an ``svg.main-svg`` inside it.

    An id absent from the DOM maps to False too.
    """
    wanted = tuple(ids)
    parser = _Charts(wanted)
    parser.feed(dom)
    parser.close()
    return {chart: chart in parser.drawn for chart in wanted}


# --- layout, as a reader's window shows it ------------------------------------------------

_MEASURE_ID = "ledger-audit-layout"
_MEASURE = """
<script>
window.addEventListener("load", () => setTimeout(() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      const name = `${element.tagName.toLowerCase()}.${element.className || ""}`;
      wide.push(`${name} ${Math.round(box.right)}`);
    }
  }
  const out = document.createElement("pre");
  out.id = "MEASURE_ID";
  out.textContent = JSON.stringify({
    width: width,
    height: document.documentElement.scrollHeight,
    scroll_width: document.documentElement.scrollWidth,
    wide: wide,
    text: document.body.innerText,
  });
  document.body.appendChild(out);
}, 1000));
</script>
""".replace("MEASURE_ID", _MEASURE_ID)


@dataclass(frozen=True, slots=True)
class Layout:
    """How a page lays out in a window of a given width.

    Attributes:
        width: the window's layout width (CSS pixels).
        height: the page's full height (``scrollHeight``).
        scroll_width: the page's full width: more than ``width`` is a horizontal scroll.
        wide: elements whose right edge passes the window's (``tag.class right``).
        text: the page's visible text (``innerText``), as a reader sees it.
    """

    width: int
    height: int
    scroll_width: int
    wide: tuple[str, ...]
    text: str


def measure_layout(
    page: Path,
    width: int,
    *,
    height: int = 900,
    chromium: Path | None = None,
    budget_ms: int = DEFAULT_BUDGET_MS,
) -> Layout:
    """Lay ``page`` out in a ``width`` x ``height`` window and measure it.

    A copy of the page is loaded, with a script that records the layout once the page's own
    scripts have run.
    """
    import html  # noqa: PLC0415 - one use
    import json  # noqa: PLC0415

    text = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="ledger-audit-layout-") as folder:
        copy = Path(folder) / page.name
        copy.write_text(text.replace("</body>", _MEASURE + "</body>", 1), encoding="utf-8")
        dom = render_page(copy, chromium=chromium, window=(width, height), budget_ms=budget_ms).dom
    found = re.search(f'<pre id="{_MEASURE_ID}">(.*?)</pre>', dom, re.DOTALL)
    if found is None:
        raise BrowserError(f"the layout of {page} was not recorded")
    data = json.loads(html.unescape(found.group(1)))
    return Layout(
        width=int(data["width"]),
        height=int(data["height"]),
        scroll_width=int(data["scroll_width"]),
        wide=tuple(str(w) for w in data["wide"]),
        text=str(data["text"]),
    )


def screenshot(
    page: Path,
    path: Path,
    *,
    window: tuple[int, int] = (1400, 1000),
    chromium: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """A PNG of the top ``window`` of ``page`` as headless Chromium draws it (for the docs).

    Raises:
        ChromiumNotFoundError: no Chromium.
        BrowserError: Chromium failed or wrote no image.
    """
    executable = find_chromium() if chromium is None else chromium
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ledger-audit-chromium-") as profile:
        command = [
            str(executable),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={path.resolve()}",
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - our own executable and arguments
                command, capture_output=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium did not draw {page} in {timeout_s} s") from exc
    if done.returncode != 0 or not path.is_file():
        raise BrowserError(f"chromium exited with {done.returncode} drawing {page}")
    return path
