"""Where the end-to-end time goes: the pipeline run cumulatively, one stage more each time.

    python benchmarks/stages.py [--cases 5000]

Each row runs the pipeline on the same lines up to that stage (one case at a time, as
``decide_many`` does), so the difference between two rows is the cost of the stage between them.
Everything is public API: the kernel row runs an engine built from the policy's IR, and the
decision-model row a copy of the policy with every guard turned off.
The first row is the JSON floor of the benchmark (``json.loads`` + ``json.dumps``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "examples"))

import dunning  # noqa: E402
from dunning.engines.compiled import CompiledEngine  # noqa: E402
from dunning.facts import fact_view  # noqa: E402
from dunning.model import Case  # noqa: E402
from dunning.rules.guard_config import GUARD_IDS  # noqa: E402
from generate_portfolio import Generator  # noqa: E402

AS_OF = "2026-11-28T10:00:00+08:00"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    policy = dunning.load_policy(ROOT / "rules" / "lender.yaml")
    moment = policy.moment(datetime.fromisoformat(AS_OF))
    book = dunning.Portfolio(500)
    generator = Generator(7)
    lines = [json.dumps(generator.case(n), ensure_ascii=False) for n in range(1, args.cases + 1)]
    lines = [
        line
        for line in lines
        if Case.model_validate_json(line).loan.product.value in policy.ir.products
    ]
    engine = CompiledEngine(policy.ir, policy.digest)
    unguarded = dunning.loads_policy(_without_guards(policy.text), name="lender-unguarded")

    def floor() -> None:
        for line in lines:
            json.dumps(json.loads(line))

    def validate() -> None:
        for line in lines:
            Case.model_validate_json(line)

    def assess() -> None:
        for line in lines:
            policy.assess(Case.model_validate_json(line), moment)

    def facts() -> None:
        for line in lines:
            case = Case.model_validate_json(line)
            fact_view(case, policy.assess(case, moment), moment, book)

    def rules() -> None:
        for line in lines:
            case = Case.model_validate_json(line)
            engine.run(fact_view(case, policy.assess(case, moment), moment, book))

    def decision_model() -> None:  # every guard off: the decision as the rules made it
        for line in lines:
            unguarded.decide(Case.model_validate_json(line), as_of=moment, portfolio=book)

    def guards() -> None:
        for line in lines:
            policy.decide(Case.model_validate_json(line), as_of=moment, portfolio=book)

    def end_to_end() -> None:
        for decision in policy.decide_many(lines, as_of=moment, portfolio=book):
            decision.model_dump_json()  # type: ignore[union-attr]

    stages: list[tuple[str, Callable[[], None]]] = [
        ("JSON floor: json.loads + json.dumps", floor),
        ("validate the case (pydantic, from JSON text)", validate),
        ("+ assess (schedule, allocation, penalty)", assess),
        ("+ fact view", facts),
        ("+ rules (the compiled kernel)", rules),
        ("+ the decision model", decision_model),
        ("+ compliance guards", guards),
        ("+ JSON out = end to end", end_to_end),
    ]
    print(f"{len(lines):,} cases of the lender's products, best of {args.repeats}\n")
    print(f"{'pipeline up to':<48}{'µs/case':>9}{'stage':>9}")
    for _, run in stages:
        run()  # warm-up
    # Round robin: every pass times each stage once, so that a noisy minute on a shared
    # machine touches every stage alike instead of inflating one of them.
    best = [float("inf")] * len(stages)
    for _ in range(args.repeats):
        for i, (_, run) in enumerate(stages):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    before = 0.0
    for (name, run), seconds in zip(stages, best, strict=True):
        micro = seconds / len(lines) * 1e6
        stage = "" if run is floor else f"{micro - before:>9.1f}"
        print(f"{name:<48}{micro:>9.1f}{stage}")
        before = micro if run is not floor else 0.0
    return 0


def _without_guards(text: str) -> str:
    """The policy's text with every guard turned off."""
    before, rest = text.split("\nguards:\n", 1)
    off = "".join(f"  {guard}: off\n" for guard in GUARD_IDS)
    return before + "\nguards:\n" + off + rest[rest.index("\nrules:") :]


if __name__ == "__main__":
    raise SystemExit(main())
