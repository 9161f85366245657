"""Who may see clinical detail, the day and week lists with intake badges, the intake chart with
the answers behind each flag, needling clearance, and the audit trail of every view.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.audit.models import AuditEvent
from booking.clinical.models import NeedlingClearance
from booking.clinical.summary import flag_lines
from booking.db import now_utc
from booking.extensions import db
from booking.intake.questionnaire import question_by_id
from booking.intake.screening import RULES_BY_ID, RULESET_VERSION, Screening
from booking.scheduling.models import AppointmentStatus
from booking.web.roles import CLINICAL
from tests.clinician.helpers import add_intake, add_visit, local, make_patient

# --- Who may see what ------------------------------------------------------------------------


@pytest.fixture
def chart_ids(app, world):
    """One patient with an intake, a past visit and an awaiting-review booking."""
    with app.app_context():
        patient = make_patient(first_name="Ana", last_name="Silva")
        visit = add_visit(
            world.maya, world.first_visit, now_utc() - timedelta(hours=2), patient,
            AppointmentStatus.CHECKED_IN,
        )
        intake = add_intake(patient, visit)
        held = add_visit(
            world.maya, world.follow_up, now_utc() + timedelta(days=3), patient,
            AppointmentStatus.AWAITING_REVIEW,
        )
        db.session.commit()
        return {"patient": patient.id, "visit": visit.id, "intake": intake.id, "held": held.id}


def clinical_pages(ids) -> list[str]:
    return [
        "/staff/clinician/day",
        "/staff/clinician/week",
        f"/staff/clinician/intakes/{ids['intake']}",
        "/staff/clinician/reviews",
        f"/staff/clinician/visits/{ids['visit']}/outcome",
        f"/staff/clinician/patients/{ids['patient']}/progress",
        "/staff/clinician/feed",
    ]


def clinical_posts(ids) -> list[tuple[str, dict]]:
    held = f"review-{ids['held']}"
    return [
        (f"/staff/clinician/reviews/{ids['held']}",
         {f"{held}-decision": "approved", f"{held}-note": "ok"}),
        (f"/staff/clinician/intakes/{ids['intake']}/clearance", {"cleared": "yes", "note": "ok"}),
        (f"/staff/clinician/visits/{ids['visit']}/outcome",
         {"pain_now": "3", "bad_days_week": "1"}),
        ("/staff/clinician/feed", {}),
        ("/staff/clinician/feed/revoke", {}),
    ]


def test_anonymous_visitors_are_sent_to_the_login(app, chart_ids):
    client = app.test_client()
    requests = [(client.get, url, None) for url in clinical_pages(chart_ids)]
    requests += [(client.post, url, data) for url, data in clinical_posts(chart_ids)]
    for send, url, data in requests:
        response = send(url, data=data)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/staff/login?next="), url


def test_front_desk_gets_403_everywhere_clinical(signed_in, chart_ids):
    desk = signed_in("desk@example.com")
    for url in clinical_pages(chart_ids):
        response = desk.get(url)
        assert response.status_code == 403, url
        assert "Ana" not in response.get_data(as_text=True)
    for url, data in clinical_posts(chart_ids):
        assert desk.post(url, data=data).status_code == 403, url


def test_front_desk_changes_nothing_and_leaves_no_view_in_the_audit(app, signed_in, chart_ids):
    signed_in("desk@example.com").get(f"/staff/clinician/intakes/{chart_ids['intake']}")
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).all() == []


@pytest.mark.parametrize("email", ["maya@example.com", "admin@example.com"])
def test_practitioners_and_admins_see_every_clinical_page(signed_in, chart_ids, email):
    client = signed_in(email)
    for url in clinical_pages(chart_ids):
        assert client.get(url).status_code == 200, url


def test_every_clinician_staff_view_names_the_clinical_roles(app):
    views = {
        endpoint: view
        for endpoint, view in app.view_functions.items()
        if endpoint.startswith("clinician.") and endpoint != "clinician.calendar_feed"
    }
    assert len(views) >= 10
    for endpoint, view in views.items():
        assert getattr(view, "required_roles", None) == frozenset(CLINICAL), endpoint


# --- The intake chart ------------------------------------------------------------------------


@pytest.fixture
def flagged(app, world):
    """A first visit whose intake raised review, precaution and no-needling flags, plus an
    earlier check-in of the same patient."""
    with app.app_context():
        patient = make_patient(first_name="Ben", last_name="Walker")
        earlier = add_intake(
            patient, kind="check_in", submitted_at=now_utc() - timedelta(days=90),
            pain_now=4, bad_days_week=2,
        )
        visit = add_visit(
            world.maya, world.first_visit, now_utc() + timedelta(days=2), patient,
            AppointmentStatus.AWAITING_REVIEW,
        )
        intake = add_intake(
            patient,
            visit,
            one_leg_weakening="yes",
            one_leg_weakening_onset="worse",
            blood_thinners="yes",
            needle_fear="not_sure",
            cancer_history="yes",
        )
        db.session.commit()
        return {"intake": intake.id, "earlier": earlier.id, "visit": visit.id,
                "patient": patient.id}


def page_text(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_intake_shows_the_answers_the_flags_and_their_rules(maya, flagged):
    response = maya.get(f"/staff/clinician/intakes/{flagged['intake']}")
    assert response.status_code == 200
    text = page_text(response)
    # Body areas, pain scores, bad days, activities and goals.
    for words in ("Low back, left side", "Left buttock", "3 months to a year",
                  "How bad is your pain right now? 7", "bad days for your back? 5",
                  "Gardening", "Sitting through a film", "Dig the vegetable beds again"):
        assert words in text, words
    assert "3.5" in text  # the function score: mean of 3 and 4
    # Each flag with the exact question, the answer and its source rule.
    for qid, answer in (("one_leg_weakening", "Yes"), ("blood_thinners", "Yes"),
                        ("needle_fear", "Not sure"), ("cancer_history", "Yes")):
        assert f"{question_by_id(qid).text} {answer}" in text, qid
    assert "Is it new in the last 2 weeks, or getting worse? Getting worse" in text
    for rule_id in ("progressive_weakness_one_leg", "blood_thinners", "needle_fear",
                    "cancer_history"):
        assert rule_id in text
        assert RULES_BY_ID[rule_id].summary.split(":")[0] in text
    assert "Urgent" in text
    # Versions, and the patient's other intake.
    assert RULESET_VERSION in text
    assert "Version 2026-11" in text
    assert "Check-in" in text
    assert f"/staff/clinician/intakes/{flagged['earlier']}" in response.get_data(as_text=True)


def test_a_flag_stored_under_an_older_rule_set_is_explained_by_that_rule_set():
    flag = {"rule_id": "night_pain", "level": "review", "question_ids": ["night_pain"],
            "no_needling": False, "urgent": False, "summary": "Night pain"}
    stored = {"tier": "medical_review", "flags": [flag], "no_needling": False}

    (then,) = flag_lines(Screening.from_dict({**stored, "ruleset_version": "2026-11.1"}), {})
    (now,) = flag_lines(Screening.from_dict({**stored, "ruleset_version": RULESET_VERSION}), {})

    assert then.rule_fires_when == "night_pain yes: REVIEW"
    assert now.rule_fires_when == "night_pain yes: NOTE (context flag)"


def test_intake_page_links_a_print_stylesheet(maya, flagged):
    html = maya.get(f"/staff/clinician/intakes/{flagged['intake']}").get_data(as_text=True)
    assert re.search(r'<link[^>]+href="/static/css/print\.css"[^>]+media="print"', html)


def test_viewing_an_intake_is_audited_without_answers(app, maya, flagged):
    maya.get(f"/staff/clinician/intakes/{flagged['intake']}")
    maya.get(f"/staff/clinician/intakes/{flagged['intake']}")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "intake_viewed")
        ).all()
        assert len(events) == 2
        assert {e.subject_id for e in events} == {flagged["intake"]}
        assert all(e.actor_id is not None for e in events)
        assert all(e.details == {"patient_id": flagged["patient"]} for e in events)


def test_unknown_intake_is_404(maya, world):
    assert maya.get("/staff/clinician/intakes/999999").status_code == 404


# --- Day and week lists ----------------------------------------------------------------------


def test_my_day_lists_own_visits_with_badges_kind_and_number(app, maya, world):
    day = (now_utc() + timedelta(days=1)).astimezone(local(now_utc().date(), 0).tzinfo).date()
    with app.app_context():
        returning = make_patient(first_name="Chloe", last_name="Martin")
        add_intake(returning, submitted_at=now_utc() - timedelta(days=30), needle_fear="yes",
                   blood_thinners="yes")
        for weeks_ago in (3, 2, 1):
            add_visit(world.maya, world.first_visit if weeks_ago == 3 else world.follow_up,
                      local(day, 9) - timedelta(weeks=weeks_ago), returning,
                      AppointmentStatus.COMPLETED)
        add_visit(world.maya, world.follow_up, local(day, 9), returning)
        newcomer = make_patient(first_name="David", last_name="Nguyen")
        first = add_visit(world.maya, world.first_visit, local(day, 11), newcomer,
                          AppointmentStatus.AWAITING_REVIEW)
        add_intake(newcomer, first, fever_now="yes")
        other = make_patient(first_name="Eva", last_name="Kowalski")
        add_visit(world.sam, world.first_visit, local(day, 10), other)
        db.session.commit()
    text = page_text(maya.get(f"/staff/clinician/day?date={day.isoformat()}"))
    assert "Chloe Martin" in text and "David Nguyen" in text
    assert "Eva Kowalski" not in text  # Sam's patient: not on Maya's own list
    chloe = text[text.index("Chloe Martin"):text.index("David Nguyen")]
    assert "Follow-up · visit 4" in chloe
    assert "No needling" in chloe
    assert "Takes blood thinners" in chloe
    # Tomorrow's follow-up is inside its check-in window and has none: said in red.
    assert '<li class="badge badge-missing">No check-in</li>' in maya.get(
        f"/staff/clinician/day?date={day.isoformat()}").get_data(as_text=True)
    david = text[text.index("David Nguyen"):]
    assert "First visit · visit 1" in david
    assert "Awaiting review" in david and "Medical review" in david
    everyone = maya.get(f"/staff/clinician/day?date={day.isoformat()}&practitioner=all")
    assert "Eva Kowalski" in page_text(everyone)
    # Eva's first visit has no questionnaire yet: said in red, not as a grey "no intake".
    eva = everyone.get_data(as_text=True).split("Eva Kowalski")[1]
    assert '<li class="badge badge-missing">No questionnaire</li>' in eva


def test_admin_sees_all_practitioners_and_can_filter(app, signed_in, world):
    day = now_utc().astimezone(local(now_utc().date(), 0).tzinfo).date() + timedelta(days=2)
    with app.app_context():
        add_visit(world.maya, world.follow_up, local(day, 9), make_patient(first_name="Farid"))
        add_visit(world.sam, world.follow_up, local(day, 9), make_patient(first_name="Grace"))
        db.session.commit()
    admin = signed_in("admin@example.com")
    everyone = page_text(admin.get(f"/staff/clinician/week?date={day.isoformat()}"))
    assert "Farid" in everyone and "Grace" in everyone
    only_sam = page_text(
        admin.get(f"/staff/clinician/week?date={day.isoformat()}&practitioner={world.sam}")
    )
    assert "Grace" in only_sam and "Farid" not in only_sam


def test_listing_visits_is_audited_with_the_intakes_shown(app, maya, flagged):
    day = now_utc() + timedelta(days=2)
    maya.get(f"/staff/clinician/week?date={day.date().isoformat()}")
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "visit_list_viewed")
        )
        assert event is not None and flagged["intake"] in event.details["intake_ids"]


# --- Clearing needling -----------------------------------------------------------------------


def test_clearing_needling_changes_the_badge_and_is_audited(app, maya, flagged):
    url = f"/staff/clinician/intakes/{flagged['intake']}"
    assert "No needling" in page_text(maya.get(url))
    response = maya.post(f"{url}/clearance", data={"cleared": "yes",
                                                   "note": "Discussed; happy to try two needles."})
    assert response.status_code == 302
    text = page_text(maya.get(url))
    assert "Needling cleared" in text
    assert "Discussed; happy to try two needles." in text
    with app.app_context():
        clearance = db.session.scalar(select(NeedlingClearance))
        assert clearance.cleared is True and clearance.intake_id == flagged["intake"]
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "needling_clearance_recorded")
        )
        assert event.subject_id == flagged["intake"]
        assert "note" not in event.details
    # The newest word wins: not cleared again.
    maya.post(f"{url}/clearance", data={"cleared": "no", "note": "Patient changed their mind."})
    week = page_text(maya.get("/staff/clinician/week?date="
                              f"{(now_utc() + timedelta(days=2)).date().isoformat()}"))
    assert "No needling" in week and "Needling cleared" not in week


def test_clearance_needs_a_note_and_keeps_the_choice(app, maya, flagged):
    url = f"/staff/clinician/intakes/{flagged['intake']}/clearance"
    response = maya.post(url, data={"cleared": "yes", "note": "   "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Write a note saying why." in html
    assert re.search(r'value="yes"[^>]*checked|checked[^>]*value="yes"', html)
    with app.app_context():
        assert db.session.scalar(select(NeedlingClearance)) is None
        recorded = select(AuditEvent).where(AuditEvent.action == "needling_clearance_recorded")
        assert db.session.scalar(recorded) is None
        # The refused page still showed the intake: that view stays in the audit log.
        views = select(AuditEvent.subject_id).where(AuditEvent.action == "intake_viewed")
        assert db.session.scalars(views).all() == [flagged["intake"]]


def test_clearance_is_refused_where_screening_allowed_needling(app, maya, world):
    with app.app_context():
        patient = make_patient()
        add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=2), patient)
        intake = add_intake(patient)
        db.session.commit()
        intake_id = intake.id
    response = maya.post(f"/staff/clinician/intakes/{intake_id}/clearance",
                         data={"cleared": "yes", "note": "n/a"}, follow_redirects=True)
    assert "did not rule out needling" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(NeedlingClearance)) is None


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "yesterday", ""])
def test_an_unreadable_or_far_date_shows_today(maya, value):
    assert maya.get(f"/staff/clinician/day?date={value}").status_code == 200
    assert maya.get(f"/staff/clinician/week?date={value}").status_code == 200


def test_an_intake_held_for_a_recent_emergency_shows_that_emergency_beside_it(app, maya, world):
    from booking.intake.models import Intake
    from booking.intake.screening import screen

    with app.app_context():
        patient = make_patient(first_name="Iris", last_name="Stone")
        add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=2), patient)
        before = add_intake(patient, submitted_at=now_utc() - timedelta(days=3),
                            bowel_control="yes", bowel_control_onset="new")
        answers = {"date_of_birth": "1980-05-01"}
        screening = screen(answers, now_utc().date(), recent_emergency=True)
        later = Intake(
            patient_id=patient.id, kind="first_visit", questionnaire_version="v",
            answers=answers, ruleset_version=screening.ruleset_version,
            tier=screening.tier.value, screening=screening.to_dict(),
            no_needling=screening.no_needling,
        )
        db.session.add(later)
        db.session.commit()
        before_id, later_id = before.id, later.id
    html = maya.get(f"/staff/clinician/intakes/{later_id}").get_data(as_text=True)
    assert "The emergency screening before it" in html
    beside = html.split('id="earlier-emergency-heading"')[1]
    assert f"/staff/clinician/intakes/{before_id}" in beside
    assert question_by_id("bowel_control").text in beside
    with app.app_context():  # both screenings were seen, and both views are in the audit log
        viewed = db.session.scalars(
            select(AuditEvent.subject_id).where(AuditEvent.action == "intake_viewed")
        ).all()
        assert sorted(viewed) == sorted([before_id, later_id])
    plain = maya.get(f"/staff/clinician/intakes/{before_id}").get_data(as_text=True)
    assert "The emergency screening before it" not in plain
