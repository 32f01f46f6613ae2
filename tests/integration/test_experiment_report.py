"""The HTML experiment report in a real browser: Debian's headless Chromium, driven by
playwright, opens the file `adsx experiment analyze --out` writes, logs no console error, draws
every chart (lines and interval bands), shows the verdict, the sample-ratio state and the
breakdown by device when the data has one, and the test saves screenshots (var/screenshots/) for a person to look at. Needs no stack service."""

from __future__ import annotations

from conftest import SOURCE_DIR, experiment_csv, open_report, run_adsx

SHOTS = SOURCE_DIR / "var" / "screenshots"


def write_report(tmp_path, name, **data):
    experiment_csv(tmp_path / f"{name}.csv", **data)
    r = run_adsx("experiment", "analyze", "--input", str(tmp_path / f"{name}.csv"), "--name",
                 name, "--out", str(tmp_path / name))  # fmt: skip
    assert r.returncode == 0, r.stderr
    return tmp_path / name / "report.html"


def test_report_draws_every_chart_without_console_errors(browser, tmp_path):
    page, errors = open_report(browser, write_report(tmp_path, "lift", seed=3, users=40_000,
                                                     days=7, lift_b=0.2, devices=True))  # fmt: skip
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "experiment_report.png"), full_page=True)
    assert errors == []
    # A forest plot (an error bar and a dot per metric and treatment arm: 4 x B, C) and one
    # timeline per metric, each with a path and a band per treatment arm.
    assert page.locator(".chart").count() == 5
    assert page.locator("#forest line.band").count() == 8
    assert page.locator("#forest circle.point").count() == 8
    assert page.locator("#timeline path.lift").count() == 8
    assert page.locator("#timeline polygon.band").count() == 8
    assert page.locator("#timeline circle.point").count() == 8 * 7
    box = page.locator("#timeline svg").first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    assert "SHIP" in page.locator("#verdict").inner_text()
    assert "as designed" in page.locator("#srm").inner_text()
    assert page.locator("#arms tr").count() == 4  # header + A, B, C
    assert page.locator("#metrics tr").count() == 9  # header + 4 metrics x 2 arms
    assert page.title() == "Experiment lift"
    # The breakdown: CTR per device for B and C against A (4 devices x 2 arms).
    assert page.locator("#breakdown").is_visible()
    assert page.locator("#segments tr").count() == 1 + 4 * 2
    assert "ios" in page.locator("#segments").inner_text()
    page.close()


def test_a_mismatched_sample_ratio_is_shown_and_withholds_the_verdict(browser, tmp_path):
    page, errors = open_report(browser, write_report(tmp_path, "lost", seed=4, users=40_000,
                                                     days=2, drop_c=0.05))  # fmt: skip
    page.screenshot(path=str(SHOTS / "experiment_report_srm.png"), full_page=True)
    assert errors == []
    assert "Sample-ratio mismatch" in page.locator("#srm").inner_text()
    assert "INVALID" in page.locator("#verdict").inner_text()
    assert not page.locator("#breakdown").is_visible()  # no device or geo in this data
    page.close()


def test_one_day_is_one_look_drawn_as_a_point_with_its_interval(browser, tmp_path):
    page, errors = open_report(browser, write_report(tmp_path, "oneday", seed=5, users=20_000,
                                                     days=1))  # fmt: skip
    assert errors == []
    assert page.locator("#timeline .chart").count() == 4
    assert page.locator("#timeline circle.point").count() == 8
    assert page.locator("#timeline polygon.band").count() == 0
    page.close()
