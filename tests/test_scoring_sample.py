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
    mismatches = ws.scalar("t", "m", """
        SELECT count(*) FROM person_score s LEFT JOIN (
            SELECT person_id, sum(points) FILTER (WHERE factor = 'fit') AS fit,
                   sum(points) FILTER (WHERE factor = 'engagement') AS engagement
            FROM score_contribution GROUP BY 1) c USING (person_id)
        WHERE abs(s.fit - coalesce(c.fit, 0)) > 0.01 OR abs(s.engagement - least(coalesce(c.engagement, 0), 100)) > 0.01""")
    assert mismatches == 0


def test_crm_feedback_sets_sales_stages(scored):
    ws, summary = scored
    rows = dict(ws.fetchall("t", "s", """
        SELECT s.stage, count(*) FROM person_score s WHERE s.stage IN ('SAL', 'SQL', 'Opportunity', 'Customer', 'Recycled')
        GROUP BY 1"""))
    assert set(rows) >= {"SAL", "Customer", "Recycled"}
    recycled = ws.scalar("t", "r", "SELECT min(person_id) FROM person_score WHERE stage = 'Recycled'")
    assert explain(ws, recycled)["stages"][-1]["reason"].startswith("returned by sales: ")
