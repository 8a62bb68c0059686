"""The dashboard moves by exactly what was done (cpa-dashboard and
sql/011_dashboard.sql, known answers): a new care coordinator of Riverside
CMHT takes four people referred and accepted through the API; one review
is held on time and one late (with experience answers), one is overdue;
contacts of each kind and one not attended are recorded; two people are
discharged from hospital, one followed up within 72 hours and one not; a
risk assessment is approved (discussed with the person) and another waits
for a manager; a care plan is given to the person and to their carer, who
has consented and been offered an assessment; a further referral waits
for triage.  After a refresh every count of the team's and the district's
figures has moved by exactly that and nothing else, the shares agree with
the counts, the coordinator's row and drill-down show those four people,
and the trend's months add up to the same.  A contact recorded for a past
day is counted on that day after the next refresh (the summaries keep the
days a change touched), not before; and a refresh with nothing changed
changes nothing."""

import datetime

import pytest

from cpa_e2e import (backdate_episode, describe, get_json, json_of,
                     parse_ts, risk_act, risk_content, risk_ok, risk_save,
                     risk_start, unique_reason)

pytestmark = pytest.mark.usefixtures("dashboard_up", "dash_quiet")

TEAM = "north_riverside_cmht"
# Leaves that follow from the counts (checked against them) or from the
# mix of values rather than a count.
DERIVED = ("_share", ".share", ".median_hours", ".p90_hours", ".per_person_month",
           "coordinators.median", "coordinators.max", "awaiting_oldest_at",
           "oldest_overdue_due", ".deadline_hours")


def ago(db_now, **kw):
    return (db_now - datetime.timedelta(**kw)).isoformat()


def counts(dash, figures):
    """{dotted figure: value} of the count leaves of figures."""
    return {k: v for k, v in dash.leaves(figures)
            if not any(k.endswith(d) or d in k for d in DERIVED)}


def assert_moved(dash, before, after, moved, what):
    """Every count of after is before's plus moved[figure] (0 when not
    named); awaiting_breached, which the clock moves, is left out."""
    b, a = counts(dash, before), counts(dash, after)
    assert set(b) == set(a)
    unknown = set(moved) - set(a)
    assert not unknown, f"not figures: {unknown}"
    wrong = [f"{k}: {b[k]} -> {a[k]}, expected +{moved.get(k, 0)}"
             for k in sorted(a) if k != "referrals.awaiting_breached"
             and a[k] - b[k] != moved.get(k, 0)]
    assert not wrong, f"{what}:\n  " + "\n  ".join(wrong)


def assert_consistent(dash, f, what):
    """The shares and rates of figures f agree with its counts."""
    s = dash.share
    pairs = [
        ("referrals.breached_share", f["referrals"]["breached"],
         f["referrals"]["decided"]),
        ("reviews.on_time_share", f["reviews"]["on_time"], f["reviews"]["held"]),
        ("reviews.followups_met_share", f["reviews"]["followups_met"],
         f["reviews"]["followups_due"]),
        ("risk.in_date_share", f["risk"]["in_date"], f["risk"]["caseload"]),
        ("risk.discussed_user_share", f["risk"]["discussed_user"],
         f["risk"]["approved"]),
        ("care_plans.current_share", f["care_plans"]["current"],
         f["care_plans"]["caseload"]),
        ("care_plans.copy_user_share", f["care_plans"]["copy_user"],
         f["care_plans"]["current"]),
        ("care_plans.copy_carer_share", f["care_plans"]["copy_carer"],
         f["care_plans"]["carer_may_have_plan"]),
        ("carers.with_carer_share", f["carers"]["with_carer"],
         f["carers"]["caseload"]),
        ("carers.offered_share", f["carers"]["offered"],
         f["carers"]["with_carer"]),
    ]
    wrong = []
    for name, num, den in pairs:
        group, key = name.split(".")
        got = f[group][key]
        want = s(num, den)
        if dash.same(got, want):
            wrong.append(f"{name}: {got} for {num}/{den}")
    for q in f["experience"]:
        if dash.same(q["share"], s(q["yes"], q["answers"])):
            wrong.append(f"experience.{q['question']}: {q}")
    c = f["contacts"]
    if dash.same(c["per_person_month"], dash.per_month(c["total"],
                                                      c["person_days"])):
        wrong.append(f"contacts.per_person_month: {c}")
    assert not wrong, f"{what}:\n  " + "\n  ".join(wrong)


def trend_sums(trend):
    keys = ("referrals_received", "referrals_decided", "referrals_breached",
            "reviews_held", "reviews_on_time", "followups_due",
            "followups_met", "risk_approved", "satisfaction_answers",
            "contacts")
    return {k: sum(m[k] for m in trend) for k in keys}


# ------------------------------------------------------------ the requests

def contact(c, su, **over):
    body = {"duration_minutes": 30, "mode": "face_to_face", "attended": True}
    body.update(over)
    r = c.post(f"/api/v1/service-users/{su}/contacts", json=body)
    assert r.status_code == 201, describe(r)
    return json_of(r)


def discharged(c, su, db_now, hours):
    """An admission six days ago, discharged hours ago; returns the
    follow-up it owes."""
    r = c.post(f"/api/v1/service-users/{su}/admissions",
               json={"admitted_at": ago(db_now, days=6),
                     "discharged_at": ago(db_now, hours=hours),
                     "hospital": "Moor Hospital", "ward": "Ward 3"})
    assert r.status_code == 201, describe(r)
    fu = json_of(r)["followup"]
    assert fu and fu["status"] == "open", json_of(r)
    return fu


def due_review(c, su):
    due = get_json(c, f"/api/v1/service-users/{su}/reviews")["due"]
    assert due is not None, su
    return due


def hold(c, review, day, **answers):
    body = {"version": review["version"], "held_on": day.isoformat(),
            "attended_user": True, "attended_carer": False,
            "attended_coordinator": True, "outcome": "continue"}
    body.update(answers)
    r = c.post(f"/api/v1/reviews/{review['id']}/hold", json=body)
    assert r.status_code == 200, describe(r)
    return json_of(r)["review"]


def move_due(db, episode_id, day):
    db.all("UPDATE cpa_review SET due_date = %s, version = version + 1 "
           "WHERE episode_id = %s AND status = 'due' RETURNING id",
           (day, episode_id))


def uk_start_day(db, episode_id):
    return db.scalar("SELECT (started_at AT TIME ZONE 'Europe/London')::date "
                     "FROM episode WHERE id = %s", (episode_id,))


# ----------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def managers(as_demo):
    tm, dm = as_demo("tm.north"), as_demo("dm.north")
    yield tm, dm
    tm.delete("/api/v1/session")
    dm.delete("/api/v1/session")


def snapshot(dash, managers, teams):
    tm, dm = managers
    team = teams[TEAM]
    return (dash.page(tm, f"/dashboard/teams/{team['id']}"),
            dash.page(dm, f"/dashboard/districts/{team['district_id']}"))


def test_every_figure_moves_by_what_was_done(dash, db, case, kit, refer,
                                            team_member, managers, teams,
                                            staff):
    team = teams[TEAM]
    coord = team_member("coordinator")
    today = dash.today()
    dash.refresh()
    before = snapshot(dash, managers, teams)

    p1, p2, p3 = (case("standard", coordinator=coord),
                  case("enhanced", coordinator=coord),
                  case("standard", coordinator=coord))
    p4 = case("standard", coordinator=coord)
    c = p1["c"]
    for p in (p2, p3, p4):
        backdate_episode(db, p["episode"], 10)
    db_now = db.scalar("SELECT now()")
    su = {k: p["person"]["id"] for k, p in
          (("p1", p1), ("p2", p2), ("p3", p3), ("p4", p4))}
    refer(c, team["id"])                        # waits for triage

    # p1: a review held on time, a low risk approved (discussed with the
    # person), a care plan given to them and to their carer, who has
    # consented and was offered an assessment.
    hold(c, due_review(c, su["p1"]), today, exp_involved="yes",
         exp_choice="partly", exp_knows_plan="no",
         exp_knows_medication="declined", exp_knows_complain="yes",
         exp_satisfaction=4)
    a = risk_start(c, su["p1"])
    a = risk_ok(risk_save(c, a, risk_content("low", "low")), "draft")
    assert risk_ok(risk_act(c, a, "submit"), "approved")["discussed_with_user"]
    r = c.post(f"/api/v1/service-users/{su['p1']}/care-plan/versions",
               json={"based_on": 0, "needs_goals": "To sleep and to work",
                     "took_part_user": True, "user_agreed": True})
    assert r.status_code == 201, describe(r)
    version = json_of(r)["care_plan_version"]["id"]
    link = kit.added(c, su["p1"])
    kit.consented(c, link["id"], "full")
    kit.offered(c, link["id"])
    for body in ({"recipient": "service_user", "method": "in_person"},
                 {"recipient": "carer", "carer_link_id": link["id"],
                  "method": "post"}):
        r = c.post(f"/api/v1/care-plan-versions/{version}/copies",
                   json=dict(body, given_on=today.isoformat()))
        assert r.status_code == 201, describe(r)

    # p2: discharged 80 hours ago and seen at home two hours later (the
    # follow-up met); its review, overdue, held today.
    discharged(c, su["p2"], db_now, 80)
    out = contact(c, su["p2"], mode="home_visit", at=ago(db_now, hours=78))
    assert out["followup_met"] is True, out
    move_due(db, p2["episode"]["id"], today - datetime.timedelta(days=10))
    hold(c, due_review(c, su["p2"]), today, exp_involved="no",
         exp_choice="yes", exp_knows_plan="yes", exp_knows_medication="yes",
         exp_satisfaction=2)

    # p3: discharged 80 hours ago, not seen since; review overdue.
    discharged(c, su["p3"], db_now, 80)
    overdue_since = today - datetime.timedelta(days=5)
    move_due(db, p3["episode"]["id"], overdue_since)

    # p4: one contact of each kind and one not attended; a high risk
    # waiting for a manager.
    for mode in ("face_to_face", "home_visit", "phone", "video"):
        contact(c, su["p4"], mode=mode, at=ago(db_now, hours=1))
    contact(c, su["p4"], mode="phone", attended=False, at=ago(db_now, hours=2))
    a = risk_start(c, su["p4"])
    a = risk_ok(risk_save(c, a, risk_content("medium", "low",
                                             high=("harm_to_others",))), "draft")
    risk_ok(risk_act(c, a, "submit"), "submitted")

    as_of = dash.refresh()
    after = snapshot(dash, managers, teams)
    person_days = sum((today - uk_start_day(db, p["episode"]["id"])).days + 1
                      for p in (p1, p2, p3, p4))
    moved = {
        "caseload.total": 4, "caseload.standard": 3, "caseload.enhanced": 1,
        "coordinators.count": 1, "coordinators.buckets.15_or_fewer.n": 1,
        "referrals.received": 5, "referrals.decided": 4,
        "referrals.awaiting_triage": 1,
        "referrals.by_urgency.routine.decided": 4,
        "reviews.held": 2, "reviews.on_time": 1, "reviews.overdue": 1,
        "reviews.followups_due": 2, "reviews.followups_met": 1,
        "risk.caseload": 4, "risk.in_date": 1, "risk.awaiting_approval": 1,
        "risk.approved": 1, "risk.discussed_user": 1,
        "care_plans.caseload": 4, "care_plans.current": 1,
        "care_plans.copy_user": 1, "care_plans.carer_may_have_plan": 1,
        "care_plans.copy_carer": 1,
        "carers.caseload": 4, "carers.with_carer": 1, "carers.consent": 1,
        "carers.offered": 1,
        "experience.involved.answers": 2, "experience.involved.yes": 1,
        "experience.choice.answers": 2, "experience.choice.yes": 1,
        "experience.knows_plan.answers": 2, "experience.knows_plan.yes": 1,
        "experience.knows_medication.answers": 1,
        "experience.knows_medication.yes": 1,
        "experience.knows_complain.answers": 1,
        "experience.knows_complain.yes": 1,
        "experience.satisfaction.answers": 2, "experience.satisfaction.yes": 1,
        "contacts.person_days": person_days, "contacts.total": 5,
        "contacts.not_attended": 1,
        "contacts.by_mode.face_to_face.n": 1, "contacts.by_mode.home_visit.n": 2,
        "contacts.by_mode.phone.n": 1, "contacts.by_mode.video.n": 1,
    }
    for b, a_, what in ((before[0], after[0], "team"),
                        (before[1], after[1], "district")):
        assert_moved(dash, b["figures"], a_["figures"], moved, what)
        assert_consistent(dash, a_["figures"], what)
        sums_b, sums_a = trend_sums(b["trend"]), trend_sums(a_["trend"])
        assert {k: sums_a[k] - sums_b[k] for k in sums_a} == {
            "referrals_received": 5, "referrals_decided": 4,
            "referrals_breached": 0, "reviews_held": 2, "reviews_on_time": 1,
            "followups_due": 2, "followups_met": 1, "risk_approved": 1,
            "satisfaction_answers": 2, "contacts": 5}, what

    # The new coordinator's row and drill-down: these four people.
    rows = [ch for ch in after[0]["children"] if ch["id"] == coord.staff_id]
    assert len(rows) == 1, after[0]["children"]
    want = {"caseload": 4, "level_standard": 3, "level_enhanced": 1,
            "review_overdue": 1, "review_oldest_due": overdue_since.isoformat(),
            "risk_in_date": 1, "risk_awaiting": 1, "plan_current": 1,
            "plan_copy_user": 1, "carer_may_have_plan": 1, "plan_copy_carer": 1,
            "with_carer": 1, "carer_consent": 1, "carer_offered": 1,
            "carer_completed": 0}
    got = {k: rows[0][k] for k in want if k in rows[0]}
    assert got == {k: want[k] for k in got}, rows[0]
    assert parse_ts(after[0]["as_of"]) == as_of
    people = {
        "caseload": ["p1", "p2", "p3", "p4"], "review_overdue": ["p3"],
        "risk_not_in_date": ["p2", "p3", "p4"], "risk_awaiting": ["p4"],
        "no_plan": ["p2", "p3", "p4"], "no_copy_user": [],
        "no_copy_carer": [], "no_carer": ["p2", "p3", "p4"],
        "carer_no_consent": [], "carer_not_offered": []}
    tm = managers[0]
    for figure, who in people.items():
        body = dash.page(tm, f"/dashboard/teams/{team['id']}/people",
                         figure=figure, coordinator=coord.staff_id)
        listed = sorted(p["service_user"]["id"] for p in dash.people_of(body))
        assert listed == sorted(su[w] for w in who), (figure, listed)


def test_a_past_day_is_counted_after_the_next_refresh(dash, db, case,
                                                      managers, teams):
    tm = managers[0]
    team = teams[TEAM]
    made = case()
    backdate_episode(db, made["episode"], 10)
    dash.refresh()
    db_now = db.scalar("SELECT now()")
    at = db_now - datetime.timedelta(days=4)
    day = dash.uk_day(at)
    path = f"/dashboard/teams/{team['id']}"
    first = dash.page(tm, path, frm=day, to=day)
    whole = dash.page(tm, path)

    # Nothing changed: a refresh changes no figure, only the time.
    dash.refresh()
    again = dash.page(tm, path, frm=day, to=day)
    assert again["as_of"] != first["as_of"]
    assert_moved(dash, first["figures"], again["figures"], {}, "refreshed again")
    assert again["trend"] == first["trend"]
    assert_moved(dash, whole["figures"], dash.page(tm, path)["figures"], {},
                 "refreshed again, the default period")

    contact(made["c"], made["person"]["id"], mode="video", at=at.isoformat(),
            note=unique_reason("Seen on video"))
    # Not yet: the figures are those of the last refresh.
    assert_moved(dash, again["figures"],
                 dash.page(tm, path, frm=day, to=day)["figures"], {},
                 "before the refresh")

    dash.refresh()
    after = dash.page(tm, path, frm=day, to=day)
    assert_moved(dash, again["figures"], after["figures"],
                 {"contacts.total": 1, "contacts.by_mode.video.n": 1},
                 f"the day {day}")
    assert after["trend"][0]["contacts"] == again["trend"][0]["contacts"] + 1
    assert_moved(dash, whole["figures"], dash.page(tm, path)["figures"],
                 {"contacts.total": 1, "contacts.by_mode.video.n": 1},
                 "the default period")
