"""End to end on sample_data/: import, merge, score; contributions add up and CRM feedback moves stages."""

from datetime import datetime

import pytest

from mactl.identity import merge
from mactl.importing import import_paths
from mactl.scoring import explain, score
from tests.conftest import SAMPLE_DATA

AS_OF = datetime(2026, 11, 26)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from mactl.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("sample") / "ws.duckdb")
    import_paths(ws, sorted(SAMPLE_DATA.iterdir()))
    merge(ws)
    summary = score(ws, as_of=AS_OF)
    yield ws, summary
    ws.close()


def test_every_person_scored_and_totals_are_their_contributions(scored):
    ws, summary = scored
    assert summary.people == ws.scalar("t", "n", "SELECT count(*) FROM person") > 0
    # explain recomputes a person's contributions: they must add up to the stored scores (the most engaged
    # people, whose caps and decay matter most, and the first by id)
    people = ws.fetchall("t", "s", """
        (SELECT person_id, fit, engagement FROM person_score ORDER BY engagement DESC, person_id LIMIT 25)
        UNION (SELECT person_id, fit, engagement FROM person_score ORDER BY person_id LIMIT 25)""")
    assert len(people) > 25
    mismatches = []
    for person_id, fit, engagement in people:
        rows = explain(ws, person_id)["contributions"]
        rounding = 0.005 * len(rows) + 0.01  # explain shows each contribution rounded to 2 decimals
        got_fit = sum(c["points"] for c in rows if c["factor"] == "fit")
        got_engagement = min(sum(c["points"] for c in rows if c["factor"] == "engagement"), 100)
        if abs(got_fit - fit) > rounding or abs(got_engagement - engagement) > rounding:
            mismatches.append((person_id, fit, got_fit, engagement, got_engagement))
    assert mismatches == []
    assert ws.scalar("t", "m", "SELECT count(*) FROM person_score WHERE abs(fit + engagement - total) > 0.01") == 0


def test_crm_feedback_sets_sales_stages(scored):
    ws, summary = scored
    rows = dict(ws.fetchall("t", "s", """
        SELECT s.stage, count(*) FROM person_score s WHERE s.stage IN ('SAL', 'SQL', 'Opportunity', 'Customer', 'Recycled')
        GROUP BY 1"""))
    assert set(rows) >= {"SAL", "Customer", "Recycled"}
    recycled = ws.scalar("t", "r", "SELECT min(person_id) FROM person_score WHERE stage = 'Recycled'")
    assert explain(ws, recycled)["stages"][-1]["reason"].startswith("returned by sales: ")
