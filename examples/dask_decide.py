"""Decide a book of cases with Dask, with dunning's own functions (docs/cluster.md).

    python examples/dask_decide.py --policy rules/lender.yaml \\
        --as-of 2026-11-28T10:00:00+08:00 --cases examples/portfolio.jsonl --out decisions

Two passes, as ``dunning.spark`` makes them: the portfolio figure counted over the whole book
(each partition's overdue borrowers, then their union: never a count per partition), then each
partition decided with that figure. One JSON line per non-blank input line (the decision, or the
error record) in ``decisions/*.jsonl``; the process prints the figure and the lines written.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from datetime import datetime

import dask.bag as db

import dunning
from dunning.batch import result_line


def overdue_customers(lines: db.Bag, policy: dunning.Policy, as_of: datetime) -> int:
    """The distinct overdue borrowers of the whole book (one task holds their ids at the end)."""
    borrowers = lines.map_partitions(
        lambda part: sorted(policy.overdue_borrowers(part, as_of=as_of))
    )
    return int(borrowers.distinct().count().compute())


def decided(
    lines: Iterable[str], policy: dunning.Policy, as_of: datetime, book: dunning.Portfolio | None
) -> Iterator[str]:
    """One partition's results as JSON lines: each decision, or the error record."""
    for result in policy.decide_many(lines, as_of=as_of, portfolio=book):
        yield result_line(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--as-of", required=True, type=datetime.fromisoformat)
    parser.add_argument("--cases", required=True, help="JSON Lines of cases (any Dask path)")
    parser.add_argument("--out", required=True, help="a directory for the results")
    args = parser.parse_args(argv)

    policy = dunning.load_policy(args.policy)
    as_of = policy.moment(args.as_of)
    lines = db.read_text(args.cases, blocksize="1MB").map(str.rstrip).filter(bool)
    book = None
    if policy.portfolio_rules:  # the rules read the figure: count it first, over everything
        book = dunning.Portfolio(overdue_customers(lines, policy, as_of))
        print(f"overdue customers {book.overdue_customers:,}")
    results = lines.map_partitions(lambda part: list(decided(part, policy, as_of, book)))
    written = results.to_textfiles(f"{args.out}/*.jsonl")
    print(f"files written     {len(written):,}")


if __name__ == "__main__":
    main()
