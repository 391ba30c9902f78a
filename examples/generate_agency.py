"""Generate examples/agency/: an agency's month of bank credit-card cases (docs/agency.md).

Deterministic (same --seed, same bytes). The story of November 2026 at the example agency's
Shanghai branch, built with the library's own functions:

* ``bank-2026-11-02.csv`` — the bank's file (SH-BANK's spreadsheet, Chinese headers, read by the
  layout in rules/bank_credit_card.yaml), received on 2 November at 09:30: 40 cards, three of
  them bad lines (days overdue "abc", a minimum payment above the balance, a case id twice);
* ``events.jsonl`` — the month's events: the intake (taken in by 10:45, two backups verified),
  the assignment to the collectors of ``collectors.yaml``, every working day's contact records
  (entered at the end of the day), promises, the special procedures (asked, approved or refused
  by the supervisor, started, ended), field visits recorded and reviewed, cases paid and closed,
  C1's departure on 16 November with the handover of C1's cases to C2 and L1, the weekly
  reports, the monthly report approved, and the reconciliation with the bank;
* ``cases.jsonl`` — the cases taken in (the batch's accepted cases);
* ``payments.csv`` — the bank's payment file of November (the ledger format): balances paid
  before a case closed, promises kept in full or in half, a bounced payment reversed, a payment
  of a case the agency never had;
* ``handover-C1/`` — the handover sheet of each of C1's cases.
* ``bank-2026-11-30.csv`` — the bank's next file: its open cards four weeks older, one new card
  (taken in, it refreshes the cases the first file gave).

    python examples/generate_agency.py --out examples/agency [--seed 17]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import shutil
import tempfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning import load_policy
from dunning.agency.assign import assign, handover
from dunning.agency.collectors import load_collectors
from dunning.agency.intake import intake
from dunning.agency.procedure import load_procedure
from dunning.events import parse_event
from dunning.money import round_money

ROOT = Path(__file__).resolve().parent.parent
CST = timezone(timedelta(hours=8))
BANK = "SH-BANK"
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=CST)
TAKEN_IN = datetime(2026, 11, 2, 10, 45, tzinfo=CST)
ASSIGNED = datetime(2026, 11, 2, 11, 0, tzinfo=CST)
DEPARTURE = datetime(2026, 11, 16, 9, 0, tzinfo=CST)
MONTH_END = date(2026, 11, 30)
HEADERS = [
    "案件编号",
    "卡号",
    "姓名",
    "手机",
    "地址",
    "地区",
    "语言",
    "紧急联系人",
    "紧急联系人电话",
    "逾期天数",
    "逾期本金",
    "逾期利息",
    "违约金",
    "透支本金",
    "开卡日期",
    "年利率",
    "信用额度",
    "账单金额",
    "最低还款额",
    "账单日",
    "到期还款日",
]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
REASONS = ["job_loss", "forgot", "over_indebted", "business_downturn", "illness"]
ATTITUDES = ["cooperative", "willing_but_unable", "evasive"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛"]
STREETS = ["浦东新区世纪大道", "徐汇区漕溪北路", "静安区南京西路", "闵行区莘庄路", "杨浦区国定路"]
# Two cardholders live in Jiangsu, outside the Shanghai branch's region: their cases are
# coordinated with the Suzhou and Wuxi branches and filed with head office.
ELSEWHERE = {12: "江苏省苏州市工业园区星湖街", 27: "江苏省无锡市梁溪区中山路"}
# November 2026's working days (Monday to Friday; no public holiday falls in it).
WORKING = [date(2026, 11, d) for d in range(2, 31) if date(2026, 11, d).weekday() < 5]


def bank_file(rng: random.Random) -> bytes:
    """The bank's spreadsheet: 37 good cards and three bad lines."""
    rows = []
    for n in range(1, 38):
        dpd = rng.choice([5, 12, 18, 25, 33, 40, 47, 58, 66, 75, 84, 95, 110, 130, 200])
        limit = Decimal(rng.choice([8000, 10000, 20000, 30000, 50000]))
        balance = (limit * Decimal(rng.choice(["0.6", "0.85", "0.98", "1.05", "1.12"]))).quantize(
            Decimal("0.01")
        )
        minimum = (balance * Decimal("0.1")).quantize(Decimal("0.01"))
        months = max(1, dpd // 30 + 1)
        overdue_principal = min(balance, minimum * months)
        interest = (overdue_principal * Decimal("0.0005") * dpd).quantize(Decimal("0.01"))
        penalty = (minimum * Decimal("0.05")).quantize(Decimal("0.01"))  # 5 % of the minimum
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])
        statement = date(2026, 10, 5) - timedelta(days=30 * (months - 1))
        rows.append(
            [
                f"SH-{n:04d}",
                f"6222{rng.randrange(10**11, 10**12)}",
                name,
                f"+86 13{rng.randrange(10**8, 10**9)}",
                f"{ELSEWHERE.get(n, '上海市' + rng.choice(STREETS))}{rng.randrange(1, 999)}号",
                "CN-JS" if n in ELSEWHERE else "CN-SH",
                "yue" if n % 9 == 0 else "zh-CN",
                rng.choice(SURNAMES) + rng.choice(GIVEN),
                f"+86 15{rng.randrange(10**8, 10**9)}",
                str(dpd),
                f"{overdue_principal:,.2f}",
                f"{interest}",
                f"{penalty}",
                f"{balance:,.2f}",
                f"{2020 + n % 5}/{1 + n % 12}/{1 + n % 27}",
                "18%",
                f"{limit:,.2f}",
                f"{balance:,.2f}",
                f"{minimum}",
                statement.strftime("%Y年%m月%d日"),
                (statement + timedelta(days=20)).isoformat(),
            ]
        )
    bad_dpd = list(rows[3])
    bad_dpd[0], bad_dpd[9] = "SH-0038", "abc"
    bad_minimum = list(rows[4])
    bad_minimum[0] = "SH-0039"
    bad_minimum[18] = f"{Decimal(bad_minimum[17].replace(',', '')) + 100}"
    rows[10:10] = [bad_dpd]
    rows[20:20] = [bad_minimum]
    rows.append(list(rows[6]))  # the bank sent SH-0007 twice
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # banks' exports often carry a BOM


def refreshed_file(first: bytes, closed: set[str]) -> bytes:
    """The bank's file of 30 November: its open cards again, 28 days older, and one new card.

    The bad lines of the first file are corrected or gone; the cards closed as paid are left
    out; the rest are as the bank's system has them four weeks on (docs/agency.md).
    """
    rows = list(csv.reader(io.StringIO(first.decode("utf-8-sig"))))[1:]
    seen: set[str] = set()
    out_rows = []
    for row in rows:
        case_id = row[0]
        if case_id in seen or case_id in closed or not row[9].isdigit():
            continue
        if case_id == "SH-0039":
            continue  # the bank withdrew the card it had sent with a bad minimum
        seen.add(case_id)
        row = list(row)
        row[9] = str(int(row[9]) + 28)
        out_rows.append(row)
    new = list(out_rows[0])
    new[0], new[9] = "SH-0041", "3"
    out_rows.append(new)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(out_rows)
    return out.getvalue().encode("utf-8-sig")


def event(type_: str, at: datetime, actor: str, case_id: str | None, **payload: Any) -> str:
    """One event line, validated by the contract and written as the library writes it."""
    raw = {
        "type": type_,
        "at": at.isoformat(),
        "actor": actor,
        "case_id": case_id,
        "payload": payload,
    }
    return parse_event(json.dumps(raw, ensure_ascii=False)).model_dump_json()


class Month:
    """The month's records, kept with their times so that the file is in time order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[tuple[datetime, int, str]] = []
        self.records = 0

    def add(self, line: str) -> None:
        at = datetime.fromisoformat(json.loads(line)["at"])
        self.lines.append((at, len(self.lines), line))

    def record_id(self) -> str:
        self.records += 1
        return f"R-{self.records:05d}"


def work(month: Month, cases: dict[str, dict[str, Any]], holder: dict[str, str]) -> None:
    """Each working day's contacts, recorded at the end of the day, and what follows them."""
    rng = month.rng
    closed: set[str] = set()
    # One special procedure per collector's first case: C1's suspension is still waiting for the
    # supervisor when C1 leaves; L1 asks for more instalments than the bank allows (refused).
    firsts = {who: min(c for c, h in holder.items() if h == who) for who in set(holder.values())}
    special = {
        firsts["C1"]: "suspension",
        firsts["C2"]: "instalment_plan",
        firsts["F1"]: "waiver",
        firsts["L1"]: "instalment_plan",
    }
    requests = 0
    contacted_ever: set[str] = set()
    for day in WORKING:
        if day.isoformat() < ASSIGNED.date().isoformat():
            continue
        moving = day >= DEPARTURE.date()
        for case_id in sorted(cases):
            who = holder[case_id]
            # Phone collectors call about half their cases a day; a field visit is rarer, but
            # the field collector sees every case in its first fortnight (the cycle's node).
            first_visit_due = (
                who == "F1" and case_id not in contacted_ever and (day - ASSIGNED.date()).days >= 9
            )
            if case_id in closed or (
                rng.random() < (0.88 if who == "F1" else 0.45) and not first_visit_due
            ):
                continue
            contacted_ever.add(case_id)
            if who == "C1" and moving:
                continue  # handed over below, on the departure day
            case = cases[case_id]
            dpd = int(case["delinquency"]["dpd"]) + (day - RECEIVED.date()).days
            visit = who == "F1"
            contacted = datetime(
                day.year, day.month, day.day, rng.randrange(9, 17), rng.randrange(60), tzinfo=CST
            )
            outcome = rng.choice(["connected", "no_answer", "connected", "promised", "busy"])
            payload: dict[str, Any] = {
                "record_id": month.record_id(),
                "contacted_at": contacted.isoformat(),
                "channel": "field_visit" if visit else "call",
                "party_id": "borrower",
                "outcome": "connected" if visit and outcome == "no_answer" else outcome,
            }
            if payload["outcome"] in ("connected", "promised"):
                payload["overdue_reason"] = rng.choice(REASONS)
                payload["repayment_attitude"] = rng.choice(ATTITUDES)
            if payload["outcome"] == "promised":
                payload["promise_amount"] = case["card"]["minimum_payment_due"]
                payload["promise_due"] = (day + timedelta(days=rng.choice([3, 7, 14]))).isoformat()
                payload["repayment_plan"] = "先还最低还款额，月底前再还一期"
            if visit:
                recording = f"recordings/{payload['record_id']}.m4a"
                payload["recording_ref"] = recording
                digest = hashlib.sha256(recording.encode()).hexdigest()
                payload["recording_digest"] = f"sha256:{digest}"
            end_of_day = datetime(day.year, day.month, day.day, 17, 30, tzinfo=CST)
            recorded = end_of_day + timedelta(minutes=rng.randrange(25))
            month.add(event("contact.recorded", recorded, who, case_id, **payload))
            if visit:  # the supervisor reviews the visit's record and recording
                review = recorded + timedelta(days=1 if day.weekday() < 4 else 3)
                month.add(
                    event(
                        "visit.reviewed",
                        review.replace(hour=10),
                        "S1",
                        case_id,
                        record_id=payload["record_id"],
                        result="accepted",
                    )
                )
            kind = special.pop(case_id, None)
            if kind is not None and payload["outcome"] in ("connected", "promised"):
                requests += 1
                request_id = f"REQ-{requests:03d}"
                terms: dict[str, Any] = {"request_id": request_id, "procedure": kind}
                if kind == "instalment_plan":
                    terms["instalments"] = 72 if who == "L1" else 12
                    terms["amount"] = case["card"]["statement_balance"]
                elif kind == "waiver":
                    terms["amount"] = case["delinquency"]["fees"]  # the 违约金
                    terms["covers"] = ["fees"]
                else:
                    terms["until"] = (day + timedelta(days=60)).isoformat()
                asked = recorded + timedelta(minutes=5)
                month.add(
                    event(
                        "approval.requested",
                        asked,
                        who,
                        case_id,
                        reason="持卡人申请（见当日记录）",
                        **terms,
                    )
                )
                if kind == "suspension" and holder[case_id] == "C1":
                    continue  # still waiting for the supervisor when C1 leaves
                decided = asked + timedelta(days=1)
                refusal = (
                    "超过银行分期上限（60期）"
                    if terms.get("instalments", 0) > 60
                    else "未满足减免条件（逾期未满180天）"
                    if kind == "waiver" and dpd < 181
                    else None
                )
                if refusal is not None:
                    month.add(
                        event(
                            "approval.refused",
                            decided.replace(hour=11),
                            "S1",
                            case_id,
                            reason=refusal,
                            **terms,
                        )
                    )
                    continue
                month.add(
                    event("approval.granted", decided.replace(hour=11), "S1", case_id, **terms)
                )
                started = decided.replace(hour=15)
                month.add(
                    event(
                        "procedure.started",
                        started,
                        "A1",
                        case_id,
                        filed_ref=f"档案/{request_id}",
                        # the bank agrees to plans and waivers itself (the procedure)
                        bank_ref=f"{BANK}/批复/{request_id}",
                        **terms,
                    )
                )
                if kind == "waiver":
                    month.add(
                        event(
                            "procedure.ended",
                            started + timedelta(days=7),
                            "A1",
                            case_id,
                            filed_ref=f"档案/{request_id}",
                            outcome="completed",
                            **terms,
                        )
                    )
            if payload["outcome"] == "promised" and rng.random() < 0.3 and dpd < 60:
                closed.add(case_id)
                paid = end_of_day + timedelta(days=3, hours=1)
                month.add(
                    event(
                        "case.closed",
                        paid,
                        "A1",
                        case_id,
                        reason="paid",
                        note="银行回款通知：已结清",
                    )
                )


def reports(month: Month) -> None:
    """Weekly reports on Fridays, the monthly report approved, the reconciliation with the bank."""
    for friday in (d for d in WORKING if d.weekday() == 4):
        monday = friday - timedelta(days=4)
        at = datetime(friday.year, friday.month, friday.day, 18, 0, tzinfo=CST)
        month.add(
            event(
                "report.filed",
                at,
                "L1",
                None,
                kind="weekly",
                period_start=monday.isoformat(),
                period_end=friday.isoformat(),
                scope="phone",
                ref=f"报表/周报-{friday.isoformat()}.xlsx",
            )
        )
    at = datetime(2026, 12, 3, 16, 0, tzinfo=CST)
    month.add(
        event(
            "report.filed",
            at,
            "S1",
            None,
            kind="monthly",
            period_start="2026-11-01",
            period_end="2026-11-30",
            scope=BANK,
            ref="报表/月报-2026-11.xlsx",
            approved_by="M1",
            approvals=["S1", "M1"],  # the collection supervisor and the branch manager
            filed_with="head_office",
        )
    )
    # Each collector's results of the month, filed with finance by the administrative assistant.
    month.add(
        event(
            "report.filed",
            datetime(2026, 12, 4, 11, 0, tzinfo=CST),
            "A1",
            None,
            kind="performance",
            period_start="2026-11-01",
            period_end="2026-11-30",
            scope="sh-branch",
            ref="报表/绩效-2026-11.xlsx",
            filed_with="finance",
        )
    )


def seed_part_two(month: Month) -> None:
    """A rainstorm told to the bank the same morning; the Jiangsu cases coordinated."""
    noted = datetime(2026, 11, 19, 7, 45, tzinfo=CST)
    month.add(
        event(
            "force_majeure.noted",
            noted,
            "L1",
            None,
            incident="FM-2026-11-19",
            nature="暴雨红色预警：外访暂停一天",
            banks=[BANK],
        )
    )
    month.add(
        event(
            "force_majeure.reported",
            noted + timedelta(hours=2),
            "A1",
            None,
            incident="FM-2026-11-19",
            bank=BANK,
            ref="往来/SH-BANK/FM-2026-11-19.pdf",
            note="当日外访改期，电话催收照常",
        )
    )
    for case_id, branch, day in (("SH-0012", "suzhou", 4), ("SH-0027", "wuxi", 5)):
        month.add(
            event(
                "coordination.filed",
                datetime(2026, 11, day, 15, 0, tzinfo=CST),
                "S1",
                case_id,
                other_branch=f"{branch}-branch",
                ref=f"总公司备案/跨区-{case_id}",
                arrangement="当地分公司负责外访，本分公司电话催收",
            )
        )


def generate(out: Path, seed: int) -> None:
    rng = random.Random(seed)
    out = out.resolve()  # the intake runs in a directory of its own
    out.mkdir(parents=True, exist_ok=True)
    policy = load_policy(ROOT / "rules" / "bank_credit_card.yaml")
    collectors = load_collectors(ROOT / "examples" / "agency" / "collectors.yaml")
    layout = policy.ir.agency.intake.banks[BANK]
    source = out / "bank-2026-11-02.csv"
    first_file = bank_file(rng)
    source.write_bytes(first_file)
    month = Month(rng)
    work_dir = Path(tempfile.mkdtemp())
    here = Path.cwd()
    try:
        os.chdir(work_dir)  # relative backup names in the intake event
        taken = intake(
            source,
            bank=BANK,
            received_at=RECEIVED,
            store="store",
            backups={"branch": "backup-branch", "head_office": "backup-head-office"},
            columns=layout.columns,
            defaults=layout.defaults,
            actor="A1",
            clock=lambda: TAKEN_IN,
        )
        events = taken.events_file.read_text(encoding="utf-8").splitlines()
        shutil.copyfile(taken.cases_file, out / "cases.jsonl")
    finally:
        os.chdir(here)
        shutil.rmtree(work_dir)
    for line in events:
        month.add(line)
    case_lines = (out / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    run = assign(
        case_lines, policy=policy, collectors=collectors, events=events, as_of=ASSIGNED, actor="L1"
    )
    for e in run.events:
        month.add(e.model_dump_json())
    holder = {e.case_id: e.payload.collector_id or "" for e in run.events}
    cases = {json.loads(line)["case_id"]: json.loads(line) for line in case_lines}
    work(month, cases, holder)
    reports(month)
    seed_part_two(month)
    before = [line for at, _, line in sorted(month.lines) if at < DEPARTURE]
    moved = handover(
        departing="C1",
        to=["C2", "L1", "F1"],
        collectors=collectors,
        events=before,
        as_of=DEPARTURE,
        policy=policy,
        cases=case_lines,
        actor="L1",
    )
    for e in moved.events:
        month.add(e.model_dump_json())
    sheets = out / "handover-C1"
    shutil.rmtree(sheets, ignore_errors=True)
    moved.write_sheets(sheets)
    # The handover escalates C1's undecided request: the supervisor decides it that morning,
    # a week late (the audit's warning), and the admin assistant starts it.
    for sheet in moved.sheets:
        for pending in sheet["pending_approvals"]:
            terms = {k: pending[k] for k in ("request_id", "procedure", "until") if pending.get(k)}
            granted = DEPARTURE + timedelta(hours=2)
            month.add(event("approval.granted", granted, "S1", sheet["case_id"], **terms))
            month.add(
                event(
                    "procedure.started",
                    granted + timedelta(hours=4),
                    "A1",
                    sheet["case_id"],
                    filed_ref=f"档案/{terms['request_id']}",
                    **terms,
                )
            )
    # After the departure C2 and L1 work C1's former cases: a call each on the 17th.
    for e in moved.events:
        recorded = datetime(2026, 11, 17, 17, 40, tzinfo=CST)
        month.add(
            event(
                "contact.recorded",
                recorded,
                e.payload.to_collector,
                e.case_id,
                record_id=month.record_id(),
                contacted_at="2026-11-17T10:00:00+08:00",
                channel="call",
                party_id="borrower",
                outcome="connected",
                note="接手后首次联系",
            )
        )
    text = "".join(line + "\n" for _, _, line in sorted(month.lines))
    paid = payments(text, cases, random.Random(seed + 1))
    (out / "payments.csv").write_text(paid, encoding="utf-8")
    # The reconciliation with the bank: the commission on November's payments, as both count it.
    rate = load_procedure(ROOT / "rules" / "agency_procedure.yaml").banks[BANK].commission_rate
    commission = sum(
        round_money(Decimal(row["amount"]) * rate) * (-1 if row["reverses"] else 1)
        for row in csv.DictReader(io.StringIO(paid))
        if row["case_id"] in cases
    )
    at = datetime(2026, 12, 5, 15, 0, tzinfo=CST)
    month.add(
        event(
            "reconciliation.filed",
            at,
            "A1",
            None,
            bank=BANK,
            period_start="2026-11-01",
            period_end="2026-11-30",
            agrees=True,
            ours=str(commission),
            theirs=str(commission),
            ref="对账/2026-11.xlsx",
        )
    )
    text = "".join(line + "\n" for _, _, line in sorted(month.lines))
    (out / "events.jsonl").write_text(text, encoding="utf-8")
    closed = {json.loads(e)["case_id"] for e in text.splitlines() if '"case.closed"' in e}
    (out / "bank-2026-11-30.csv").write_bytes(refreshed_file(first_file, closed))


def payments(log: str, cases: dict[str, dict[str, Any]], rng: random.Random) -> str:
    """The bank's payment file of November (the ledger format): what the month's customers paid.

    A case closed as paid paid its balance on the day before; about half the promises are kept
    (paid by their day), some half kept; one payment bounces and is reversed; one line names a
    case the agency never had.
    """
    rows: list[tuple[str, str, str, str]] = []  # date, case, amount, note
    events = [json.loads(line) for line in log.splitlines()]
    closed = {
        e["case_id"]: date.fromisoformat(e["at"][:10]) for e in events if e["type"] == "case.closed"
    }
    for e in events:
        if e["type"] == "case.closed":
            day = (datetime.fromisoformat(e["at"]) - timedelta(days=1)).date().isoformat()
            rows.append(
                (day, e["case_id"], cases[e["case_id"]]["card"]["statement_balance"], "全额还款")
            )
        elif e["type"] == "contact.recorded" and e["payload"].get("promise_amount"):
            p = e["payload"]
            due = date.fromisoformat(p["promise_due"])
            draw = rng.random()
            last = min(closed.get(e["case_id"], date(2026, 11, 30)), date(2026, 11, 30))
            if due >= last or draw > 0.7:
                continue
            amount = Decimal(p["promise_amount"]) / (2 if draw > 0.5 else 1)
            made = date.fromisoformat(p["contacted_at"][:10])
            day = max(made, due - timedelta(days=rng.randrange(3)))
            rows.append((day.isoformat(), e["case_id"], f"{amount:.2f}", "承诺还款"))
    rows.sort()
    out = ["reference,case_id,date,amount,currency,reverses,note"]
    for n, (day, case_id, amount, note) in enumerate(rows, start=1):
        out.append(f"PAY-{n:04d},{case_id},{day},{amount},CNY,,{note}")
    bounced = next(i for i, row in enumerate(rows, start=1) if row[3] == "承诺还款")
    day, case_id, amount, _ = rows[bounced - 1]
    back = (date.fromisoformat(day) + timedelta(days=2)).isoformat()
    out.append(f"PAY-{len(rows) + 1:04d},{case_id},{back},{amount},CNY,PAY-{bounced:04d},退票")
    out.append(f"PAY-{len(rows) + 2:04d},SH-9999,2026-11-20,500.00,CNY,,非本机构案件")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "agency")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    generate(args.out, args.seed)


if __name__ == "__main__":
    main()
