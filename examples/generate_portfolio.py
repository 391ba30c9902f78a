"""Generate examples/portfolio.jsonl: a synthetic, realistic, deterministic collection portfolio.

Every run with the same --seed writes the same bytes. The cases cover all four products, every
bucket from M0 to M7+, secured and unsecured loans, all four repayment methods and explicit
schedules, guarantors and emergency contacts, contact histories with collectors' notes, promises
to pay, agency placements, and credit-card cases that carry the bank's own delinquency snapshot.

    python examples/generate_portfolio.py --out examples/portfolio.jsonl \
        [--placements examples/placements.jsonl] [--cases 1200] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from dunning import Loan, schedule_of
from dunning.money import round_money

AS_OF = date(2026, 11, 28)
BUCKETS = [(0, 0), (1, 30), (31, 60), (61, 90), (91, 120), (121, 150), (151, 180), (181, 720)]
BUCKET_WEIGHTS = [25, 20, 12, 10, 9, 8, 6, 10]
PRODUCTS = ["consumer_finance", "credit_card", "vehicle_pledge", "mortgage"]
PRODUCT_WEIGHTS = [45, 15, 20, 20]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌辉"
REASONS = ["job_loss", "business_downturn", "illness", "forgot", "over_indebted", "dispute"]
ATTITUDES = ["cooperative", "evasive", "hostile", "willing_but_unable"]
AGENCIES = {"AG-01": "华信资产管理", "AG-02": "安诚催收服务", "AG-03": "东方信用管理"}
# The seed's reference commission table (docs/seed.md §2), by dpd when the case was placed.
COMMISSION = [(90, "0.07"), (120, "0.14"), (180, "0.20"), (10**6, "0.25")]


def commission_rate(dpd: int) -> str:
    """Return the seed's commission rate for a case placed at ``dpd``."""
    return next(rate for top, rate in COMMISSION if dpd <= top)


class Generator:
    """Builds one case at a time from a seeded random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tz = ZoneInfo("Asia/Shanghai")

    def money(self, low: int, high: int, step: int = 100) -> Decimal:
        return Decimal(self.rng.randrange(low // step, high // step + 1) * step).quantize(
            Decimal("0.01")
        )

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))
        )

    def phone(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"

    def moment(self, day: date) -> str:
        at = datetime.combine(day, time(self.rng.randrange(9, 21), self.rng.randrange(60)))
        return at.replace(tzinfo=self.tz).isoformat()

    def case(self, n: int) -> dict[str, Any]:
        rng = self.rng
        product = rng.choices(PRODUCTS, PRODUCT_WEIGHTS)[0]
        low, high = rng.choices(BUCKETS, BUCKET_WEIGHTS)[0]
        target_dpd = rng.randint(low, high)
        borrower_id = f"P-{n:05d}-1"
        case: dict[str, Any] = {"case_id": f"C-{n:05d}"}
        loan, payments, snapshot = self.loan_and_payments(product, target_dpd, n)
        case["loan"] = loan
        case["borrower"] = {
            "party_id": borrower_id,
            "name": self.name(),
            "phones": [self.phone() for _ in range(rng.choice((1, 1, 2)))],
            "addresses": [f"上海市浦东新区{rng.randrange(1, 999)}弄{rng.randrange(1, 40)}号"],
            "timezone": "Asia/Urumqi" if rng.random() < 0.03 else "Asia/Shanghai",
        }
        related = []
        if rng.random() < {"consumer_finance": 0.3, "credit_card": 0.1}.get(product, 0.55):
            role = "co_borrower" if product == "mortgage" and rng.random() < 0.5 else "guarantor"
            related.append(self.party(f"P-{n:05d}-2", role))
        if rng.random() < 0.7:
            related.append(self.party(f"P-{n:05d}-3", "emergency_contact"))
        case["related_parties"] = related
        case["payments"] = payments
        case["delinquency"] = snapshot
        dpd = snapshot["dpd"] if snapshot else target_dpd
        contacts, promises = self.history(dpd, borrower_id, related)
        case["contacts"] = contacts
        case["promises"] = promises
        case["placement"] = None
        if product in ("consumer_finance", "credit_card") and dpd > 90 and rng.random() < 0.4:
            placed_at = rng.randint(91, dpd)
            case["placement"] = {
                "agency_id": rng.choice(sorted(AGENCIES)),
                "placed_on": (AS_OF - timedelta(days=dpd - placed_at)).isoformat(),
                "commission_rate": commission_rate(placed_at),
            }
        case["lost_contact"] = dpd > 60 and rng.random() < 0.12
        case["dispute"] = dpd > 0 and rng.random() < 0.02
        case["do_not_contact"] = dpd > 0 and rng.random() < 0.01
        case["rating"] = rng.choices("ABCDE", (15, 30, 30, 15, 10))[0]
        # Drawn last so that the cases above stay as they were before these fields existed.
        if product in ("consumer_finance", "credit_card") and dpd > 60 and rng.random() < 0.7:
            notified = AS_OF - timedelta(days=rng.randint(0, dpd - 61))
            notice = {
                "at": self.moment(notified),
                "channel": rng.choice(("sms", "letter")),
                "party_id": borrower_id,
                "outcome": "delivered",
                "purpose": "outsourcing_notice",
            }
            if case["placement"] is None and product == "consumer_finance" and dpd > 90:
                # The notice named the agency a proposal chose (examples/placements.jsonl);
                # picked without the random stream, so that the cases stay as they were.
                notice["agency_id"] = sorted(AGENCIES)[n % len(AGENCIES)]
            contacts.append(notice)
            contacts.sort(key=lambda c: c["at"])
        for flag, share in (
            ("deceased", 0.004),
            ("bankrupt", 0.004),
            ("attorney_represented", 0.006),
        ):
            if dpd > 30 and rng.random() < share:
                case[flag] = True
        return case

    def party(self, party_id: str, role: str) -> dict[str, Any]:
        return {"party_id": party_id, "role": role, "name": self.name(), "phones": [self.phone()]}

    def loan_and_payments(
        self, product: str, dpd: int, n: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
        rng = self.rng
        loan: dict[str, Any] = {"loan_id": f"L-{n:05d}", "product": product, "currency": "CNY"}
        if product == "credit_card":
            balance = self.money(2_000, 80_000)
            months_over = -(-dpd // 30)
            interest = round_money(balance * Decimal("0.0005") * min(dpd, 360))
            loan |= {
                "principal": str(balance),
                "annual_rate": "0.1825",
                "start_date": (AS_OF - relativedelta(months=rng.randint(13, 48))).isoformat(),
                "term_months": 12,
                "repayment": "bullet",
                "collateral": None,
            }
            minimum = round_money(balance * Decimal("0.1") * months_over)
            snapshot = {
                "dpd": dpd,
                "overdue_principal": str(min(balance, minimum)),
                "overdue_interest": str(interest if dpd else Decimal("0.00")),
                "penalty_interest": str(round_money(minimum * Decimal("0.05"))),
                "fees": "0.00"
                if dpd == 0
                else str(Decimal(50 * months_over).quantize(Decimal("0.01"))),
            }
            return loan, [], snapshot
        if product == "consumer_finance":
            principal = self.money(3_000, 60_000)
            rate = rng.choice(("0.108", "0.15", "0.18", "0.2136", "0.24"))
            term = rng.choice((6, 12, 12, 24, 36))
            repayment = rng.choice(("equal_installment",) * 4 + ("equal_principal",))
            if rng.random() < 0.08:  # a short instalment-free purchase repaid in one go
                term, repayment = rng.choice((1, 3)), "bullet"
            collateral = None
        elif product == "vehicle_pledge":
            principal = self.money(80_000, 600_000, 1000)
            rate = rng.choice(("0.084", "0.096", "0.12", "0.15"))
            term = rng.choice((12, 24, 36))
            repayment = rng.choice(("interest_only", "equal_installment", "equal_installment"))
            collateral = {
                "kind": "vehicle",
                "value": str(round_money(principal * Decimal(rng.choice(("1.3", "1.5", "2"))))),
                "reference": f"合格证-{rng.randrange(10**8):08d}",
            }
        else:
            principal = self.money(300_000, 3_000_000, 10_000)
            rate = rng.choice(("0.045", "0.0588", "0.072", "0.09"))
            term = rng.choice((60, 120, 240))
            repayment = rng.choice(("equal_installment", "equal_principal"))
            collateral = {
                "kind": "property",
                "value": str(round_money(principal * Decimal(rng.choice(("1.6", "2", "2.5"))))),
                "reference": f"沪房权证{rng.randrange(10**7):07d}号",
            }
        # Place the first unpaid due date `dpd` days before AS_OF, after `paid` on-time months.
        if repayment == "bullet":  # one instalment, at maturity
            paid = 0
            maturity = (
                AS_OF - timedelta(days=dpd) if dpd else AS_OF + timedelta(days=rng.randint(0, 25))
            )
            start = maturity - relativedelta(months=term)
        elif dpd == 0:
            due_count = rng.randint(1, term - 1)
            start = AS_OF - relativedelta(months=due_count) - timedelta(days=rng.randint(0, 27))
            paid = due_count
        else:
            paid = rng.randint(0, max(0, min(term - 1, 18)))
            first_unpaid = AS_OF - timedelta(days=dpd)
            start = first_unpaid - relativedelta(months=paid + 1)
        loan |= {
            "principal": str(principal),
            "annual_rate": rate,
            "start_date": start.isoformat(),
            "term_months": term,
            "repayment": repayment,
            "collateral": collateral,
        }
        model = Loan.model_validate(loan)
        schedule = schedule_of(model)
        if product == "consumer_finance" and rng.random() < 0.05:
            # An irregular schedule from the host's servicing system replaces the method.
            loan["schedule"] = [
                {
                    "due_date": i.due_date.isoformat(),
                    "principal": str(i.principal),
                    "interest": str(i.interest),
                }
                for i in schedule
            ]
            del loan["term_months"], loan["repayment"]
        payments = []
        for inst in schedule[:paid]:
            day = inst.due_date - timedelta(days=rng.randint(0, 3))
            payments.append({"date": day.isoformat(), "amount": str(inst.amount)})
        unpaid = schedule[paid:]
        if dpd and unpaid and unpaid[0].due_date < AS_OF and rng.random() < 0.15:
            part = round_money(unpaid[0].amount * Decimal(rng.choice(("0.3", "0.5"))))
            day = min(AS_OF - timedelta(days=1), unpaid[0].due_date + timedelta(days=2))
            payments.append({"date": day.isoformat(), "amount": str(part), "reference": "partial"})
        if not dpd and rng.random() < 0.05:
            payments.append({"date": (AS_OF - timedelta(days=1)).isoformat(), "amount": "88.00"})
        return loan, payments, None

    def history(
        self, dpd: int, borrower_id: str, related: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        if dpd == 0:
            return [], []
        contacts: list[dict[str, Any]] = []
        promises: list[dict[str, Any]] = []
        obligors = [borrower_id] + [
            p["party_id"] for p in related if p["role"] != "emergency_contact"
        ]
        for _ in range(min(12, rng.randint(dpd // 20, dpd // 8 + 1))):
            day = AS_OF - timedelta(days=rng.randint(1, dpd))
            channel = rng.choices(("sms", "call", "field_visit"), (40, 55, 5 if dpd > 30 else 0))[0]
            if channel == "sms":
                outcome = rng.choices(("delivered", "failed"), (9, 1))[0]
            elif channel == "call":
                outcome = rng.choices(
                    ("connected", "no_answer", "busy", "wrong_number", "refused", "promised"),
                    (25, 35, 10, 5, 10, 15),
                )[0]
            else:
                outcome = rng.choice(("connected", "promised", "failed"))
            contact: dict[str, Any] = {
                "at": self.moment(day),
                "channel": channel,
                "party_id": rng.choice(obligors),
                "outcome": outcome,
                "collector_id": f"E-{rng.randrange(1, 40):03d}",
            }
            if outcome in ("connected", "promised"):
                contact["overdue_reason"] = rng.choice(REASONS)
                contact["repayment_attitude"] = rng.choice(ATTITUDES)
            if outcome == "promised":
                contact["repayment_plan"] = rng.choice(("pay arrears this week", "two parts"))
                promises.append(
                    {
                        "made_at": contact["at"],
                        "amount": str(self.money(500, 5_000)),
                        "due_date": (day + timedelta(days=rng.randint(2, 7))).isoformat(),
                        "party_id": contact["party_id"],
                    }
                )
            if channel == "field_visit" and rng.random() < 0.95:
                contact["recording_ref"] = f"REC-{rng.randrange(10**8):08d}"
            contacts.append(contact)
        contacts.sort(key=lambda c: c["at"])
        promises.sort(key=lambda p: p["made_at"])
        return contacts, promises


def placement_events(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Placement events of earlier runs: a proposal for each case whose notice names an agency,
    on the day of the notice; and one case an agency held and gave back (returned)."""
    events = []
    for case in cases:
        notices = [c for c in case["contacts"] if c.get("agency_id")]
        if not notices:
            continue
        notice = notices[0]
        day = notice["at"][:10]
        agency = notice["agency_id"]
        events.append(
            {
                "type": "placement.proposed",
                "at": f"{day}T08:00:00+08:00",
                "actor": "dunning",
                "case_id": case["case_id"],
                "payload": {
                    "placement_id": f"{case['case_id']}/{agency}/{day}",
                    "agency_id": agency,
                    "day": day,
                    "reason": "outsourced",
                },
            }
        )
    held = next(
        c
        for c in cases
        if c["placement"] is None
        and c["loan"]["product"] == "consumer_finance"
        and not any(x.get("agency_id") for x in c["contacts"])
    )
    pid = f"{held['case_id']}/AG-02/2026-08-03"
    for kind, day, extra in (
        ("proposed", "2026-08-03", {"reason": "outsourced"}),
        ("placed", "2026-08-10", {"reason": "notice_lead_time_passed", "commission_rate": "0.14"}),
        ("returned", "2026-11-20", {"reason": "agency_cannot_reach_borrower"}),
    ):
        events.append(
            {
                "type": f"placement.{kind}",
                "at": f"{day}T09:00:00+08:00",
                "actor": "dunning" if kind != "returned" else "AG-02",
                "case_id": held["case_id"],
                "payload": {"placement_id": pid, "agency_id": "AG-02", "day": day, **extra},
            }
        )
    return sorted(events, key=lambda e: (e["at"], e["case_id"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--placements", default=None, help="also write placement events here")
    parser.add_argument("--cases", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generator = Generator(args.seed)
    cases = [generator.case(n) for n in range(1, args.cases + 1)]
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for case in cases:
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    if args.placements:
        with open(args.placements, "w", encoding="utf-8", newline="\n") as out:
            for event in placement_events(cases):
                out.write(json.dumps(event, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
