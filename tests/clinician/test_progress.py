"""Progress: the pure chart geometry and visit numbering, the page's SVG and data table, the
change against the meaningful-change thresholds, and the practical-trial prompt's boundaries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from booking.audit.models import AuditEvent
from booking.clinical.charts import (
    SeriesData,
    build_chart,
    linear_scale,
    polyline,
    runs,
    x_positions,
)
from booking.clinical.progress import patient_progress
from booking.clinical.visits import SeriesVisit, visit_number
from booking.db import now_utc
from booking.extensions import db
from booking.patients.models import Patient
from tests.clinician.helpers import series_with_outcomes

PROMPT = "Reassess the plan"

# --- Pure: scales, points and lines ----------------------------------------------------------


def test_linear_scale_maps_ends_and_runs_backwards_for_svg_y():
    y = linear_scale((0, 10), (200, 0))
    assert (y(0), y(10), y(5)) == (200, 0, 100)
    with pytest.raises(ValueError):
        linear_scale((3, 3), (0, 1))


def test_x_positions_spread_evenly_and_centre_one():
    assert x_positions(0, 0, 100) == []
    assert x_positions(1, 0, 100) == [50]
    assert x_positions(3, 0, 100) == [0, 50, 100]


def test_runs_split_at_missing_values():
    assert runs([1, 2, None, 3, None, None, 4, 5]) == [[0, 1], [3], [6, 7]]
    assert runs([None, None]) == []
    assert runs([]) == []


def test_build_chart_places_points_and_leaves_gaps():
    chart = build_chart(
        ["Intake", "Visit 1", "Visit 2", "Visit 3"],
        [SeriesData("Pain", (8, 6, None, 12))],
        10,
        guide=(6, "Meaningful fall"),
    )
    (line,) = chart.lines
    assert [p.label for p in line.points] == ["Intake", "Visit 1", "Visit 3"]
    assert line.points[0].y < line.points[1].y  # less pain sits lower (SVG y grows down)
    assert line.points[-1].y == chart.top  # 12 is clamped to the top of the 0-10 scale
    assert line.points[-1].value == 12  # but keeps its value for the table and description
    assert len(line.segments) == 1  # Visit 3 stands alone after the gap
    assert line.segments[0] == polyline(line.points[:2])
    assert [t.label for t in chart.y_ticks] == [str(n) for n in range(11)]
    assert chart.y_ticks[0].position == chart.bottom
    assert chart.guide is not None and chart.guide.y == line.points[1].y


def test_a_guide_off_the_scale_is_not_drawn():
    chart = build_chart(["Intake"], [SeriesData("Pain", (1,))], 10, guide=(-1, "x"))
    assert chart.guide is None


def test_build_chart_refuses_mismatched_series():
    with pytest.raises(ValueError):
        build_chart(["a", "b"], [SeriesData("Pain", (1,))], 10)


def test_polyline_formats_points():
    chart = build_chart(["a", "b"], [SeriesData("s", (0, 10))], 10)
    assert re.fullmatch(r"\d+\.\d,\d+\.\d \d+\.\d,\d+\.\d", polyline(chart.lines[0].points))


# --- Pure: visit numbers ---------------------------------------------------------------------


def _visit(n: int, day: int, opens: bool = False) -> SeriesVisit:
    return SeriesVisit(n, datetime(2026, 11, day, 15, tzinfo=UTC), opens)


def test_visits_are_numbered_from_the_latest_first_visit():
    old_series = [_visit(1, 2, True), _visit(2, 9)]
    new_series = [_visit(3, 16, True), _visit(4, 23), _visit(5, 30)]
    visits = old_series + new_series
    assert [visit_number(v, visits) for v in visits] == [1, 2, 1, 2, 3]


def test_a_booking_outside_the_count_gets_the_number_it_will_have():
    visits = [_visit(1, 2, True), _visit(2, 9)]
    awaiting = _visit(7, 16)
    assert visit_number(awaiting, visits) == 3


def test_without_a_first_visit_all_counted_visits_number_the_series():
    visits = [_visit(1, 2), _visit(2, 9), _visit(3, 16)]
    assert [visit_number(v, visits) for v in visits] == [1, 2, 3]


# --- The trial prompt: exactly when the rule says ---------------------------------------------

# Baseline: pain 7, 5 bad days a week. Each case: outcomes per visit (None: no outcome recorded).
TRIAL_CASES = [
    pytest.param([(6, 5), (6, 5)], False, id="visit 2: too early"),
    pytest.param([(6, 5), (6, 5), (6, 5)], True, id="visit 3: pain fell 1, bad days equal"),
    pytest.param([(6, 5), (6, 5), (5, 5)], False, id="visit 3: pain fell 2"),
    pytest.param([(6, 5), (6, 5), (6, 4)], False, id="visit 3: pain fell 1, bad days fewer"),
    pytest.param([(6, 5), (6, 5), (8, 6)], True, id="visit 3: worse on both"),
    pytest.param([(7, 5)] * 4, True, id="visit 4: unchanged"),
    pytest.param([(7, 5)] * 5, True, id="visit 5: unchanged"),
    pytest.param([(7, 5)] * 4 + [(5, 5)], False, id="visit 5: pain fell 2"),
    pytest.param([(7, 5)] * 6, False, id="visit 6: past the trial"),
    pytest.param([(7, 5), (7, 5), None], False, id="visit 3 without an outcome: the latest is 2"),
]


@pytest.mark.parametrize(("outcomes", "prompted"), TRIAL_CASES)
def test_trial_prompt_boundaries(app, world, maya, outcomes, prompted):
    with app.app_context():
        patient = series_with_outcomes(world, 7, 5, outcomes, now_utc())
        db.session.commit()
        patient_id = patient.id
    html = maya.get(f"/staff/clinician/patients/{patient_id}/progress").get_data(as_text=True)
    assert (PROMPT in html) is prompted


def test_progress_numbers_the_latest_visit_and_measures_change(app, world):
    with app.app_context():
        patient = series_with_outcomes(world, 7, 5, [(6, 5), (5, 4), (4, 3)], now_utc())
        progress = patient_progress(db.session.get(Patient, patient.id), now_utc())
        assert [p.label for p in progress.points] == ["Intake", "Visit 1", "Visit 2", "Visit 3"]
        assert progress.latest_visit == 3
        assert progress.pain_change.improvement == 3 and progress.pain_change.meaningful
        assert progress.bad_days_change == 2
        assert progress.reassess is False
        db.session.rollback()


# --- The page -----------------------------------------------------------------------------------


@pytest.fixture
def series(app, world) -> int:
    with app.app_context():
        patient = series_with_outcomes(world, 7, 5, [(6, 5), (6, 5), (6, 5)], now_utc())
        db.session.commit()
        return patient.id


def test_page_draws_accessible_svg_charts_with_tables(maya, series):
    html = maya.get(f"/staff/clinician/patients/{series}/progress").get_data(as_text=True)
    svgs = re.findall(r"<svg class=\"chart-svg\"[^>]*>", html)
    assert len(svgs) == 3  # pain, bad days, activities
    for tag in svgs:
        assert 'role="img"' in tag and "aria-labelledby" in tag
    assert "<title id=\"chart-1-title\">Pain by visit</title>" in html
    desc = re.search(r'<desc id="chart-1-desc">(.*?)</desc>', html, re.S).group(1)
    assert "Intake 7" in desc and "Visit 3 6" in desc
    assert html.count("<polyline") >= 2
    assert "<caption>Pain: the values</caption>" in html
    assert re.search(r"<th scope=\"row\">Visit 3</th>\s*<td>6</td>", html)


def test_page_measures_change_against_the_thresholds(maya, series):
    html = maya.get(f"/staff/clinician/patients/{series}/progress").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Pain (0 to 10) 7 6 No meaningful change (meaningful: 2 points)" in text
    assert "Bad days in the last week 5 5 No change (the trial counts any fall)" in text
    assert "Meaningful fall from the intake: 5 or less" in text
    assert PROMPT in text


def test_viewing_progress_is_audited(app, maya, series):
    maya.get(f"/staff/clinician/patients/{series}/progress")
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "progress_viewed")
        )
        assert event.subject_type == "patient" and event.subject_id == series


def test_a_patient_without_an_intake_has_no_baseline(app, world, maya):
    from tests.clinician.helpers import add_visit, make_patient

    with app.app_context():
        patient = make_patient()
        add_visit(world.maya, world.follow_up, now_utc() + timedelta(days=2), patient)
        db.session.commit()
        patient_id = patient.id
    html = maya.get(f"/staff/clinician/patients/{patient_id}/progress").get_data(as_text=True)
    assert "no first-visit intake" in html
    assert PROMPT not in html


def test_an_earlier_series_is_left_out_of_this_ones_chart(app, world):
    with app.app_context():
        patient = series_with_outcomes(world, 7, 5, [(6, 5)], now_utc() - timedelta(days=400))
        from tests.clinician.helpers import add_intake

        add_intake(patient, submitted_at=now_utc() - timedelta(days=1), pain_now=5)
        progress = patient_progress(patient, now_utc())
        assert [p.label for p in progress.points] == ["Intake"]
        assert progress.points[0].pain == 5
        db.session.rollback()
