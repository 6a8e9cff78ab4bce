"""Clusters of records: connected components of the strong links, then the few joins that need judgement.

Components of the strong edges come from scipy's connected_components over
the edge list as integer arrays (no per-record Python). Python only
handles what is small by nature: components a person split apart on purpose
(cannot-link overrides), and weak links between components, accepted one by
one so that two people are never chained together through weak links.
"""

from __future__ import annotations

from mactl.identity.matching import STAGE, WeakPair
from mactl.workspace import Workspace


def label_components(ws: Workspace, edges: str) -> int:
    """Fill _id_label(record_id, label): label = smallest record id of the component. Returns the components.

    The graph goes to scipy's connected_components as two integer arrays (record ids renumbered
    densely in SQL), so no Python loop touches a record; the labels come back as one frame.
    """
    import numpy as np
    import pandas as pd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ws.sql(STAGE, "number records", """
        CREATE OR REPLACE TEMP TABLE _id_node AS
        SELECT record_id, CAST(row_number() OVER (ORDER BY record_id) - 1 AS INTEGER) AS node FROM _id_rec""")
    nodes = ws.sql(STAGE, "read nodes", "SELECT record_id FROM _id_node ORDER BY node").fetchnumpy()["record_id"]
    pairs = ws.sql(STAGE, "read edges", f"""
        SELECT a.node AS a, b.node AS b FROM {edges} e
        JOIN _id_node a ON a.record_id = e.record_id JOIN _id_node b ON b.record_id = e.other_record_id""").fetchnumpy()
    count = len(nodes)
    a, b = np.asarray(pairs["a"], dtype=np.int32), np.asarray(pairs["b"], dtype=np.int32)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(count, count))
    components, component = connected_components(graph, directed=False)
    # the smallest record id of each component: nodes are numbered in record id order
    first = np.full(components, count, dtype=np.int64)
    np.minimum.at(first, component, np.arange(count))
    ws.load_frame(STAGE, "_id_label", pd.DataFrame({"record_id": np.asarray(nodes, dtype=np.int64),
                                                    "label": np.asarray(nodes, dtype=np.int64)[first[component]]}),
                  select="CAST(record_id AS BIGINT) AS record_id, CAST(label AS BIGINT) AS label")
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_node")
    return int(components)


class _UnionFind:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        root, child = min(ra, rb), max(ra, rb)
        self.parent[child] = root
        return root


def split_cannot_links(ws: Workspace, edges: str) -> int:
    """Re-cluster, respecting cannot-link overrides, the components that contain such a pair. Returns how many."""
    conflicted = ws.fetchall(STAGE, "find split components", """
        SELECT DISTINCT la.label FROM identity_override o
        JOIN _id_label la ON la.record_id = o.record_id JOIN _id_label lb ON lb.record_id = o.other_record_id
        WHERE o.active AND o.kind = 'cannot_link' AND la.label = lb.label""")
    if not conflicted:
        return 0
    labels = [r[0] for r in conflicted]
    members = ws.fetchall(STAGE, "members to split", "SELECT record_id FROM _id_label WHERE list_contains(?, label)", [labels])
    edge_rows = ws.fetchall(STAGE, "edges to split", f"""
        SELECT e.record_id, e.other_record_id FROM {edges} e JOIN _id_label l ON l.record_id = e.record_id
        WHERE list_contains(?, l.label) ORDER BY e.record_id, e.other_record_id""", [labels])
    forbidden_rows = ws.fetchall(STAGE, "cannot links", """
        SELECT record_id, other_record_id FROM identity_override WHERE active AND kind = 'cannot_link'""")
    forbidden: dict[int, set[int]] = {}
    for a, b in forbidden_rows:
        forbidden.setdefault(a, set()).add(b)
        forbidden.setdefault(b, set()).add(a)
    groups = _UnionFind()
    sets = {r[0]: {r[0]} for r in members}
    for a, b in edge_rows:
        ra, rb = groups.find(a), groups.find(b)
        if ra == rb or any(forbidden.get(x, set()) & sets[rb] for x in sets[ra]):
            continue
        root = groups.union(ra, rb)
        sets[root] = sets.pop(ra if root == rb else rb) | sets.pop(root)
    relabel = [(record, min(sets[groups.find(record)])) for record, in members]
    _apply_relabel(ws, "record_id", relabel)
    return len(labels)


def join_weak(ws: Workspace, pairs: list[WeakPair]) -> list[WeakPair]:
    """Accept weak pairs one at a time (best first) unless they would put conflicting identifiers together."""
    candidates = [p for p in pairs if not p.review]
    if not candidates:
        return []
    labels = sorted({p.a for p in candidates} | {p.b for p in candidates})
    profile = {
        label: (set(phones or []), set(genders or []))
        for label, phones, genders in ws.fetchall(
            STAGE, "weak profiles", "SELECT label, phones, genders FROM _id_profile WHERE list_contains(?, label)", [labels])
    }
    forbidden = {
        (a, b) for a, b in ws.fetchall(STAGE, "weak cannot links", """
            SELECT la.label, lb.label FROM identity_override o
            JOIN _id_label la ON la.record_id = o.record_id JOIN _id_label lb ON lb.record_id = o.other_record_id
            WHERE o.active AND o.kind = 'cannot_link'""")
    }
    groups = _UnionFind()
    members = {label: {label} for label in labels}
    accepted: list[WeakPair] = []
    for pair in sorted(candidates, key=lambda p: (-p.score, p.a, p.b)):
        ra, rb = groups.find(pair.a), groups.find(pair.b)
        if ra == rb:
            continue
        phones_a, genders_a = profile.get(ra, (set(), set()))
        phones_b, genders_b = profile.get(rb, (set(), set()))
        if phones_a and phones_b and not phones_a & phones_b:
            continue  # two different mobiles: two people, whatever the names say
        if genders_a and genders_b and genders_a != genders_b:
            continue
        if any((x, y) in forbidden or (y, x) in forbidden for x in members[ra] for y in members[rb]):
            continue
        root = groups.union(ra, rb)
        other = rb if root == ra else ra
        profile[root] = (phones_a | phones_b, genders_a | genders_b)
        members[root] = members[ra] | members[rb]
        members.pop(other, None)
        accepted.append(pair)
    relabel = [(label, groups.find(label)) for label in labels if groups.find(label) != label]
    if relabel:
        _apply_relabel(ws, "label", relabel)
    return accepted


def _apply_relabel(ws: Workspace, key: str, relabel: list[tuple[int, int]]) -> None:
    """New labels for records, keyed by ``record_id`` (one record) or by ``label`` (a whole component)."""
    import pandas as pd

    frame = pd.DataFrame({"old": [a for a, _ in relabel], "new": [b for _, b in relabel]}, dtype="int64")
    ws.load_frame(STAGE, "_id_relabel", frame)
    ws.sql(STAGE, "apply relabel", f"""
        CREATE OR REPLACE TEMP TABLE _id_label AS
        SELECT l.record_id, COALESCE(r.new, l.label) AS label FROM _id_label l LEFT JOIN _id_relabel r ON r.old = l.{key}""")
