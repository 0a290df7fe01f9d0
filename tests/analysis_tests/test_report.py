"""`adls report`: one self-contained HTML page per results folder (content checks; the browser test renders it)."""

import re
from pathlib import Path

import pytest

from analysis.report import experiment_folders, write_report
from errors import ResultsError
from tests.analysis_tests.report_fixtures import write_lab1_qat, write_lab2_nas


def test_the_page_holds_every_experiment_with_embedded_figures_best_trials_and_facts(tmp_path):
    write_lab2_nas(tmp_path)
    write_lab1_qat(tmp_path)
    (tmp_path / "lab1-qat.previous").mkdir()  # moved-aside runs are not reported
    path = Path(write_report(tmp_path))
    text = path.read_text()

    assert path == tmp_path / "report.html"
    # The title says where the results come from, so a smoke page is never taken for a result.
    assert f"<h1>adls-tune report: {tmp_path.name} (smoke profile, rotten_tomatoes)</h1>" in text
    assert [Path(f).name for f in experiment_folders(tmp_path)] == ["lab1-qat", "lab2-nas"]  # lab order
    assert text.index('id="lab1-qat"') < text.index('id="lab2-nas"')
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) >= 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing from the network
    # The best trials: width 8 wins the tie with 16 (fewer weight bits); failed trials never win.
    assert "best by max qat_accuracy; ties: lower cost_weight_bits" in text
    best = re.search(r'<tr class="best"><td>1</td><td>1</td><td>width=8, frac_ratio=0.5</td>', text)
    assert best, text[:2000]
    assert "tune/qat/trial_1/checkpoint_000000" in text
    assert "hidden_size=128" in text and "accuracy=0.6912" in text
    # Run facts.
    for fact in ("Lab 1 task 1: fixed-point width", "smoke", "rotten_tomatoes", "1 min 23 s", "ray 2.60.0"):
        assert fact in text
    assert "6 (5 finished, 1 failed)" in text and "1 (10.0.0.2)" in text


def test_one_experiment_folder_and_an_explicit_output(tmp_path):
    folder = write_lab1_qat(tmp_path)
    path = Path(write_report(folder, tmp_path / "out" / "page.html", top=1))
    assert path.is_file() and 'id="lab1-qat"' in path.read_text()


def test_a_folder_without_results_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(ResultsError, match="run `adls run lab1` first"):
        write_report(tmp_path)
    with pytest.raises(ResultsError, match="does not exist"):
        write_report(tmp_path / "nope")
