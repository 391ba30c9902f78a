"""Decide a book of cases on Spark and write the decisions as Parquet (docs/cluster.md).

    spark-submit --master 'local[2]' --conf spark.pyspark.python="$(command -v python)" \\
        examples/spark_decide.py --policy rules/lender.yaml --as-of 2026-11-28T10:00:00+08:00 \\
        --cases examples/portfolio.jsonl --out decisions.parquet

The cases are JSON Lines (one case per line, as ``dunning decide`` reads them); every line gets
one result row, keyed by its line number. The portfolio figure is counted over the whole file
when the policy's rules need it. The driver prints the counts by status and never holds the
decisions: Spark writes them.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import dunning
from dunning.spark import check_workers, decide


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--as-of", required=True, type=datetime.fromisoformat)
    parser.add_argument("--cases", required=True, help="JSON Lines of cases (any Spark path)")
    parser.add_argument("--out", required=True, help="where to write the decisions (Parquet)")
    parser.add_argument("--overdue-customers", type=int, default=None)
    args = parser.parse_args()

    spark = SparkSession.builder.appName("dunning-decide").getOrCreate()
    try:
        check_workers(spark)  # before the first Python job below: one error, not one per task
        policy = dunning.load_policy(args.policy)
    except dunning.DunningError as error:
        sys.exit(f"spark_decide: {error}")
    # One row per line, with its line number (1-based) as the key the results carry.
    numbered = spark.read.text(args.cases).rdd.zipWithIndex()
    cases = spark.createDataFrame(
        numbered.map(lambda pair: (pair[1] + 1, pair[0].value)), "line long, case string"
    )
    decisions = decide(cases, policy, args.as_of, key="line", portfolio=args.overdue_customers)
    decisions.write.mode("overwrite").parquet(args.out)
    written = spark.read.parquet(args.out)
    for row in written.groupBy("status").agg(F.count("*").alias("n")).orderBy("status").collect():
        print(f"{row.status:<9}{row.n:>9,}")


if __name__ == "__main__":
    main()
