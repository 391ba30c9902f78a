"""The library's own sentences in Chinese: audit findings and reconciliation differences.

An audit finding says what happened and what was expected in a sentence built from the event
(``visit R-00055 has not been reviewed``); the JSON keeps it in English, as the data's words.
A Chinese page shows it translated: each sentence the audit and the reconciliation write has a
pattern here, its values (ids, dates, counts) carried over and its codes (roles, channels,
report kinds) named as the page names them. A sentence no pattern knows is shown as it is;
a test holds every sentence the audit's tests produce to having a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["translate"]

# Values within a sentence that are words themselves, by the group's name prefix:
#   code_   a code (role, channel, procedure, site): named by the page's catalog
#   codes_  a list of codes, comma-separated ("supervisor, manager")
#   roles_  "a supervisor or an admin_assistant"
#   said_   a sentence of its own (a role finding's "what")
#   counts_ "0 attempts, 2 promises"
#   people_ "M1 (manager), S1 (supervisor)"
#   kind_   a report's kind
#   parts_  a third-party contact's breaches

_KINDS = {"weekly": "周报", "monthly": "月报", "performance": "绩效报告"}
_COUNTERS = {
    "attempts": "次联系",
    "right party contacts": "次有效联系",
    "promises": "次承诺还款",
    "field visits": "次外访",
    "special requests": "次特殊申请",
}
_CITATION = {
    "GB/T 45251-2025; China Banking Association collection guideline (2026)": (
        "GB/T 45251-2025；中国银行业协会催收工作指引（2026）"
    ),
}
_WORDS = {
    "not on the staff list": "不在员工名单上",
    "no one named": "未注明",
    "its numbers (not recorded)": "各号码（未记录号码）",
    "after refusing before": "对方此前已拒绝",
    "and told of the debt": "并告知了债务",
}

_PATTERNS: list[tuple[str, str]] = [
    # intake
    (
        r"batch (?P<b>\S+) taken in (?P<m>\S+) minutes after receipt",
        "批次 {b} 在收到后 {m} 分钟才录入",
    ),
    (r"within (?P<n>\d+) minutes", "收到后 {n} 分钟内录入"),
    (
        r"batch (?P<b>\S+) of (?P<bank>\S+) taken in with no agreement with \S+ filed",
        "批次 {b}（{bank}）录入时，与 {bank} 的合作协议尚未备案",
    ),
    (
        r"the bank's agreement filed before its cases are taken in \(the procedure's banks: "
        r"agreement\)",
        "先备案银行的合作协议，再录入其案件（规程的 banks: agreement）",
    ),
    (
        r"batch (?P<b>\S+) has no verified backup at (?P<codes_s>.+)",
        "批次 {b} 在{s}没有经校验的备份",
    ),
    (r"a verified backup at each of: (?P<codes_s>.+)", "以下每处各有一份经校验的备份：{s}"),
    (r"batch (?P<b>\S+) has (?P<n>\d+) verified backup\(s\)", "批次 {b} 只有 {n} 份经校验的备份"),
    (r"(?P<n>\d+) verified backups", "{n} 份经校验的备份"),
    # daily records
    (r"the contact of (?P<d>\S+) was recorded at (?P<t>\S+)", "{d} 的联系迟至 {t} 才录入"),
    (
        r"recorded by (?P<t>\S+) the same day \(the end of the day for a contact made after it\)",
        "当日 {t} 前录入（此时间之后的联系，当日结束前录入）",
    ),
    (
        r"the case was worked on (?P<d>\S+) \(a special request\) but no contact of that day is "
        r"on record",
        "该案件 {d} 有作业（特殊申请），但当日没有联系记录",
    ),
    (r"a record of the day's contact by (?P<t>\S+)", "当日 {t} 前录入当日的联系记录"),
    (
        r"contact (?P<r>\S+) is recorded for (?P<c>\S+), a case the agency never received",
        "联系记录 {r} 所属案件 {c} 并非本机构接收的案件",
    ),
    (
        r"contacts recorded only for the cases the bank sent \(case\.received\)",
        "只为银行委托的案件（case.received）录入联系记录",
    ),
    (
        r"contact (?P<r>\S+) is recorded by (?P<who>\S+), but (?P<holder>\S+) holds (?P<c>\S+)",
        "联系记录 {r} 由 {who} 录入，但案件 {c} 由 {holder} 持有",
    ),
    (
        r"contacts recorded by the collector who holds the case \(its assignment or handover\)",
        "联系记录由持有该案件的催收员录入（按分案或交接）",
    ),
    # field visits
    (r"visit (?P<r>\S+) reviewed by its own visitor", "外访 {r} 由外访人员本人审阅"),
    (r"reviewed by a supervisor other than the visitor", "由外访人员以外的主管审阅"),
    (r"field visit (?P<r>\S+) has no recording filed", "外访 {r} 未提交录音录像"),
    (r"an audio or video recording with its digest", "提交录音或录像及其摘要"),
    (r"visit (?P<r>\S+) has not been reviewed", "外访 {r} 未经审阅"),
    (r"visit (?P<r>\S+) was returned and not reviewed again", "外访 {r} 被退回后未再审阅"),
    (r"visit (?P<r>\S+) reviewed on (?P<d>\S+)", "外访 {r} 迟至 {d} 才审阅"),
    (r"reviewed by the supervisor by (?P<d>\S+)", "{d} 前由主管审阅"),
    (
        r"a review of (?P<r>\S+), which is no field visit on record",
        "审阅了 {r}，但没有这条外访记录",
    ),
    (r"a review of a recorded field visit", "审阅已记录的外访"),
    # special procedures
    (
        r"(?P<code_p>[a-z_]+) (?P<q>\S+) started without the bank's agreement on record",
        "{p} {q} 在没有银行同意记录的情况下启动",
    ),
    (
        r"the bank's agreement \(bank_ref\) on the grant or the start: the bank must agree to a "
        r"(?P<code_p>[a-z_]+) \(the procedure's bank_approval\)",
        "审批或启动时记录银行的同意（bank_ref）：{p}须经银行同意（规程的 bank_approval）",
    ),
    (r"(?P<q>\S+) granted (?P<n>\d+) instalments", "{q} 批准了 {n} 期分期"),
    (
        r"at most (?P<n>\d+) instalments \(the bank's limit; a personalised plan runs at most "
        r"five years: 商业银行信用卡业务监督管理办法 art\. 70\)",
        "最多 {n} 期（银行的上限；个性化分期最长五年：《商业银行信用卡业务监督管理办法》第七十条）",
    ),
    (r"(?P<q>\S+) waives principal", "{q} 减免了本金"),
    (
        r"a waiver of interest, penalty and fees, not principal, unless the bank's terms allow "
        r"it \(the procedure's waiver_principal\)",
        "减免限于利息、罚息和费用，不含本金，除非银行的条款允许（规程的 waiver_principal）",
    ),
    (
        r"(?P<code_p>[a-z_]+) (?P<q>\S+): still undecided at the end of (?P<d>\S+)",
        "{p} {q}：至 {d} 结束仍未决定",
    ),
    (
        r"(?P<code_p>[a-z_]+) (?P<q>\S+): decided only on (?P<d>\S+), after (?P<due>\S+)",
        "{p} {q}：应在 {due} 前决定，迟至 {d} 才决定",
    ),
    (r"decided within (?P<n>\d+) working days of the request", "申请后 {n} 个工作日内决定"),
    (r"(?P<q>\S+) approved by its own requester", "{q} 由申请人本人审批"),
    (
        r"approval by someone other than who asked \(the supervisor\)",
        "由申请人以外的人（主管）审批",
    ),
    (r"(?P<q>\S+) started without its papers filed", "{q} 启动时材料未备案"),
    (r"a filed_ref when a special procedure starts", "特殊程序启动时提供备案号（filed_ref）"),
    (r"(?P<code_p>[a-z_]+) (?P<q>\S+) started without an approval", "{p} {q} 未经审批即启动"),
    (r"(?P<code_p>[a-z_]+) (?P<q>\S+) started after it was refused", "{p} {q} 被拒绝后仍启动"),
    (r"started only once approved", "审批通过后方可启动"),
    (r"(?P<q>\S+) ended but never started", "{q} 已结束但从未启动"),
    (r"procedure\.started before procedure\.ended", "先启动（procedure.started），后结束"),
    (r"the end of (?P<q>\S+) is not filed", "{q} 的结束未备案"),
    (r"a filed_ref when a special procedure ends", "特殊程序结束时提供备案号（filed_ref）"),
    # reports
    (r"the report of (?P<m>\d{4}-\d{2}) is not approved", "{m} 的月报未经审批"),
    (r"a monthly report approved \(approved_by\)", "月报经审批（approved_by）"),
    (
        r"the report of (?P<m>\d{4}-\d{2}) is approved by (?P<people_by>.+): no approval by a "
        r"(?P<codes_r>.+)",
        "{m} 的月报审批人为 {by}：缺少{r}的审批",
    ),
    (
        r"the report of (?P<m>\d{4}-\d{2}) is approved by (?P<people_by>.+): (?P<n>\d+) "
        r"approver\(s\) of (?P<of>\d+)",
        "{m} 的月报审批人为 {by}：应有 {of} 人审批，只有 {n} 人",
    ),
    (r"approved by each of: (?P<codes_r>.+)", "须经以下每一角色审批：{r}"),
    (
        r"the (?P<kind_k>[a-z]+) report of (?P<a>\S+) to (?P<b>\S+) is filed with (?P<codes_w>.+)",
        "{a} 至 {b} 的{k}报送对象为：{w}",
    ),
    (r"filed with (?P<code_w>\S+) by (?P<t>\S+)", "{t} 前报送{w}"),
    (r"no (?P<kind_k>[a-z]+) report covers (?P<a>\S+) to (?P<b>\S+)", "没有覆盖 {a} 至 {b} 的{k}"),
    (r"a (?P<kind_k>[a-z]+) report filed by (?P<t>\S+)", "{t} 前提交{k}"),
    (
        r"the (?P<kind_k>[a-z]+) report of (?P<a>\S+) to (?P<b>\S+) was filed (?P<t>\S+)",
        "{a} 至 {b} 的{k}迟至 {t} 才提交",
    ),
    (r"filed by (?P<t>\S+)", "{t} 前提交"),
    # reconciliation with a bank
    (
        r"the reconciliation with (?P<bank>\S+) of (?P<m>\S+) does not agree \((?P<n>\d+) "
        r"line\(s\) differ\) and no agreeing one is filed",
        "与 {bank} 的 {m} 对账不一致（{n} 行有差异），且未提交一致的对账",
    ),
    (r"a reconciliation that agrees, filed by (?P<d>\S+)", "{d} 前提交一致的对账"),
    (r"no reconciliation with (?P<bank>\S+) covers (?P<m>\S+)", "没有与 {bank} 的 {m} 对账"),
    (r"a reconciliation filed by (?P<d>\S+)", "{d} 前提交对账"),
    (
        r"the reconciliation with (?P<bank>\S+) of (?P<m>\S+) was filed late",
        "与 {bank} 的 {m} 对账提交逾期",
    ),
    # force majeure, other regions
    (
        r"force majeure (?P<i>\S+) has not been reported to (?P<bank>\S+)",
        "不可抗力 {i} 未报告 {bank}",
    ),
    (
        r"force majeure (?P<i>\S+) was reported to (?P<bank>\S+) late, (?P<t>.+)",
        "不可抗力 {i} 迟至 {t} 才报告 {bank}",
    ),
    (
        r"reported to the bank within (?P<h>\d+) hours, by (?P<t>.+)",
        "{h} 小时内（{t} 前）报告银行",
    ),
    (
        r"(?P<c>\S+) is in (?P<r>\S+), outside the branch's (?P<rs>.+): no coordination with head "
        r"office is filed",
        "{c} 位于 {r}，不在本分公司的 {rs}：未向总公司备案跨区协调",
    ),
    (
        r"(?P<c>\S+) is in (?P<r>\S+), outside the branch's (?P<rs>.+): its coordination was "
        r"filed late, (?P<d>\S+)",
        "{c} 位于 {r}，不在本分公司的 {rs}：跨区协调迟至 {d} 才备案",
    ),
    (
        r"coordinated with the branch of (?P<r>\S+) and filed with head office by (?P<d>\S+)",
        "{d} 前与 {r} 的分公司协调，并报总公司备案",
    ),
    # the cycle's nodes (what was expected is the analyst's own text)
    (
        r"node (?P<id>\S+) \(week (?P<w>\d+) of cycle (?P<n>\d+), to (?P<d>\S+)\): "
        r"(?P<counts_c>.+)",
        "节点 {id}（第 {n} 个周期第 {w} 周，截至 {d}）：{c}",
    ),
    # conduct
    (
        r"(?P<code_ch>[a-z_]+) to (?P<party>.+) at (?P<t>\S+ \S+) in (?P<z>\S+)",
        "{t}（{z}）对 {party} 的{ch}",
    ),
    (
        r"contact between (?P<s>\S+) and (?P<e>\S+) in the party's time zone \((?P<cite>.+)\)",
        "在对方所在时区的 {s} 至 {e} 之间联系（{cite}）",
    ),
    (
        r"(?P<n>\d+) connected calls to (?P<party>.+) on (?P<d>\S+)",
        "{d} 对 {party} 接通电话 {n} 次",
    ),
    (
        r"at most (?P<n>\d+) connected calls to a party a day, by all the agency's collectors "
        r"\((?P<cite>.+)\)",
        "每天对同一对象接通电话不超过 {n} 次（机构全部催收员合计；{cite}）",
    ),
    (
        r"(?P<n>\d+) unanswered dials of (?P<party>.+)'s (?P<said_which>.+) on (?P<d>\S+)",
        "{d} 对 {party} 的{which}未接通拨打 {n} 次",
    ),
    (
        r"at most (?P<n>\d+) unanswered dials of a number a day \((?P<cite>.+)\)",
        "每天对同一号码未接通拨打不超过 {n} 次（{cite}）",
    ),
    (
        r"(?P<party>.+) contacted on (?P<d>\d{4}-\d{2}-\d{2}) (?P<parts_b>.+)",
        "{d} 联系了 {party}：{b}",
    ),
    (
        r"while the borrower was reachable \((?P<n>\d+) failed attempt\(s\) in a row before it\)",
        "当时借款人可以联系上（此前连续失败 {n} 次）",
    ),
    (
        r"a third party only when the borrower cannot be reached \(the last (?P<n>\d+) attempts "
        r"failed\), never again after a refusal, never told of the debt \((?P<cite>.+)\)",
        "仅在借款人无法联系上（最近 {n} 次均失败）时联系第三方，"
        "对方拒绝后不再联系，不得告知债务（{cite}）",
    ),
    # who may do what (last: its "X by Y (role)" would match sentences above)
    (r"(?P<code_p>[a-z_]+) (?P<q>\S+) decided", "{p} {q} 的审批"),
    (r"(?P<code_p>[a-z_]+) (?P<q>\S+) started", "{p} {q} 的启动"),
    (r"the review of (?P<r>\S+)", "外访 {r} 的审阅"),
    (r"the handover of (?P<c>\S+) from (?P<who>\S+)", "{who} 的案件 {c} 的交接"),
    (r"the performance report of (?P<m>\d{4}-\d{2})", "{m} 绩效报告的报送"),
    (r"the report of (?P<i>\S+) to (?P<bank>\S+)", "向 {bank} 报告不可抗力 {i}"),
    (
        r"(?P<said_what>.+) by (?P<who>\S+) \((?P<code_role>[^()]+)\)",
        "{what}，由 {who}（{role}）办理",
    ),
    (r"by (?P<roles_r>.+)", "应由{r}办理"),
    (r"by no one", "无人可办理"),
    # reconciliation with an agency: each difference
    (
        r"(?P<code_f>[a-z_]+): lender (?P<a>[^;]+?), agency (?P<b>[^;]+)",
        "{f}：放款机构 {a}，机构 {b}",
    ),
    (r"lender: (?P<code_v>[a-z_]+)", "放款机构：{v}"),
]
_COMPILED = [(re.compile(f"^{pattern}$", re.DOTALL), template) for pattern, template in _PATTERNS]


def translate(text: str, label: Callable[[str], str]) -> str:
    """``text`` in Chinese where a pattern knows it (else as it is); ``label`` names codes."""
    whole = _translated(text, label)
    if whole is not None:
        return whole
    if "; " in text:  # a reconciliation's differences: each on its own
        return "；".join(_translated(part, label) or part for part in text.split("; "))
    return text


def _translated(text: str, label: Callable[[str], str]) -> str | None:
    if text in _WORDS:
        return _WORDS[text]
    if text in _CITATION:
        return _CITATION[text]
    for pattern, template in _COMPILED:
        found = pattern.match(text)
        if found is not None:
            values = {
                name.split("_", 1)[-1] if "_" in name else name: _value(name, value, label)
                for name, value in found.groupdict().items()
            }
            return template.format(**values)
    return None


def _value(name: str, value: str, label: Callable[[str], str]) -> str:
    """A group's value as the page shows it: words and codes named, ids and figures as is."""
    if name.startswith("code_"):
        return _WORDS.get(value) or label(value)
    if name.startswith("codes_"):
        return "、".join(_WORDS.get(v) or label(v) for v in value.split(", "))
    if name.startswith("roles_"):
        return "或".join(label(re.sub(r"^an? ", "", r)) for r in value.split(" or "))
    if name.startswith("kind_"):
        return _KINDS.get(value, value)
    if name.startswith("said_"):
        return _translated(value, label) or value
    if name.startswith("parts_"):
        return "，".join(_translated(part, label) or part for part in value.split(", "))
    if name.startswith("counts_"):
        shown = []
        for part in value.split(", "):
            count, _, what = part.partition(" ")
            shown.append(f"{count} {_COUNTERS.get(what, what)}")
        return "，".join(shown)
    if name.startswith("people_"):
        return re.sub(
            r" ?\(([a-z_]+)\)",
            lambda m: f"（{label(m.group(1))}）",
            value,
        )
    if name == "cite":
        return _CITATION.get(value, value)
    if name == "party":  # a party id, named by its role when it is one
        if label(value) != value:
            return label(value)
        return re.sub(r" \(([a-z_]+)\)$", lambda m: f"（{label(m.group(1))}）", value)
    return value
