"""Time identity normalisation (record_norm) on N synthetic source records.

    .venv/bin/python -m benchmarks.bench_normalize --records 100000
    .venv/bin/python -m benchmarks.bench_normalize --records 1000000 --threads 2

Records are generated in DuckDB SQL with the mix real exports have: mobiles written in
many ways (+86, dashes, Excel floats), some landlines and foreign numbers, Chinese names
(some traditional, with spaces or honorifics), pinyin and English names, companies with
legal suffixes and city prefixes, emails with case and spaces. Reports wall time of
``normalize_records`` and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from mactl.identity.normalize import normalize_records
from mactl.workspace import Workspace

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐許韓馮鄧曹彭曾蕭田董袁潘于蔣蔡余杜叶程苏魏吕丁任沈姚卢姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国志新宇浩然晨思雨嘉怡梓轩子涵博文佳琪俊熙家豪雅婷欣悦"
BRANDS = "华为 海尔 美的 格力 联想 比亚迪 三一 中联 汇川 大族 万华 恒力 远景 蓝思 欧菲 长城 吉利 潍柴 徐工 迈瑞 东软 用友 金蝶 浪潮"
WORDS = "科技 技术 智能 电子 信息 软件 实业 机械"
SUFFIXES = "有限公司 股份有限公司 有限责任公司 集团有限公司"
CITIES = "上海 北京 深圳 广州 苏州 杭州 南京 成都"


def synthetic_records_sql(count: int) -> str:
    """INSERT of `count` source records; distinct-value ratios roughly like a large CRM plus event lists."""
    return f"""
    INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row, file_sha256, channel,
                               name, phone, email, company, imported_at)
    WITH base AS (
        SELECT i,
               hash(i) AS h,
               string_split('{SURNAMES}', '')[1 + (hash(i * 3) % {len(SURNAMES)})::BIGINT] AS sur,
               string_split('{GIVEN}', '')[1 + (hash(i * 5) % {len(GIVEN)})::BIGINT] AS g1,
               string_split('{GIVEN}', '')[1 + (hash(i * 7) % {len(GIVEN)})::BIGINT] AS g2,
               string_split('{BRANDS}', ' ')[1 + (hash(i * 11) % {len(BRANDS.split())})::BIGINT] AS brand,
               string_split('{WORDS}', ' ')[1 + (hash(i * 13) % {len(WORDS.split())})::BIGINT] AS word,
               string_split('{SUFFIXES}', ' ')[1 + (hash(i * 17) % {len(SUFFIXES.split())})::BIGINT] AS suffix,
               string_split('{CITIES}', ' ')[1 + (hash(i * 19) % {len(CITIES.split())})::BIGINT] AS city,
               (3000000000 + hash(i * 23) % 6999999999)::VARCHAR AS tail
        FROM range({count}) t(i)
    )
    SELECT i, 1, 'bench.csv', '', i + 2, 'x', 'list',
           CASE h % 20 WHEN 0 THEN sur || '先生' WHEN 1 THEN sur || '女士' WHEN 2 THEN 'Zhang Wei'
                       WHEN 3 THEN 'Smith, John' WHEN 4 THEN sur || ' ' || g1 WHEN 5 THEN NULL
                       ELSE sur || g1 || CASE WHEN h % 3 = 0 THEN g2 ELSE '' END END,
           CASE h % 16 WHEN 0 THEN '+86 ' || substr('1' || tail, 1, 3) || '-' || substr('1' || tail, 4, 4) || '-' || substr('1' || tail, 8)
                       WHEN 1 THEN '1' || tail || '.0'
                       WHEN 2 THEN '(+86)1' || tail
                       WHEN 3 THEN '021-6' || substr(tail, 2, 7)
                       WHEN 4 THEN '+1 650 253 ' || substr(tail, 7, 4)
                       WHEN 5 THEN NULL
                       ELSE '1' || tail END,
           CASE WHEN h % 7 = 0 THEN NULL
                ELSE ' User' || (i % 500000)::VARCHAR || '@' || CASE h % 4 WHEN 0 THEN 'QQ.com' ELSE brand || '.cn' END || ' ' END,
           CASE h % 5 WHEN 0 THEN city || brand || word || suffix
                      WHEN 1 THEN brand || word || '(' || city || ')' || suffix
                      WHEN 2 THEN brand || ' Technologies Co., Ltd.'
                      ELSE brand || word || suffix END,
           now()
    FROM base"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "bench.duckdb")
        ws.con.execute(f"SET threads = {args.threads}")
        ws.con.execute("SET enable_progress_bar = false")
        with ws.transaction():
            ws.sql("bench", "generate", synthetic_records_sql(args.records))
        distinct = ws.fetchone("bench", "distinct", """SELECT count(DISTINCT name), count(DISTINCT phone),
            count(DISTINCT company) FROM source_record""")
        started = time.perf_counter()
        with ws.transaction():
            done = normalize_records(ws)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"records={args.records} normalised={done} distinct names/phones/companies={distinct} "
              f"threads={args.threads} wall={seconds:.2f}s peak_rss={peak_mb:.0f}MB")
        ws.close()


if __name__ == "__main__":
    main()
