"""Every report kind's HTML opened in headless Chromium: no console error, not a blank page.

Each page is rendered from the synthetic store, opened with ``chromium --headless
--screenshot`` (the screenshot stays in pytest's tmp dir) and its console
messages read from Chromium's log (``--enable-logging=stderr``: lines with
``:CONSOLE``). Our pages run no script, so any console message is an error.
A page is blank when the screenshot is nearly uniform. Two control pages (a
script error, a near-empty page) check that the checks can fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread

from reports.render import render_html
from tests.reports.conftest import MANIFEST
from tests.reports.kinds_store import build_kind, one_store, report_kinds

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (CI installs the Debian package chromium)")]

#: Screenshot size (width, height) in pixels.
WINDOW = (1200, 2000)


def open_in_chromium(html_path, png_path) -> tuple[list[str], np.ndarray]:
    """Console messages of the page and its screenshot, shape (height, width, channels), values in [0, 1]."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={png_path}",
         "--enable-logging=stderr", "--v=0", html_path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert png_path.exists(), f"chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(\]]", line)]
    return console, imread(png_path)[..., :3]


def is_blank(image: np.ndarray) -> bool:
    """True when fewer than 1% of the pixels are darker than light grey or the image is nearly uniform."""
    ink = (image.mean(axis=2) < 0.9).mean()
    return ink < 0.01 or image.std() < 0.05


@pytest.fixture(scope="module")
def store():
    yield from one_store()


@pytest.mark.parametrize("kind", report_kinds())
def test_report_opens_in_chromium(store, kind, tmp_path):
    html = render_html(build_kind(store, kind), title="Synthetic_study & co", manifest_text=MANIFEST)
    page = tmp_path / f"{kind}.html"
    page.write_text(html, encoding="utf-8")
    console, image = open_in_chromium(page, tmp_path / f"{kind}.png")
    assert console == [], f"console messages of {kind}.html:\n" + "\n".join(console)
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    assert not is_blank(image), f"{kind}.html renders as a blank page (screenshot in {tmp_path})"


def test_the_checks_catch_errors_and_blank_pages(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>x</p><script>notDefined();</script></body></html>")
    console, image = open_in_chromium(bad, tmp_path / "bad.png")
    assert len(console) == 1 and "Uncaught ReferenceError: notDefined is not defined" in console[0]
    assert is_blank(image)
