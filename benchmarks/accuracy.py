"""Pairwise precision, recall and F1 of a merge against the generator's ground truth.

A pair is two rows of the export files; it is a true pair when the truth gives them the same
person_key, a predicted pair when mactl gave their records the same person_id. Rows, not
records: an activity log's rows share one record per identity, and the scores must not change
with how many records the importer makes. A row is found through its record (source_row) or
through its events (event.source_row). Per hard case, the pairs counted are those with a row of
that case.
"""

from __future__ import annotations

from pathlib import Path

from mactl.workspace import Workspace

# every imported row of an export and the record it became (an activity log's rows through their events)
ROW_RECORD = """
    SELECT source_file, source_sheet, source_row, record_id FROM source_record
    UNION
    SELECT s.source_file, s.source_sheet, e.source_row, e.record_id
    FROM event e JOIN source_record s USING (record_id) WHERE e.source_row IS NOT NULL"""


def row_clusters_as_records(ws: Workspace, parquet: str | Path, table: str) -> None:
    """``table(record_id, person_id)`` from clusters of export rows (file, sheet, row, cluster_id), made
    outside mactl: each row is found as the record mactl made of it, so both are scored on the same rows.
    A record of several rows (an activity log's) takes the cluster of one of them."""
    ws.sql("bench", "row clusters", f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT r.record_id, CAST(any_value(c.cluster_id) AS VARCHAR) AS person_id
        FROM read_parquet(?) c
        JOIN ({ROW_RECORD}) r ON r.source_file = c.source_file AND r.source_sheet = c.source_sheet
             AND r.source_row = c.source_row
        GROUP BY r.record_id""", [str(parquet)])


def load_truth(ws: Workspace, truth_csv: str | Path, person_map: str = "person_record") -> None:
    """_truth(row_id, person_key, case_name, predicted) for every imported row."""
    ws.sql("bench", "load truth", f"""
        CREATE OR REPLACE TEMP TABLE _truth AS
        WITH row_record AS ({ROW_RECORD})
        SELECT row_number() OVER (ORDER BY r.record_id, r.source_row) AS row_id, t.person_key,
               t."case" AS case_name, m.person_id AS predicted
        FROM read_csv(?, all_varchar = true, header = true) t
        JOIN row_record r ON r.source_file = t.source_file AND r.source_sheet = COALESCE(t.source_sheet, '')
             AND r.source_row = CAST(t.source_row AS INTEGER)
        JOIN {person_map} m ON m.record_id = r.record_id
        WHERE t.person_key IS NOT NULL""", [str(truth_csv)])


def pairwise_scores(ws: Workspace, truth_csv: str | Path, person_map: str = "person_record") -> dict:
    load_truth(ws, truth_csv, person_map)
    overall = _scores(ws, "true")
    cases = [r[0] for r in ws.fetchall("bench", "cases", "SELECT DISTINCT case_name FROM _truth ORDER BY 1")]
    per_case = {c: _scores(ws, "(a.case_name = ? OR b.case_name = ?)", [c, c]) for c in cases if c != "plain"}
    return {"overall": overall, "cases": per_case}


def _scores(ws: Workspace, condition: str, params: list | None = None) -> dict:
    params = params or []
    true_pairs, true_positive = ws.fetchone("bench", "true pairs", f"""
        SELECT count(*), count(*) FILTER (WHERE a.predicted = b.predicted)
        FROM _truth a JOIN _truth b ON a.person_key = b.person_key AND a.row_id < b.row_id
        WHERE {condition}""", params)
    predicted_pairs = ws.scalar("bench", "predicted pairs", f"""
        SELECT count(*) FROM _truth a JOIN _truth b ON a.predicted = b.predicted AND a.row_id < b.row_id
        WHERE {condition}""", params)
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_pairs": true_pairs, "predicted_pairs": predicted_pairs, "true_positive": true_positive,
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
    }
