"""The report as a browser shows it: headless Chromium loads it with no errors, every image decoded, best values visible."""

from pathlib import Path

import pytest

from analysis.report import write_report
from tests.analysis_tests.chromium import find_chromium, inspect_page
from tests.analysis_tests.report_fixtures import write_lab1_qat, write_lab2_nas

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_chromium_renders_the_report_without_errors(tmp_path):
    if find_chromium() is None:
        pytest.fail(
            "Debian's chromium is needed for this test (apt-get install chromium; .ci/run installs it)"
        )
    results = tmp_path / "results"
    write_lab1_qat(results)
    write_lab2_nas(results)
    page = Path(write_report(results, tmp_path / "report.html"))

    report = inspect_page(page.as_uri(), tmp_path / "report.png")

    assert report.errors == []
    images = report.value["images"]
    assert len(images) == 3 and all(image["complete"] and image["width"] > 0 for image in images), images
    text = report.value["text"]
    # The best configuration of each search, as the page shows it.
    assert "width=8, frac_ratio=0.5" in text and "qat_accuracy=0.7731" in text
    assert "num_hidden_layers=2, hidden_size=128" in text and "accuracy=0.6912" in text
    assert "best by max qat_accuracy" in text
    shot = (tmp_path / "report.png").read_bytes()
    assert shot.startswith(PNG_SIGNATURE) and len(shot) > 50_000


def test_the_check_sees_a_broken_image_and_console_errors(tmp_path):
    if find_chromium() is None:
        pytest.fail(
            "Debian's chromium is needed for this test (apt-get install chromium; .ci/run installs it)"
        )
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><p>hello</p>'
        '<img src="missing.png" alt="gone"><script>console.error("boom"); undefinedCall();</script></body></html>'
    )
    report = inspect_page(page.as_uri(), tmp_path / "broken.png")
    assert report.value["images"] == [{"alt": "gone", "complete": True, "width": 0}]
    joined = "\n".join(report.errors)
    assert "console: boom" in joined and "undefinedCall" in joined and "missing.png" in joined, joined
