"""Benchmark identity resolution: mactl import + merge against Splink on the same files.

    python -m benchmarks.bench_identity --data benchmarks/data/500k --truth benchmarks/data/500k/truth.csv
    python -m benchmarks.bench_identity --people 20000          # generates the data first
    python -m benchmarks.bench_identity ... --no-splink         # mactl only

Measured, each in a fresh process (wall time, peak RSS):
  1. mactl import of every file, then mactl merge (the full job);
  2. an incremental run: 1% new records (new web-form rows) imported and merged;
  3. Splink (DuckDB backend) twice, with the same model: blocking on phone, email, name+company;
     u by random sampling, m by EM on two blocking rules; clusters at 0.95 (timed) and at 0.5
     (accuracy only: with the prior of a large dedupe an exact email alone scores ~0.6).
     a. "mactl's fields": its load reads the files with pandas (calamine for .xlsx) and the link
        reads mactl's normalised email, mobile, name key and company key from the merged
        database. The making of those fields (mactl's import and normalisation) is in no
        Splink time: a lower bound for Splink, not a pipeline anyone can run without mactl.
     b. "own cleaning": all of it in Splink's process, as a careful Splink user would write it:
        pandas reads each export, finds its header row and maps the columns it knows, cuts the
        activity log to one row per address; DuckDB SQL cleans email, mobile, name and company
        (no pinyin, traditional characters or honorifics, which Splink does not have). Its rows
        are scored through the records mactl made of them, so both are scored on the same rows.
Accuracy: pairwise precision / recall / F1 of both against the generator's truth.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed_child(args: list[str]) -> tuple[float, float, str]:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed:\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def write_new_forms(data: Path, target: Path, rows: int) -> None:
    """1% new records: web-form rows of existing people, submitted again later (a new file)."""
    source = data / "官网表单导出_2026Q3.csv"
    with open(source, encoding="gb18030", newline="") as src, open(target, "w", encoding="gb18030", newline="") as out:
        reader, writer = csv.reader(src), csv.writer(out)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i >= rows:
                break
            row[0] = "2026-11-20 09:00:00"
            writer.writerow(row)


def export_files(data: Path, truth: Path | None) -> list[Path]:
    """The exports in the folder: every .csv and .xlsx except the truth file, which may be kept beside them."""
    skip = truth.resolve() if truth else None
    return sorted(p for p in data.iterdir() if p.suffix in (".csv", ".xlsx") and p.resolve() != skip)


def run_mactl(data: Path, files: list[Path], db: Path, records_hint: int) -> dict:
    mactl = ["-m", "mactl", "--db", str(db), "--quiet"]
    results = {}
    seconds, peak, out = timed_child([*mactl, "import", *map(str, files), "--json"])
    imported = json.loads(out)
    if imported["failed"]:  # a file that fails costs less than one that imports: the timing would flatter us
        raise SystemExit("import failed: " + "; ".join(f["error"] or f["file"] for f in imported["files"] if f["status"] == "failed"))
    results["import"] = (seconds, peak)
    seconds, peak, out = timed_child([*mactl, "merge", "--json"])
    results["merge"] = (seconds, peak)
    results["merge_summary"] = json.loads(out)
    new_file = db.parent / "new_forms_2026-11-20.csv"
    write_new_forms(data, new_file, max(1, records_hint // 100))
    results["import_1pct"] = timed_child([*mactl, "import", str(new_file), "--json"])[:2]
    results["merge_1pct"] = timed_child([*mactl, "merge", "--json"])[:2]
    return results


# the model both Splink runs use, on a frame `df` (unique_id, email, phone, name, company); timed from t1.
# Clusters at 0.95 (timed) and at 0.5 (not timed: with the prior of a large dedupe, an exact email alone
# scores about 0.6) as `out` and `low`.
SPLINK_MODEL = r'''
api = DuckDBAPI()
sdf = api.register(df)
settings = SettingsCreator(
    link_type="dedupe_only",
    comparisons=[
        cl.ExactMatch("phone"),
        cl.EmailComparison("email"),
        cl.JaroWinklerAtThresholds("name", [0.92, 0.8]),
        cl.JaroWinklerAtThresholds("company", [0.9, 0.7]),
    ],
    blocking_rules_to_generate_predictions=[block_on("phone"), block_on("email"), block_on("name", "company")],
    retain_intermediate_calculation_columns=False,
)
linker = Linker(sdf, settings)
linker.training.estimate_probability_two_random_records_match([block_on("phone"), block_on("email")], recall=0.8)
linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
pred = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.95)
out = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
link_seconds = time.perf_counter() - t1
low = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.5)
low = low.as_pandas_dataframe()[["unique_id", "cluster_id"]]
'''


SPLINK_SCRIPT = r'''
import sys, time, json, duckdb, pandas as pd
from pathlib import Path
files, db = [Path(p) for p in json.loads(sys.argv[1])], sys.argv[2]
t0 = time.perf_counter()
# load: what a Splink user does to get the exports into one table
frames = []
for p in files:
    if p.suffix == ".xlsx":
        for sheet, df in pd.read_excel(p, sheet_name=None, engine="calamine", dtype=str, header=None).items():
            frames.append(len(df))
    elif p.suffix == ".csv":
        enc = "gb18030" if "官网" in p.name else "utf-8-sig"
        frames.append(len(pd.read_csv(p, dtype=str, encoding=enc)))
load_seconds = time.perf_counter() - t0
con = duckdb.connect(db, read_only=True)
df = con.execute("""
    SELECT n.record_id AS unique_id, n.email, n.phone, n.name_pinyin AS name, n.company_pinyin AS company
    FROM record_norm n""").df()
con.close()
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl
t1 = time.perf_counter()
''' + SPLINK_MODEL + r'''
out.to_parquet(sys.argv[3])
low.to_parquet(sys.argv[3].replace(".parquet", "_050.parquet"))
print(json.dumps({"load": load_seconds, "link": link_seconds}))
'''

# Splink on its own: what a careful Splink user does without mactl. pandas reads each export, finds the
# header row, maps the columns it knows; the activity log is cut to one row per address; DuckDB SQL
# cleans the fields (no pinyin, traditional characters or honorifics: Splink has none). Same model as above.
SPLINK_OWN_SCRIPT = r'''
import sys, time, json, duckdb, pandas as pd
from pathlib import Path
files = [Path(p) for p in json.loads(sys.argv[1])]
COLUMNS = {"姓名": "name", "真实姓名": "name", "Contact Name": "name",
           "公司": "company", "公司名称": "company", "单位": "company", "Account Name": "company",
           "手机": "phone", "手机号": "phone", "手机号码": "phone", "Mobile": "phone",
           "邮箱": "email", "电子邮箱": "email", "Email": "email"}

def table(frame, file, sheet, first_row):
    frame = frame.rename(columns=COLUMNS)
    out = pd.DataFrame({c: frame[c] if c in frame else None for c in ("name", "company", "phone", "email")})
    out["source_file"], out["source_sheet"] = file, sheet
    out["source_row"] = range(first_row, first_row + len(out))
    if "name" not in frame and "phone" not in frame:  # an activity log: one row per address
        out = out.drop_duplicates("email")
    return out

t0 = time.perf_counter()
frames = []
for p in files:
    if p.suffix == ".xlsx":
        for sheet, df in pd.read_excel(p, sheet_name=None, engine="calamine", dtype=str, header=None).items():
            header = next((i for i in range(min(5, len(df))) if set(df.iloc[i].dropna()) & COLUMNS.keys()), None)
            if header is not None:  # a notes sheet has none
                df.columns = df.iloc[header]
                frames.append(table(df.iloc[header + 1:], p.name, sheet, header + 2))
    elif p.suffix == ".csv":
        enc = "gb18030" if "官网" in p.name else "utf-8-sig"
        frames.append(table(pd.read_csv(p, dtype=str, encoding=enc), p.name, "", 2))
raw = pd.concat(frames, ignore_index=True)
raw["unique_id"] = range(len(raw))
load_seconds = time.perf_counter() - t0
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl
t1 = time.perf_counter()
con = duckdb.connect()
con.register("raw", raw)
df = con.execute(r"""
    WITH f AS (
        SELECT unique_id, name, company, lower(trim(email)) AS e,
               regexp_replace(regexp_replace(COALESCE(phone, ''), '\.0$', ''), '[^0-9]', '', 'g') AS d
        FROM raw)
    SELECT unique_id,
           CASE WHEN regexp_matches(e, '^[^@ ]+@[^@ ]+\.[a-z]+$') THEN e END AS email,
           CASE WHEN length(p) = 11 AND p LIKE '1%' THEN p END AS phone,
           NULLIF(lower(regexp_replace(name, '\s+', '', 'g')), '') AS name,
           NULLIF(regexp_replace(lower(company),
                  '股份有限公司|有限责任公司|有限公司|集团|co\.?,? ?ltd\.?|inc\.?|ltd\.?|[\s().,（）]', '', 'g'), '') AS company
    FROM (SELECT *, CASE WHEN length(d) = 13 AND d LIKE '861%' THEN substr(d, 3)
                         WHEN length(d) = 15 AND d LIKE '00861%' THEN substr(d, 5) ELSE d END AS p FROM f)""").df()
''' + SPLINK_MODEL + r'''
lineage = raw[["unique_id", "source_file", "source_sheet", "source_row"]]
lineage.merge(out, on="unique_id").to_parquet(sys.argv[3])
lineage.merge(low, on="unique_id").to_parquet(sys.argv[3].replace(".parquet", "_050.parquet"))
print(json.dumps({"load": load_seconds, "link": link_seconds, "rows": len(raw)}))
'''


def run_splink(script_text: str, files: list[Path], db: Path, clusters_path: Path) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(script_text)
        script = handle.name
    seconds, peak, out = timed_child([script, json.dumps([str(p) for p in files]), str(db), str(clusters_path)])
    os.unlink(script)
    times = json.loads(out.strip().splitlines()[-1])
    return {"total": seconds, "peak": peak, **times}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="folder of exports from benchmarks.datagen")
    parser.add_argument("--truth", type=Path, help="its truth CSV")
    parser.add_argument("--people", type=int, default=20000, help="people to generate when --data is not given")
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink comparison")
    args = parser.parse_args(argv)
    data, truth = args.data, args.truth
    if data is None:
        data = REPO / "benchmarks" / "data" / f"identity-{args.people}"
        truth = data.parent / f"identity-{args.people}_truth.csv"
        if not data.exists():
            from benchmarks.datagen import generate

            generate(data, people=args.people, seed=1, events=args.people, truth_path=truth)
    records = sum(1 for _ in open(truth, encoding="utf-8")) - 1
    work = Path(tempfile.mkdtemp(prefix="mactl-bench-identity-"))
    db = work / "bench.duckdb"
    files = export_files(data, truth)
    mactl = run_mactl(data, files, db, records)

    from benchmarks.accuracy import pairwise_scores, row_clusters_as_records
    from mactl.workspace import Workspace

    splinks = {}
    if not args.no_splink:
        # Splink reads the records as they were before the 1% increment, for a like-for-like comparison
        splinks["mactl's fields"] = run_splink(SPLINK_SCRIPT, files, db, work / "splink_clusters.parquet")
        splinks["own cleaning"] = run_splink(SPLINK_OWN_SCRIPT, files, db, work / "splink_own_clusters.parquet")
    ws = Workspace(db)
    ours = pairwise_scores(ws, truth)
    scores = {"mactl": ours}
    for label, clusters in (("mactl's fields", "splink_clusters"), ("own cleaning", "splink_own_clusters")):
        if label not in splinks:
            continue
        for threshold, suffix in (("0.95", ""), ("0.5", "_050")):
            parquet, table = work / f"{clusters}{suffix}.parquet", f"{clusters}{suffix}_map"
            if label == "own cleaning":
                row_clusters_as_records(ws, parquet, table)
            else:
                ws.sql("bench", "splink clusters", f"""
                    CREATE OR REPLACE TEMP TABLE {table} AS
                    SELECT CAST(unique_id AS BIGINT) AS record_id, CAST(cluster_id AS VARCHAR) AS person_id
                    FROM read_parquet('{parquet}')""")
            scores[f"Splink, {label}, clusters at {threshold}"] = pairwise_scores(ws, truth, person_map=table)
    ws.close()
    print(f"\nIdentity resolution on {data} ({records:,} rows, {os.cpu_count()} cores)\n")
    print("| step | wall s | peak MB |\n|---|---:|---:|")
    for step in ("import", "merge", "import_1pct", "merge_1pct"):
        seconds, peak = mactl[step]
        print(f"| mactl {step} | {seconds:.1f} | {peak:.0f} |")
    full = mactl["import"][0] + mactl["merge"][0]
    print(f"| **mactl import + merge** | **{full:.1f}** | |")
    increment = mactl["import_1pct"][0] + mactl["merge_1pct"][0]
    print(f"| mactl 1% increment (import + merge) | {increment:.1f} ({increment / full:.0%} of full) | |")
    print(f"| mactl 1% increment, merge alone | {mactl['merge_1pct'][0]:.1f} "
          f"({mactl['merge_1pct'][0] / mactl['merge'][0]:.0%} of the full merge) | |")
    for label, splink in splinks.items():
        total = splink["load"] + splink["link"]
        print(f"| Splink ({label}) load | {splink['load']:.1f} | |")
        print(f"| Splink ({label}) link (clean + train + predict + cluster) | {splink['link']:.1f} | |")
        print(f"| **Splink ({label}) load + link** | **{total:.1f}** | {splink['peak']:.0f} |")
    for label, splink in splinks.items():
        print(f"ratio mactl / Splink ({label}): {full / (splink['load'] + splink['link']):.2f}")
    print("\n| | precision | recall | F1 |\n|---|---:|---:|---:|")
    for label, score in scores.items():
        o = score["overall"]
        print(f"| {label} | {o['precision']:.4f} | {o['recall']:.4f} | {o['f1']:.4f} |")
    peers = [label for label in scores if label.endswith("0.95")]
    print("\nper hard case (precision / recall):\n")
    print("| case | mactl | " + " | ".join(peers) + " |\n|---|---|" + "---|" * len(peers))
    for case, o in ours["cases"].items():
        cells = [f"{o['precision']:.3f} / {o['recall']:.3f}"]
        for label in peers:
            s = scores[label]["cases"].get(case)
            cells.append(f"{s['precision']:.3f} / {s['recall']:.3f}" if s else "-")
        print(f"| {case} | " + " | ".join(cells) + " |")
    summary = mactl["merge_summary"]
    print(f"\nmactl: {summary['records']:,} records → {summary['people']:,} people; {summary['review_open']} pairs for review; "
          f"links {summary['links_by_rule']}")


if __name__ == "__main__":
    main()
