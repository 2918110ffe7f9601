"""The review widget in a real browser: Voilà renders a notebook holding it, headless Chromium
(Debian's, driven by Playwright) chooses a label and clicks "next", and the choice is in the
annotation log on disk; then keyboard shortcuts (through ipyevents) go back and undo it.

Needs Chromium at /usr/bin/chromium (``make install`` puts it there with apt where it can) and
the ``browser`` extra (Playwright, Voilà). Marked slow: starting a server and a browser takes
about 15 s.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from toolkit.labels.review import ReviewSession

from ..conftest import write_tiny_labels_dir

CHROMIUM = os.environ.get("TOOLKIT_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: without them Chromium keeps trying to reach Google's hosts.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LETTER = "rec-2012-01-tiny-2"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _notebook(path: Path, labels_dir: Path, log: Path, decisions: Path) -> None:
    code = (
        "from toolkit.labels.review import ReviewSession\n"
        f"session = ReviewSession.for_letter({str(labels_dir)!r}, {LETTER!r}, log={str(log)!r}, annotator='browser')\n"
        f"session.widget({str(decisions)!r})"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"voila exited with {server.returncode}: {server.stdout.read() if server.stdout else ''}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"voila did not listen on port {port} within {timeout} s")


def test_a_choice_made_in_a_real_browser_is_in_the_log(tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make install` (it installs Debian's chromium) or set TOOLKIT_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser extra: pip install -e '.[browser]'")
    pytest.importorskip("voila", reason="the browser extra: pip install -e '.[browser]'")
    labels_dir = write_tiny_labels_dir(tmp_path / "data")
    (labels_dir / "annotations" / f"{LETTER}.jsonl").unlink()  # a letter to label from the proposals
    log, decisions, notebook = tmp_path / "review.log.jsonl", tmp_path / "decisions.jsonl", tmp_path / "review.ipynb"
    _notebook(notebook, labels_dir, log, decisions)
    first = ReviewSession.for_letter(labels_dir, LETTER).items[0]
    stance = first.start["stance"]

    port = _free_port()
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]))
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    server = subprocess.Popen(
        [voila, str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for_port(port, server)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:], headless=True)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
            page.wait_for_selector("text=1 / 8", timeout=90_000)
            menu = page.locator(".widget-dropdown", has_text="stance").locator("select")
            other = next(option for option in menu.locator("option").all_inner_texts() if option != stance)
            menu.select_option(label=other)
            page.get_by_role("button", name="next ▶").click()
            page.wait_for_selector("text=2 / 8", timeout=30_000)
            page.get_by_text(ReviewSession.for_letter(labels_dir, LETTER).items[1].text).hover()
            page.keyboard.press("k")  # the keyboard shortcut for "previous", through ipyevents
            page.wait_for_selector("text=1 / 8", timeout=30_000)
            page.keyboard.press("u")  # undo the choice
            page.wait_for_function(
                "([selector, label]) => [...document.querySelectorAll(selector)].some(s => s.value === label)",
                arg=[".widget-dropdown select", stance], timeout=30_000,
            )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    chosen = [record for record in records if record.get("action") == "choose"]
    assert chosen and chosen[0]["task"] == "stance" and chosen[0]["label"] == other and chosen[0]["annotator"] == "browser"
    undone = [record for record in records if record.get("action") == "undo"]
    assert undone and undone[0]["task"] == "stance"
    assert ReviewSession.for_letter(labels_dir, LETTER, log=log).choices[0]["stance"] == stance  # replayed from the log
