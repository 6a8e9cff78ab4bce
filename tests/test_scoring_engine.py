from datetime import datetime, timedelta

import pytest

from mactl.errors import NotFoundError, RecipeError
from mactl.scoring import explain, load_model, score
from tests.test_scoring_fixture import People, write_model

AS_OF = datetime(2026, 3, 1, 12, 0)

MODEL = """
scoring:
  grades: [{grade: A, min_fit: 60}, {grade: B, min_fit: 40}, {grade: C, min_fit: 20}]
  lowest_grade: D
  fit:
    - {id: senior, label: "title: director", field: title, op: contains_any, value: [总监, Director], points: 40}
    - {id: maker, field: industry, op: in, value: [制造业, 化工], points: 20}
    - {id: freemail, field: email_is_freemail, op: equals, value: true, points: -10}
    - {id: student, field: title, op: contains_any, value: [学生], points: -30}
    - {id: budget, field: attr.预算, op: not_empty, points: 5}
  engagement:
    half_life_days: 30
    channel_weights: {event: 2.0}
    rules:
      - {id: demo, label: demo request, event: form_submit, where: [{field: form_name, op: equals, value: Demo申请}], points: 20, cap: 30}
      - {id: webinar, event: webinar_attend, where: [{field: watch_minutes, op: gte, value: 30}], points: 10}
      - {id: booth, event: badge_scan, points: 10}
  stages:
    mql: {min_total: 50, min_grade: B}
    silent_days: [30, 60, 90]
"""


@pytest.fixture
def model(tmp_path):
    return write_model(tmp_path, MODEL)


def scores(ws):
    return {r[0]: r[1:] for r in ws.fetchall("t", "s", "SELECT person_id, fit, engagement, total, grade, stage, temperature "
                                                     "FROM person_score ORDER BY 1")}


def test_decay_is_exact_half_life_arithmetic(workspace, model):
    people = People(workspace)
    people.person("P1")
    people.event("P1", "form_submit", AS_OF - timedelta(days=60), form_name="Demo申请")
    score(workspace, model_path=model, as_of=AS_OF)
    assert scores(workspace)["P1"][:3] == (0.0, 5.0, 5.0)
    detail = explain(workspace, "P1")
    assert [(c["rule_id"], c["raw_points"], c["decay"], c["points"]) for c in detail["contributions"]] == [("demo", 20.0, 0.25, 5.0)]


def test_caps_channel_weights_and_property_conditions(workspace, model):
    people = People(workspace)
    people.person("P1")
    for _ in range(3):  # 3 × 20 undecayed = 60, capped at 30
        people.event("P1", "form_submit", AS_OF, form_name="Demo申请")
    people.event("P1", "form_submit", AS_OF, form_name="白皮书下载")     # other form: no rule
    people.event("P1", "webinar_attend", AS_OF, watch_minutes=29)        # below 30 minutes
    people.event("P1", "webinar_attend", AS_OF, watch_minutes=45)        # +10
    people.event("P1", "badge_scan", AS_OF, channel="event")             # 10 × weight 2.0
    people.event("P1", "badge_scan", AS_OF + timedelta(days=1), channel="event")  # after as-of: ignored
    score(workspace, model_path=model, as_of=AS_OF)
    assert scores(workspace)["P1"][1] == 60.0
    rows = [(c["label"], c["points"]) for c in explain(workspace, "P1")["contributions"]]
    assert ("demo request (cap)", -30.0) in rows
    assert ("booth", 20.0) in rows


def test_fit_rules_negative_points_grades_and_bant_attribute(workspace, model):
    people = People(workspace)
    people.person("A", title="销售总监", industry="制造业", attributes={"预算": "50万"})   # 40 + 20 + 5
    people.person("B", title="IT Director", email_is_freemail=True, industry="化工")      # 40 + 20 - 10
    people.person("C", title="学生", industry="制造业")                                    # 20 - 30
    people.person("D", title="工程师", industry="零售", attributes={"预算": " "})           # 0
    score(workspace, model_path=model, as_of=AS_OF)
    got = {k: (v[0], v[3]) for k, v in scores(workspace).items()}
    assert got == {"A": (65.0, "A"), "B": (50.0, "B"), "C": (-10.0, "D"), "D": (0.0, "D")}
    top = workspace.scalar("t", "r", "SELECT top_reasons FROM person_score WHERE person_id = 'A'")
    assert top == "+40 title: director; +20 maker; +5 budget"


def test_as_of_reproducible_same_scores_and_hash(workspace, model):
    people = People(workspace)
    people.person("P1", title="总监")
    people.event("P1", "badge_scan", AS_OF - timedelta(days=10), channel="event")
    first = score(workspace, model_path=model, as_of=AS_OF)
    before = workspace.fetchall("t", "a", "SELECT person_id, fit, engagement, total, grade, stage, model_hash FROM person_score")
    second = score(workspace, model_path=model, as_of=AS_OF)
    after = workspace.fetchall("t", "a", "SELECT person_id, fit, engagement, total, grade, stage, model_hash FROM person_score")
    assert before == after and first.model_hash == second.model_hash
    assert second.transitions == {} and second.went_up == 0 and second.went_down == 0
    assert workspace.scalar("t", "h", "SELECT count(*) FROM stage_history") == 1


def test_stage_mql_crm_forward_only_recycling_and_silence(workspace, model):
    people = People(workspace)
    people.person("P1", title="总监", industry="制造业")   # fit 60, grade A
    people.event("P1", "badge_scan", AS_OF - timedelta(days=1), channel="event")
    summary = score(workspace, model_path=model, as_of=AS_OF)
    assert scores(workspace)["P1"][4] == "MQL" and summary.new_mqls == 1
    # sales accepts, then qualifies
    people.event("P1", "crm_update", AS_OF + timedelta(days=1), crm_stage="Accepted")
    score(workspace, model_path=model, as_of=AS_OF + timedelta(days=2))
    assert scores(workspace)["P1"][4] == "SAL"
    # sales rejects: Recycled with the reason
    people.event("P1", "crm_update", AS_OF + timedelta(days=3), crm_stage="Rejected", detail="no budget this year")
    score(workspace, model_path=model, as_of=AS_OF + timedelta(days=4))
    assert scores(workspace)["P1"][4] == "Recycled"
    # 70 days without activity: Silent (60 bucket), base stays Recycled
    score(workspace, model_path=model, as_of=AS_OF + timedelta(days=70))
    assert scores(workspace)["P1"][4] == "Silent"
    # active again after the rejection and still qualified: back to MQL
    people.event("P1", "badge_scan", AS_OF + timedelta(days=71), channel="event")
    score(workspace, model_path=model, as_of=AS_OF + timedelta(days=72))
    assert scores(workspace)["P1"][4] == "MQL"
    history = [(s["from_stage"], s["to_stage"], s["silent_days"], s["reason"]) for s in explain(workspace, "P1")["stages"]]
    assert history == [
        (None, "MQL", None, "met the MQL criteria"),
        ("MQL", "SAL", None, "CRM stage SAL"),
        ("SAL", "Recycled", None, "returned by sales: no budget this year"),
        ("Recycled", "Silent", 60, "no activity for 60 days"),
        ("Silent", "MQL", None, "active again"),
    ]


def test_stage_never_moves_back_when_score_drops(workspace, model):
    people = People(workspace)
    people.person("P1", title="总监")                     # fit 40, grade B
    people.event("P1", "form_submit", AS_OF, form_name="Demo申请")  # +20 → 60 ≥ 50
    score(workspace, model_path=model, as_of=AS_OF)
    assert scores(workspace)["P1"][4] == "MQL"
    people.event("P1", "webinar_attend", AS_OF + timedelta(days=39), watch_minutes=5)  # active, no points
    score(workspace, model_path=model, as_of=AS_OF + timedelta(days=40))   # decayed to 47.94
    assert scores(workspace)["P1"][2] < 50 and scores(workspace)["P1"][4] == "MQL"


def test_temperature(workspace, model):
    people = People(workspace)
    people.person("H")
    people.person("W")
    people.person("C", last_seen=AS_OF - timedelta(days=100))
    for _ in range(2):
        people.event("H", "form_submit", AS_OF - timedelta(days=1), form_name="Demo申请")
    people.event("W", "badge_scan", AS_OF - timedelta(days=20))
    score(workspace, model_path=model, as_of=AS_OF)
    assert {k: v[5] for k, v in scores(workspace).items()} == {"H": "hot", "W": "warm", "C": "cold"}


def test_score_history_and_changes_since_last_run(workspace, model):
    people = People(workspace)
    people.person("P1")
    people.event("P1", "badge_scan", AS_OF)
    score(workspace, model_path=model, as_of=AS_OF)
    people.event("P1", "form_submit", AS_OF + timedelta(days=1), form_name="Demo申请")
    summary = score(workspace, model_path=model, as_of=AS_OF + timedelta(days=1))
    assert summary.went_up == 1 and summary.people == 1
    assert [h["total"] for h in explain(workspace, "P1")["history"]] == [10.0, round(10 * 0.5 ** (1 / 30) + 20, 2)]


def test_invalid_model_lists_every_problem_with_line(tmp_path, workspace):
    path = write_model(tmp_path, """scoring:
  fit:
    - {id: a, field: titel, op: contains_any, value: [总监], points: 10}
    - {id: b, field: title, op: gte, value: x, points: 5}
  engagement:
    rules:
      - {id: c, event: page_veiw, points: 1}
""")
    with pytest.raises(RecipeError) as info:
        score(workspace, model_path=path, as_of=AS_OF)
    text = str(info.value)
    assert "line 3: scoring.fit[0].field" in text
    assert "line 4: scoring.fit[1]" in text
    assert "line 7: scoring.engagement.rules[0].event" in text
    assert workspace.scalar("t", "n", "SELECT count(*) FROM score_run") == 0


def test_shipped_model_loads():
    model = load_model(None)
    assert model.grade_names() == ["A", "B", "C", "D"]


def test_readme_scoring_excerpt_is_a_valid_model(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    excerpt = re.search(r"## The scoring model.*?```yaml\n(.*?)```", readme, re.S).group(1)
    model = load_model(write_model(tmp_path, excerpt))
    assert ([r.id for r in model.fit], [r.id for r in model.engagement.rules]) == (
        ["senior_title", "has_budget", "free_mailbox"], ["demo_request", "webinar_30min", "unsubscribe"])
    assert [(r.after_days, r.at_most) for r in model.engagement.resets] == [(90, 0.0)]


def test_period_cap_then_rule_cap(workspace, tmp_path):
    path = write_model(tmp_path, """scoring:
  engagement:
    half_life_days: null
    rules:
      - {id: click, event: email_click, points: 5, cap: 25, period_cap: {days: 7, cap: 10}}
""")
    people = People(workspace)
    people.person("P1")
    for days in (0, 1, 2, 8, 9, 10, 15, 16, 17):   # three per 7-day period: 15 each → 10 each → 30 → 25
        people.event("P1", "email_click", AS_OF - timedelta(days=days))
    score(workspace, model_path=path, as_of=AS_OF)
    rows = {c["label"]: c["points"] for c in explain(workspace, "P1")["contributions"] if c["event_id"] is None}
    assert rows == {"click (period cap)": -15.0, "click (cap)": -5.0}
    assert scores(workspace)["P1"][1] == 25.0
    assert workspace.scalar("t", "r", "SELECT top_reasons FROM person_score") == "+25 click"


def test_step_resets_and_engagement_cap_limit_the_score_and_explain_adds_up(workspace, tmp_path):
    # Marketo-style resets on top of no decay: after 45 days without activity at most 50, after 90 at most 0
    path = write_model(tmp_path, """scoring:
  engagement:
    half_life_days: null
    max_points: 100
    resets: [{after_days: 45, at_most: 50}, {after_days: 90, at_most: 0}]
    rules:
      - {id: booth, event: badge_scan, points: 40}
      - {id: unsub, event: unsubscribe, points: -20}
""")
    people = People(workspace)
    for person, days, scans in (("P1", 10, 3), ("P2", 44, 2), ("P3", 45, 2), ("P4", 95, 2), ("P5", 50, 1)):
        people.person(person)
        for _ in range(scans):
            people.event(person, "badge_scan", AS_OF - timedelta(days=days))
    people.event("P5", "unsubscribe", AS_OF - timedelta(days=50))  # 40 - 20 = 20: under the reset's 50
    people.person("P6")
    people.event("P6", "unsubscribe", AS_OF - timedelta(days=100))  # -20 stays -20: a reset only lowers
    score(workspace, model_path=path, as_of=AS_OF)
    assert {p: v[1] for p, v in scores(workspace).items()} == {
        "P1": 100.0,  # 120 capped at 100
        "P2": 80.0,   # 44 days: no reset yet
        "P3": 50.0,   # 45 days: at most 50
        "P4": 0.0,    # 95 days: at most 0
        "P5": 20.0,
        "P6": -20.0,
    }
    limits = {p: [(c["rule_id"], c["label"], c["points"]) for c in explain(workspace, p)["contributions"] if c["event_id"] is None]
              for p in ("P1", "P3", "P4", "P6")}
    assert limits == {
        "P1": [("engagement_cap", "engagement cap (100)", -20.0)],
        "P3": [("reset", "reset: 45 days without activity (at most 50 after 45)", -30.0)],
        "P4": [("reset", "reset: 95 days without activity (at most 0 after 90)", -80.0)],
        "P6": [],
    }
    for person, (_, engagement, *_) in scores(workspace).items():
        assert sum(c["points"] for c in explain(workspace, person)["contributions"]) == engagement


def test_run_recipe_without_scoring_section_uses_shipped_model(workspace, tmp_path):
    path = write_model(tmp_path, "run:\n  steps: [score]\n")
    People(workspace).person("P1", title="销售总监")
    summary = score(workspace, model_path=path, as_of=AS_OF)
    assert summary.model_hash == score(workspace, as_of=AS_OF).model_hash
    assert scores(workspace)["P1"][0] == 25.0


def test_explain_replays_the_run_model_and_events_it_saw(workspace, model):
    people = People(workspace)
    people.person("P1", title="总监")
    people.event("P1", "form_submit", AS_OF - timedelta(days=30), form_name="Demo申请")
    score(workspace, model_path=model, as_of=AS_OF)
    before = explain(workspace, "P1")
    # the model file changes and a back-dated event arrives after the run: explain still shows the run
    model.write_text(MODEL.replace("points: 20, cap: 30", "points: 50, cap: 90"), encoding="utf-8")
    people.event("P1", "form_submit", AS_OF - timedelta(days=2), form_name="Demo申请")
    after = explain(workspace, "P1")
    assert after == before
    assert [(c["rule_id"], c["event_id"], c["raw_points"], c["decay"], c["points"]) for c in after["contributions"]] == [
        ("senior", None, 40.0, 1.0, 40.0), ("demo", 1, 20.0, 0.5, 10.0)]


def test_explain_of_a_run_without_stored_model_asks_for_a_new_run(workspace, model):
    People(workspace).person("P1")
    score(workspace, model_path=model, as_of=AS_OF)
    workspace.sql("t", "old", "UPDATE score_run SET model_json = NULL")
    with pytest.raises(NotFoundError, match="run 'mactl score' again"):
        explain(workspace, "P1")


def test_top_reasons_tie_broken_by_label_and_zero_rules_left_out(workspace, tmp_path):
    path = write_model(tmp_path, """scoring:
  fit:
    - {id: senior, label: "title: director", field: title, op: contains_any, value: [总监], points: 40}
    - {id: maker, field: industry, op: equals, value: 制造业, points: 20}
  engagement:
    half_life_days: null
    rules:
      - {id: booth, event: badge_scan, points: 20}
      - {id: click, event: email_click, points: 0}
""")
    people = People(workspace)
    people.person("P1", title="总监", industry="制造业")
    people.event("P1", "badge_scan", AS_OF)
    people.event("P1", "email_click", AS_OF)
    people.person("P2")
    score(workspace, model_path=path, as_of=AS_OF)
    reasons = dict(workspace.fetchall("t", "r", "SELECT person_id, top_reasons FROM person_score"))
    assert reasons == {"P1": "+40 title: director; +20 booth; +20 maker", "P2": None}


@pytest.mark.parametrize("setting", [True, False])
def test_score_leaves_the_insertion_order_setting_as_it_found_it(workspace, model, setting):
    # score switches insertion order off for its temp tables only; later statements keep the caller's setting
    people = People(workspace)
    people.person("P1")
    people.event("P1", "badge_scan", AS_OF)
    workspace.con.execute(f"SET preserve_insertion_order = {str(setting).lower()}")
    score(workspace, model_path=model, as_of=AS_OF)
    assert workspace.scalar("t", "s", "SELECT current_setting('preserve_insertion_order')") is setting


def test_score_sums_do_not_depend_on_row_order(workspace):
    # floating-point sums do: 0.1 + 0.2 + 0.3 is 0.6000000000000001 one way and 0.6 the other,
    # and a total on a .xx5 boundary would then round differently from one run to the next
    from mactl.scoring.sql import exact_sum

    values = "(VALUES (0.1::DOUBLE), (0.2::DOUBLE), (0.3::DOUBLE)) AS t(v)"
    assert workspace.scalar("t", "read", f"SELECT sum(v) FROM {values}") == 0.6000000000000001
    assert workspace.scalar("t", "read", f"SELECT {exact_sum('v')} FROM {values}") == 0.6
    assert workspace.scalar("t", "read", f"SELECT {exact_sum('v', 'v > 0.15')} FROM {values}") == 0.5


def test_period_cap_models_and_the_others_score_alike_and_explain_adds_up(workspace, tmp_path):
    # Models without period caps sum each event's points straight into one column per rule; a period cap needs
    # sums per period first (the per-rule path). A period cap that never binds must change nothing, and explain
    # (per event, the per-rule SQL) must add up to the score either way.
    import random

    from mactl.scoring.model import DEFAULT_MODEL

    shipped = DEFAULT_MODEL.read_text(encoding="utf-8")
    loose = shipped.replace("        cap: 9\n", "        cap: 9\n        period_cap: {days: 1000, cap: 1000}\n")
    assert loose != shipped
    people, draw = People(workspace), random.Random(5)
    for n in range(40):
        people.person(f"P{n}", title=draw.choice(["销售总监", "工程师", "学生", None]), industry=draw.choice(["化工", "零售"]),
                      province=draw.choice(["上海", "四川"]), email_is_freemail=draw.random() < 0.3)
        for _ in range(draw.randrange(25)):
            people.event(f"P{n}", draw.choice(["form_submit", "webinar_attend", "badge_scan", "page_view", "email_click",
                                               "content_download", "unsubscribe"]),
                         AS_OF - timedelta(days=draw.randrange(60), hours=draw.randrange(24)),
                         channel=draw.choice(["web_form", "event", "engagement"]), form_name=draw.choice(["Demo申请", "白皮书"]),
                         url=draw.choice(["https://x.com/pricing", "https://x.com/blog"]), watch_minutes=draw.randrange(60))
    columns = "person_id, fit, engagement, total, grade, stage, temperature, top_reasons, last_activity_at"
    results, capped = [], set()
    for text in (shipped, loose):
        workspace.sql("t", "reset", "DELETE FROM person_stage")
        score(workspace, model_path=write_model(tmp_path, text), as_of=AS_OF)
        results.append(workspace.fetchall("t", "s", f"SELECT {columns} FROM person_score ORDER BY person_id"))
        for person_id, fit, engagement, *_ in results[-1]:
            rows = explain(workspace, person_id)["contributions"]
            capped |= {r["label"] for r in rows if r["label"].endswith("(cap)")}
            assert sum(r["points"] for r in rows if r["factor"] == "fit") == pytest.approx(fit, abs=0.01)
            engaged = sum(r["points"] for r in rows if r["factor"] == "engagement")
            assert min(engaged, 100) == pytest.approx(engagement, abs=0.005 * len(rows) + 0.01)
    assert results[0] == results[1]
    assert len({r[7] for r in results[0]}) > 20 and len(capped) >= 3  # varied data: many reasons, rule caps that bind
