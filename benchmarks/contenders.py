"""The lender policy's channel and commission decision, written by hand for each contender.

Each contender takes the same fact views (the dicts ``dunning.facts.fact_view`` builds) and
returns ``(channel, commission rate)`` — the rules' own outcome, before the guards — so that
the benchmark can check that all of them agree with the compiled engine before timing them.
The numbers are the lender policy's parameter defaults (rules/lender.yaml).
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

Result = tuple[str, Decimal | None]

SECURED = ("mortgage", "vehicle_pledge")
HIGH_RISK = ("D", "E")
LARGE = Decimal("50000.00")
EARLY_PHASE = 50
RATES = (Decimal("0.07"), Decimal("0.14"), Decimal("0.20"), Decimal("0.25"))


def limit(f: dict[str, Any]) -> Result:
    """The decision as a hand-written Python ``if`` chain: the speed limit."""
    product, dpd = f["product"], f["dpd"]
    enough = f["overdue_customers"] >= EARLY_PHASE
    cf = product == "consumer_finance"
    if dpd == 0:
        channel = "none"
    elif product in SECURED and dpd >= 91:
        channel = "legal_preservation"
    elif cf and dpd >= 91:
        channel = "outsource" if enough else "field_visit"
    elif cf and enough and (f["lost_contact"] or f["total_due"] >= LARGE):
        channel = "outsource"
    elif dpd >= 31 or (
        dpd > 7
        and (f["broken_promises_30d"] >= 2 or (f["calls_7d"] >= 6 and f["connected_calls_7d"] == 0))
    ):
        channel = "field_visit"
    elif f["open_promise"]:
        channel = "sms"
    elif f["rating"] in HIGH_RISK:
        channel = "call"
    elif dpd <= 7:
        channel = "sms"
    else:
        channel = "call"
    if dpd == 0:
        rate = None
    elif dpd <= 90:
        rate = RATES[0]
    elif dpd <= 120:
        rate = RATES[1]
    elif dpd <= 180:
        rate = RATES[2]
    else:
        rate = RATES[3]
    return channel, rate


# --- durable-rules, raw ------------------------------------------------------------------------

_CHANNEL_RULES: list[tuple[str, dict[str, Any]]] = [
    ("none", {"dpd": 0}),
    (
        "legal_preservation",
        {"$and": [{"$or": [{"product": p} for p in SECURED]}, {"$gte": {"dpd": 91}}]},
    ),
    (
        "field_visit",
        {
            "$and": [
                {"product": "consumer_finance"},
                {"$gte": {"dpd": 91}},
                {"$lt": {"overdue_customers": EARLY_PHASE}},
            ]
        },
    ),
    ("outsource", {"$and": [{"product": "consumer_finance"}, {"$gte": {"dpd": 91}}]}),
    (
        "outsource",
        {
            "$and": [
                {"product": "consumer_finance"},
                {"lost_contact": True},
                {"$gte": {"overdue_customers": EARLY_PHASE}},
            ]
        },
    ),
    (
        "outsource",
        {
            "$and": [
                {"product": "consumer_finance"},
                {"$gte": {"total_due": int(LARGE * 100)}},  # cents: no binary floats
                {"$gte": {"overdue_customers": EARLY_PHASE}},
            ]
        },
    ),
    ("field_visit", {"$and": [{"$gte": {"dpd": 31}}, {"$lte": {"dpd": 90}}]}),
    ("field_visit", {"$and": [{"$gt": {"dpd": 7}}, {"$gte": {"broken_promises_30d": 2}}]}),
    (
        "field_visit",
        {"$and": [{"$gt": {"dpd": 7}}, {"$gte": {"calls_7d": 6}}, {"connected_calls_7d": 0}]},
    ),
    ("sms", {"open_promise": True}),
    ("call", {"$or": [{"rating": r} for r in HIGH_RISK]}),
    ("sms", {"$and": [{"$gte": {"dpd": 1}}, {"$lte": {"dpd": 7}}]}),
    ("call", {"$and": [{"$gte": {"dpd": 8}}, {"$lte": {"dpd": 30}}]}),
]
_names = itertools.count()


class DurableRaw:
    """A hand-written durable-rules ruleset, one fact posted (asserted) per case."""

    def __init__(self) -> None:
        from durable import engine

        self.matched: list[int] = []
        definition: dict[str, Any] = {}
        for index, (_, condition) in enumerate(_CHANNEL_RULES):
            definition[f"r{index}"] = {
                "all": [{"m": {"$and": [{"_0": 0}, condition]}}],
                "run": self._fired(index),
            }
        # A rule every fact matches: durable-rules crashes deleting a session nothing matched.
        definition["any"] = {"all": [{"m": {"_0": 0}}], "run": lambda c: None}
        self.ruleset = engine.Ruleset(f"bench-raw-{next(_names)}", None, definition)
        self.sessions = itertools.count(1)

    def _fired(self, index: int) -> Any:
        def fired(c: Any) -> None:
            self.matched.append(index)

        return fired

    def decide(self, f: dict[str, Any]) -> Result:
        sid = str(next(self.sessions))
        event = {
            "_0": 0,
            "sid": sid,
            "product": f["product"],
            "dpd": f["dpd"],
            "overdue_customers": f["overdue_customers"],
            "lost_contact": f["lost_contact"],
            "total_due": int(f["total_due"] * 100),
            "broken_promises_30d": f["broken_promises_30d"],
            "calls_7d": f["calls_7d"],
            "connected_calls_7d": f["connected_calls_7d"],
            "open_promise": f["open_promise"],
        }
        if f["rating"] is not None:
            event["rating"] = f["rating"]
        self.matched = []
        try:
            handle = self.ruleset.assert_fact(event)
            self.ruleset.do_actions(handle, lambda e, s: None)
        finally:
            self.ruleset.delete_state(sid)
        first = min(self.matched, default=None)
        channel = "call" if first is None else _CHANNEL_RULES[first][0]
        return channel, _commission(f)


def _commission(f: dict[str, Any]) -> Decimal | None:
    # The commission table is not the engines' race; every contender but the limit and the
    # zen table uses this same lookup, so it costs each of them alike.
    return limit(f)[1]


# --- zen-engine ----------------------------------------------------------------------------------


def _cell(test: str) -> str:
    return test


def lender_jdm() -> dict[str, Any]:
    """The lender's channel and commission as two first-hit JDM decision tables."""
    inputs = [
        ("product", "product"),
        ("dpd", "dpd"),
        ("oc", "overdue_customers"),
        ("lost", "lost_contact"),
        ("due", "total_due"),
        ("broken", "broken_promises_30d"),
        ("calls", "calls_7d"),
        ("talks", "connected_calls_7d"),
        ("promise", "open_promise"),
        ("rating", "rating"),
    ]
    rows = [
        {"dpd": "0", "out": '"none"'},
        {"product": '"mortgage", "vehicle_pledge"', "dpd": ">= 91", "out": '"legal_preservation"'},
        {"product": '"consumer_finance"', "dpd": ">= 91", "oc": "< 50", "out": '"field_visit"'},
        {"product": '"consumer_finance"', "dpd": ">= 91", "out": '"outsource"'},
        {"product": '"consumer_finance"', "lost": "true", "oc": ">= 50", "out": '"outsource"'},
        {"product": '"consumer_finance"', "due": ">= 50000", "oc": ">= 50", "out": '"outsource"'},
        {"dpd": "[31..90]", "out": '"field_visit"'},
        {"dpd": "> 7", "broken": ">= 2", "out": '"field_visit"'},
        {"dpd": "> 7", "calls": ">= 6", "talks": "0", "out": '"field_visit"'},
        {"promise": "true", "out": '"sms"'},
        {"rating": '"D", "E"', "out": '"call"'},
        {"dpd": "[1..7]", "out": '"sms"'},
        {"out": '"call"'},
    ]
    channel = {
        "hitPolicy": "first",
        "inputs": [{"id": i, "name": i, "field": field} for i, field in inputs],
        "outputs": [{"id": "out", "name": "channel", "field": "channel"}],
        "rules": [
            {"_id": f"c{n}", **{i: row.get(i, "") for i, _ in inputs}, "out": row["out"]}
            for n, row in enumerate(rows)
        ],
    }
    stages = [
        {"dpd": "0", "rate": "null"},
        {"dpd": "[1..90]", "rate": "0.07"},
        {"dpd": "[91..120]", "rate": "0.14"},
        {"dpd": "[121..180]", "rate": "0.20"},
        {"dpd": "", "rate": "0.25"},
    ]
    commission = {
        "hitPolicy": "first",
        "inputs": [{"id": "dpd", "name": "dpd", "field": "dpd"}],
        "outputs": [{"id": "rate", "name": "rate", "field": "commission_rate"}],
        "rules": [{"_id": f"k{n}", **row} for n, row in enumerate(stages)],
    }

    def node(id_: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": id_, "type": kind, "name": id_, "position": {"x": 0, "y": 0}}
        if content is not None:
            data["content"] = content | {
                "passThrough": True,
                "inputField": None,
                "outputPath": None,
                "executionMode": "single",
            }
        return data

    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            node("in", "inputNode"),
            node("channel", "decisionTableNode", channel),
            node("commission", "decisionTableNode", commission),
            node("out", "outputNode"),
        ],
        "edges": [
            {"id": "e1", "type": "edge", "sourceId": "in", "targetId": "channel"},
            {"id": "e2", "type": "edge", "sourceId": "channel", "targetId": "commission"},
            {"id": "e3", "type": "edge", "sourceId": "commission", "targetId": "out"},
        ],
    }


def zen_context(f: dict[str, Any]) -> dict[str, Any]:
    """The facts zen-engine needs, as JSON values (it has no decimals: money goes as numbers)."""
    return {
        "product": f["product"],
        "dpd": f["dpd"],
        "overdue_customers": f["overdue_customers"],
        "lost_contact": f["lost_contact"],
        "total_due": float(f["total_due"]),
        "broken_promises_30d": f["broken_promises_30d"],
        "calls_7d": f["calls_7d"],
        "connected_calls_7d": f["connected_calls_7d"],
        "open_promise": f["open_promise"],
        "rating": f["rating"],
    }


def zen_result(result: dict[str, Any]) -> Result:
    rate = result.get("commission_rate")
    return result["channel"], None if rate is None else Decimal(str(rate))


class Zen:
    """The JDM tables on zen-engine: one ``evaluate`` per case, or ``evaluate_batch``."""

    def __init__(self) -> None:
        import zen

        content = lender_jdm()
        self.decision = zen.ZenEngine().create_decision(json.dumps(content))
        loader = {"type": "static", "content": {"lender": content}}
        self.engine = zen.ZenEngine({"loader": loader})

    def decide(self, context: dict[str, Any]) -> Result:
        return zen_result(self.decision.evaluate(context)["result"])

    def decide_batch(self, contexts: list[dict[str, Any]]) -> list[Result]:
        requests = [{"key": "lender", "context": c} for c in contexts]
        return [zen_result(r["data"]["result"]) for r in self.engine.evaluate_batch(requests)]
