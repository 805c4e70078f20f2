"""`snakemake --report report.html` on the tiny study: one self-contained file with every figure
(embedded, byte for byte), its caption, the exponent table and the configuration, that a
headless browser renders."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import snakemake_command, snakemake_env

# Categories the report's menu shows once its JavaScript has run (rule outputs marked report()).
CATEGORIES = ("Phase diagrams", "Risk curves", "Scaling exponents", "Spectra")
# Building the report reads every marked output and embeds it: seconds; a browser render too.
REPORT_TIMEOUT_S = 180
BROWSER_TIMEOUT_S = 120
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def report(tiny_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Written outside the study's folder: the other workflow tests hash what is inside it.
    path = tmp_path_factory.mktemp("report") / "report.html"
    completed = subprocess.run(
        snakemake_command(tiny_study, "--report", str(path)),
        capture_output=True, text=True, env=snakemake_env(), timeout=REPORT_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return path


def _embedded(html: str, path: Path) -> bool:
    return base64.b64encode(path.read_bytes()).decode() in html


@pytest.mark.slow
def test_report_embeds_every_figure_with_its_caption(report: Path, tiny_study: Path) -> None:
    html = report.read_text(encoding="utf-8")
    figures = sorted((tiny_study / "results" / "figures").glob("*.png"))
    # The tiny study draws Figures 1–8 for both models: the check has something to find.
    names = {p.stem.split("_")[0] for p in figures}
    assert {"fig1", "fig3", "fig4", "fig5"} <= names and len(figures) >= 10
    missing = [p.name for p in figures if not _embedded(html, p)]
    assert not missing, f"figures not embedded in the report: {missing}"
    for number in (1, 3, 4, 5):
        assert f"Regenerates <strong>paper Figure {number}</strong>" in html
    # A report that needs its results folder next to it is not self-contained.
    assert re.search(r'"data_uri": "data:image/png;[^"]*filename=fig1_diagonal\.png;base64,', html)


@pytest.mark.slow
def test_report_holds_the_exponent_table_and_the_config(report: Path, tiny_study: Path) -> None:
    html = report.read_text(encoding="utf-8")
    tables = tiny_study / "results" / "tables"
    assert _embedded(html, tables / "exponents.html") and _embedded(html, tables / "exponents.csv")
    # The merged configuration is printed (as escaped JSON) in the workflow description, with the
    # tiny overlay's values, not the defaults.
    assert "&quot;window_points&quot;: 3," in html
    assert re.search(r"&quot;se_d&quot;: \{(\\n|\s)*&quot;diagonal&quot;: \[(\\n|\s)*100,(\\n|\s)*300", html)


def _browser() -> str | None:
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


@pytest.mark.slow
def test_report_renders_in_a_headless_browser(report: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(
            "no headless browser found (looked for chromium, google-chrome); on Debian: apt-get install -y chromium"
        )
    completed = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    dom = completed.stdout
    # The menu entries exist only once the report's scripts ran on the embedded data.
    for category in CATEGORIES:
        assert f"<span>{category}</span>" in dom, category
    assert "Regenerates" in dom and "window_points" in dom
