"""Decide a book of cases with Ray Data, with dunning's own functions (docs/cluster.md).

    python examples/ray_decide.py --policy rules/lender.yaml \\
        --as-of 2026-11-28T10:00:00+08:00 --cases examples/portfolio.jsonl --out decisions

Two passes, as ``dunning.spark`` makes them: the portfolio figure counted over the whole book
(each block's overdue borrowers, grouped by borrower across blocks: never a count per block),
then each block decided with that figure. The results (one per non-blank input line: the
decision's JSON, or the error record's) are written as Parquet, a column ``result``.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

import ray

import dunning
from dunning.batch import result_line


def overdue_customers(cases: ray.data.Dataset, policy: dunning.Policy, as_of: datetime) -> int:
    """The distinct overdue borrowers of the whole book, counted by Ray's shuffle."""
    borrowers = cases.map_batches(
        lambda batch: {"party_id": sorted(policy.overdue_borrowers(batch["text"], as_of=as_of))}
    )
    return int(borrowers.groupby("party_id").count().count())


def decided(
    batch: dict[str, Any], policy: dunning.Policy, as_of: datetime, book: dunning.Portfolio | None
) -> dict[str, list[str]]:
    """One block's results: each decision's JSON, or the error record's."""
    results = policy.decide_many(batch["text"], as_of=as_of, portfolio=book)
    return {"result": [result_line(result) for result in results]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--as-of", required=True, type=datetime.fromisoformat)
    parser.add_argument("--cases", required=True, help="JSON Lines of cases (any Ray path)")
    parser.add_argument("--out", required=True, help="a directory for the results (Parquet)")
    parser.add_argument("--blocks", type=int, default=4, help="blocks to split the book into")
    args = parser.parse_args(argv)

    ray.init()  # a local Ray, or the cluster RAY_ADDRESS names
    policy = dunning.load_policy(args.policy)
    as_of = policy.moment(args.as_of)
    cases = ray.data.read_text(args.cases).repartition(args.blocks)
    book = None
    if policy.portfolio_rules:  # the rules read the figure: count it first, over everything
        book = dunning.Portfolio(overdue_customers(cases, policy, as_of))
        print(f"overdue customers {book.overdue_customers:,}")
    options = {"policy": policy, "as_of": as_of, "book": book}
    results = cases.map_batches(decided, fn_kwargs=options)
    results.write_parquet(args.out)
    print(f"results written   {ray.data.read_parquet(args.out).count():,}")


if __name__ == "__main__":
    main()
