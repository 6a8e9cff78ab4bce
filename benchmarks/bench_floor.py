"""The floor under any import: load every file of a folder into one DuckDB file as text, nothing more.

    python -m benchmarks.bench_floor --data benchmarks/data/500k
    python -m benchmarks.bench_floor --data benchmarks/data/run_530000_10000000

No cleaning, types, lineage, identities, events or quarantine: CSV through DuckDB's reader (all
columns text, GB18030 converted to UTF-8 first), each Excel sheet through calamine into an Arrow
table. What `mactl import` does on top of this is its own cost; this much it cannot go below with
the same libraries on the same machine. Prints seconds per file and the total (closing the file,
which writes it, included).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import python_calamine as calamine

from mactl.importing.readers import SNIFF_BYTES, detect_encoding


def load_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, scratch: Path) -> None:
    with open(path, "rb") as handle:
        encoding = detect_encoding(path, handle.read(SNIFF_BYTES))
    source = path
    if encoding.lower().replace("-", "") not in ("utf8", "utf8sig", "ascii"):
        source = scratch / "utf8.csv"
        source.write_text(path.read_text(encoding=encoding), encoding="utf-8")
    con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_csv(?, all_varchar = true, header = true)', [str(source)])


def load_xlsx(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    workbook = calamine.CalamineWorkbook.from_path(str(path))
    for index, name in enumerate(workbook.sheet_names):
        rows = workbook.get_sheet_by_name(name).to_python()
        if len(rows) < 2:
            continue
        width = max(len(r) for r in rows)
        columns = zip(*[list(r) + [""] * (width - len(r)) for r in rows[1:]])
        arrow = pa.table({f"c{i}": pa.array([None if v == "" else str(v) for v in column], type=pa.string())
                          for i, column in enumerate(columns)})
        con.register("_sheet", arrow)
        con.execute(f'CREATE TABLE "{table}_{index}" AS SELECT * FROM _sheet')
        con.unregister("_sheet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a folder of exports (e.g. from benchmarks.datagen)")
    args = parser.parse_args()
    files = sorted(p for p in args.data.iterdir() if p.suffix in (".csv", ".xlsx") and p.name != "truth.csv")
    with tempfile.TemporaryDirectory(prefix="mactl-floor-") as tmp:
        scratch = Path(tmp)
        con = duckdb.connect(str(scratch / "floor.duckdb"))
        started = time.perf_counter()
        for number, path in enumerate(files):
            begun = time.perf_counter()
            if path.suffix == ".csv":
                load_csv(con, path, f"t{number}", scratch)
            else:
                load_xlsx(con, path, f"t{number}")
            print(f"{path.name:<40}{time.perf_counter() - begun:>8.2f} s")
        con.close()
        print(f"{'total (with writing the file)':<40}{time.perf_counter() - started:>8.2f} s")


if __name__ == "__main__":
    main()
