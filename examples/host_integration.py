"""How a lending platform embeds dunning: load the policy once, decide cases as they come.

Run it with `python examples/host_integration.py`; the test suite runs it too.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dunning

HERE = Path(__file__).resolve().parent


def main() -> None:
    # Load once at start-up: checking and compiling happen here, never per case. A Policy is
    # immutable and can be shared by every worker thread.
    policy = dunning.load_policy(HERE.parent / "rules" / "lender.yaml")
    as_of = datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    # The host knows its whole book; pass its figure so the batch can be streamed.
    book = dunning.Portfolio(overdue_customers=888)

    channels: Counter[str] = Counter()
    guards: Counter[str] = Counter()
    with (HERE / "portfolio.jsonl").open(encoding="utf-8") as lines:
        for result in policy.decide_many(dunning.read_cases(lines), as_of=as_of, portfolio=book):
            if isinstance(result, dunning.CaseError):
                # A real host files this for review; nothing is dropped silently.
                channels["rejected: " + result.problems[0].code] += 1
                continue
            channels[result.action.channel.value] += 1
            # What the compliance guards changed, and why, travels with every decision.
            for record in result.guards:
                guards[f"{record.id} ({record.effect})"] += 1

    for name, count in sorted(channels.items()):
        print(f"{name:<34}{count:>6}")
    print()
    for name, count in sorted(guards.items()):
        print(f"{name:<34}{count:>6}")

    # One case, with the reasons, as a collector's screen would show it.
    case = dunning.parse_case(
        (HERE / "portfolio.jsonl").read_text(encoding="utf-8").splitlines()[1]
    )
    explanation = policy.explain(case, as_of=as_of, portfolio=book)
    print()
    print(explanation.render().split("\n\n")[0])


if __name__ == "__main__":
    main()
