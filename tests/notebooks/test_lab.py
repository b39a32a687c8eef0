"""scripts/lab.sh starts a real JupyterLab on the notebooks, as root too (the README runs it so)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import PROJECT_ROOT, missing_prerequisite

if TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = PROJECT_ROOT / "scripts" / "lab.sh"
STARTUP_BOUND_S = 180  # a bound on waiting, not an assertion about speed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Lab:
    """A JupyterLab server started by scripts/lab.sh, asked through its REST API."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, token: str, log: Path) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.token = token
        self.log = log

    def get(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET ``path`` of the REST API, or POST ``body`` to it."""
        return json.loads(self.text(path, body))

    def text(self, path: str, body: dict[str, Any] | None = None) -> str:
        """The server's answer to ``path`` as text."""
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1, built above
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - the same
            text: str = answer.read().decode("utf-8")
            return text

    def wait_until_up(self) -> dict[str, Any]:
        """The server's ``/api`` answer, once it gives one (fail with its log if it never does)."""
        deadline = time.monotonic() + STARTUP_BOUND_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"scripts/lab.sh exited {self.process.returncode}:\n{self.output()}")
            try:
                answer: dict[str, Any] = self.get("/api")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
            else:
                return answer
        pytest.fail(f"JupyterLab did not answer within {STARTUP_BOUND_S} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One server for this module's tests (each start costs seconds)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    if not (PROJECT_ROOT / ".venv" / "bin" / "jupyter").is_file():
        missing_prerequisite("the project's .venv is not set up: run scripts/setup.sh")
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # no server file left behind
    log = tmp_path / "lab.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                "bash",
                str(SCRIPT),
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
            ],
            cwd=tmp_path,  # anywhere: the script finds the project itself
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Lab(process, port, token, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_the_lab_starts_in_the_notebooks_folder_for_root_too(lab: Lab) -> None:
    assert "version" in lab.wait_until_up()
    listing = lab.get("/api/contents")
    names = {item["name"] for item in listing["content"]}
    shipped = {p.name for p in (PROJECT_ROOT / "notebooks").glob("*.ipynb")}
    assert shipped
    assert shipped <= names  # the server's root is notebooks/
    assert "pyproject.toml" not in names
    one = lab.get("/api/contents/02_integrity.ipynb")
    assert one["type"] == "notebook"
    assert "parameters" in one["content"]["cells"][1]["metadata"]["tags"]
    # exec kept the server the script's own process: its arguments are what the script chose
    argv = Path(f"/proc/{lab.process.pid}/cmdline").read_bytes().split(b"\0")
    assert (b"--allow-root" in argv) == (os.geteuid() == 0)
    assert b"--no-browser" in argv  # no display here
    # the explorer's widgets and the charts render in this JupyterLab, not only headless
    page = lab.text("/lab")
    assert "@jupyter-widgets/jupyterlab-manager" in page
    assert "jupyterlab-plotly" in page


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children first."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:  # the process ended meanwhile: it has no children left
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # the thread ended between the listing and the read
            continue
        for child in children:
            found += [int(child), *descendants(int(child))]
    return found


def test_a_notebook_opened_in_the_lab_gets_a_kernel_started_in_notebooks(lab: Lab) -> None:
    """What the notebook tests rely on: JupyterLab starts the kernel in the notebook's folder."""
    lab.wait_until_up()
    session = lab.get(
        "/api/sessions",
        {"path": "02_integrity.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
    )
    assert session["kernel"]["id"]
    kernels = [
        pid
        for pid in descendants(lab.process.pid)
        if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(kernels) == 1
    assert Path(f"/proc/{kernels[0]}/cwd").resolve() == PROJECT_ROOT / "notebooks"
