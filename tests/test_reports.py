"""The reports' HTML, CSV and Excel forms: the figures of --format json, checked in Chromium."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from browser import chromium, chromium_path
from conftest import SLOW
from dunning.cli import main
from dunning.reports.document import (
    Chart,
    Code,
    Column,
    Document,
    Figure,
    Headline,
    Msg,
    Table,
    build_document,
    msg,
)
from dunning.reports.export import EXCEL_FORMATS, write_csv, write_xlsx
from dunning.reports.html import render_html
from dunning.reports.locales import Locale, locale
from dunning.reports.text import render_text

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-28T10:00:00+08:00"
AGENCY_AS_OF = "2026-12-11T09:00:00+08:00"


def _cases(work: Path) -> Path:
    """The example portfolio; its first 150 cases in `make test` (all 1,200 in the slow run)."""
    source = ROOT / "examples" / "portfolio.jsonl"
    if SLOW:
        return source
    part = work / "portfolio.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)[:150]
    part.write_text("".join(lines), encoding="utf-8")
    return part


def _commands(work: Path) -> dict[str, list[str]]:
    """Each report command, on the examples, without --format and --out."""
    cases = str(_cases(work))
    proposed = work / "proposed.yaml"
    text = (ROOT / "rules" / "lender.yaml").read_text(encoding="utf-8")
    proposed.write_text(text.replace('default: "50000.00"', 'default: "20000.00"'), "utf-8")
    lender, agencies = str(ROOT / "rules" / "lender.yaml"), str(ROOT / "rules" / "agencies.yaml")
    settlement = ROOT / "examples" / "settlement"
    agency = ROOT / "examples" / "agency"
    events = str(settlement / "events.jsonl")
    money = [
        "--policy",
        lender,
        "--agencies",
        agencies,
        "--events",
        events,
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
    ]
    procedure = [
        "--procedure",
        str(ROOT / "rules" / "agency_procedure.yaml"),
        "--as-of",
        AGENCY_AS_OF,
    ]
    return {
        "decisions": ["decide", "--policy", lender, "--as-of", AS_OF, "--skip-uncovered", cases],
        "diff": ["diff", lender, str(proposed), cases, "--as-of", AS_OF],
        "placements": [
            "place",
            "--policy",
            lender,
            "--agencies",
            agencies,
            "--placements",
            str(ROOT / "examples" / "placements.jsonl"),
            "--as-of",
            AS_OF,
            "--skip-uncovered",
            cases,
        ],
        "settlement": ["settle", *money, str(settlement / "ledger.jsonl")],
        "reconciliation": [
            "reconcile",
            *money,
            "--ledger",
            str(settlement / "ledger.jsonl"),
            "--agency",
            "AG-01",
            str(settlement / "claim-AG-01-2026-10.csv"),
        ],
        "costs": [
            "costs",
            *money,
            "--ledger",
            str(settlement / "ledger.jsonl"),
            "--snapshot",
            f"{cases}=2026-10-28",
            "--snapshot",
            f"{cases}=2026-11-28",
            cases,
        ],
        "audit": [
            "audit",
            *procedure,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            str(agency / "events.jsonl"),
        ],
        "performance": [
            "performance",
            *procedure,
            "--month",
            "2026-11",
            "--ledger",
            str(agency / "payments.csv"),
            "--collectors",
            str(agency / "collectors.yaml"),
            str(agency / "events.jsonl"),
        ],
    }


#: The reports also rendered in Chinese: between them, every kind of chart. Every report's
#: messages are checked against the catalog without rendering.
CHINESE = ("decisions", "costs", "reconciliation", "audit")
#: The reports whose CSV and workbook are also written by the command line (the others are
#: rendered from the command's JSON by the same functions, which saves a run of each).
THROUGH_THE_CLI = ("decisions", "audit")
# One worker runs the whole module: the reports are made once, and one Chromium opens them all.
pytestmark = pytest.mark.xdist_group("chromium")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Every report as JSON and HTML from the command line, and as CSV and Excel."""
    work = tmp_path_factory.mktemp("reports")
    made: dict[str, dict[str, Path]] = {}
    for name, argv in _commands(work).items():
        forms = ["json", "html", *(["csv", "xlsx"] if name in THROUGH_THE_CLI else [])]
        made[name] = {}
        for form in forms:
            out = work / f"{name}.{form}"
            # The example claim differs from the statement on purpose: reconcile exits 1.
            status = main([*argv, "--format", form, "--out", str(out)])
            assert status == (1 if name == "reconciliation" else 0), (name, form)
            made[name][form] = out
        if name not in THROUGH_THE_CLI:
            document = build_document(name, json.loads(made[name]["json"].read_bytes()))
            with (work / f"{name}.csv").open("w", encoding="utf-8", newline="") as text:
                write_csv(document, text)
            with (work / f"{name}.xlsx").open("wb") as binary:
                write_xlsx(document, binary, locale("en"))
            made[name].update(csv=work / f"{name}.csv", xlsx=work / f"{name}.xlsx")
        if name in CHINESE:
            out = work / f"{name}.zh-CN.html"
            status = main([*argv, "--format", "html", "--locale", "zh-CN", "--out", str(out)])
            assert status == (1 if name == "reconciliation" else 0), name
            made[name]["zh-CN"] = out
    return made


def _data(reports: dict[str, dict[str, Path]], name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reports[name]["json"].read_text(encoding="utf-8"))
    return data


# --- what each page must show: the JSON's figures, by table, row and column ----------------------

Cells = dict[tuple[str, str, str], str]


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def _decisions(d: dict[str, Any]) -> Cells:
    cells: Cells = {("overview", "decided", "value"): str(d["decided"])}
    agencies = d["agencies"]
    for key in ("cases", "total_due", "expected_commission"):
        name = "agency_cases" if key == "cases" else key
        name = "agency_total_due" if key == "total_due" else name
        cells["overview", name, "value"] = str(agencies[key])
        cells["agencies", "total", key] = str(agencies[key])
    for product, p in d["products"].items():
        cells["buckets", product, "cases"] = str(p["cases"])
        cells["buckets", product, "total_due"] = p["total_due"]
        for bucket, n in p["buckets"].items():
            cells["buckets", product, bucket] = str(n)
        for channel, n in p["channels"].items():
            cells["channels", product, channel] = str(n)
    for bucket, row in agencies["by_bucket"].items():
        for key, value in row.items():
            cells["agencies", bucket, key] = str(value)
    for guard, counts in d["guards"].items():
        for effect, n in counts.items():
            cells["guards", guard, effect] = str(n)
    return cells


def _diff(d: dict[str, Any]) -> Cells:
    cells: Cells = {
        ("overview", "cases", "value"): str(d["cases"]),
        ("overview", "changed", "value"): str(d["changed"]),
        ("overview", "newly_placed", "value"): d["agencies"]["newly_placed"],
    }
    for key in ("channels", "intended_channels"):
        for old, row in d[key].items():
            for new, n in row.items():
                cells[key, old, new] = str(n)
    for product, p in d["by_product"].items():
        for key, value in p.items():
            cells["by_product", product, key] = str(value)
    for side in ("old", "new"):
        for amount, value in d["amounts"][side].items():
            cells["amounts", amount, side] = value
    return cells


def _placements(d: dict[str, Any]) -> Cells:
    cells: Cells = {}
    keys = (
        "proposed",
        "proposed_total_due",
        "placed",
        "placed_total_due",
        "kept",
        "kept_total_due",
        "open",
        "capacity",
        "left",
        "share",
        "target",
    )
    for agency, a in d["agencies"].items():
        for key in keys:
            cells["agencies", agency, key] = _raw(a[key])
        for reason, n in a["recalled"].items():
            cells["recalled", reason, agency] = str(n)
    return cells


def _settlement(d: dict[str, Any]) -> Cells:
    cells: Cells = {}
    for s in d["statements"]:
        row = f"{s['agency_id']} {s['period']}"
        cells["statements", row, "lines"] = str(s["totals"]["count"])
        cells["statements", row, "amount"] = s["totals"]["amount"]
        cells["statements", row, "commission"] = s["totals"]["commission"]
        for line in s["lines"]:
            for key in ("amount", "commission", "rate", "case_id"):
                cells["lines", line["reference"], key] = _raw(line[key])
    accounting = d["accounting"]
    for name, tally in [*accounting["categories"].items(), ("ledger", accounting["ledger"])]:
        cells["accounting", name, "lines"] = str(tally["count"])
        cells["accounting", name, "amount"] = tally["amount"]
        cells["accounting", name, "commission"] = tally["commission"]
    return cells


def _reconciliation(d: dict[str, Any]) -> Cells:
    cells: Cells = {("overview", "matched", "value"): str(d["counts"]["matched"])}
    for category, n in d["counts"].items():
        cells["categories", category, "lines"] = str(n)
    for side in ("lender", "agency"):
        for key, value in d[f"{side}_total"].items():
            cells["totals", side, key] = _raw(value)
    for line in d["lines"]:
        if line["category"] != "matched":
            cells["differences", line["reference"], "category"] = line["category"]
            cells["differences", line["reference"], "amount"] = (line["lender"] or line["agency"])[
                "amount"
            ]
    return cells


def _costs(d: dict[str, Any]) -> Cells:
    cells: Cells = {}
    money = (
        "in_house_recovered",
        "in_house_cost",
        "in_house_per_100",
        "agency_recovered",
        "commission",
        "agency_per_100",
    )
    for key in money:
        cells["overview", key, "value"] = _raw(d["total"][key])
    for part in ("by_stage", "by_product"):
        for name, f in d[part].items():
            for key in money:
                cells[part, name, key] = _raw(f[key])
    for name, f in d["by_channel"].items():
        cells["by_channel", name, "contacts"] = str(f["contacts"])
        cells["by_channel", name, "in_house_cost"] = f["in_house_cost"]
    for name, f in d["by_agency"].items():
        cells["by_agency", name, "agency_recovered"] = f["agency_recovered"]
        cells["by_agency", name, "commission"] = f["commission"]
    for month, c in d["cohorts"].items():
        cells["cohorts", month, "placed_amount"] = c["placed_amount"]
        for i, rate in enumerate(c["rates"]):
            cells["cohorts", month, f"m{i}"] = rate
    for old, row in d["roll_rates"]["counts"].items():
        for new, n in row.items():
            cells["roll", old, new] = str(n)
    return cells


def _audit(d: dict[str, Any]) -> Cells:
    cells: Cells = {
        ("overview", "findings", "value"): str(len(d["findings"])),
        ("overview", "errors", "value"): str(d["errors"]),
    }
    for obligation, n in d["checked"].items():
        cells["obligations", obligation, "checked"] = str(n)
    return cells


def _performance(d: dict[str, Any]) -> Cells:
    cells: Cells = {}
    keys = (
        "held",
        "worked",
        "attempts",
        "promises_kept",
        "kept_rate",
        "recovered",
        "commission",
        "findings",
    )
    for row in d["rows"]:
        level = row["level"]
        if level == "total":
            cells["overview", "recovered", "value"] = row["recovered"]
            continue
        table = {"collector": "collectors", "team": "teams", "bank": "banks"}[level]
        for key in keys:
            cells[table, str(row[level]), key] = _raw(row[key])
    return cells


EXPECTED: dict[str, Callable[[dict[str, Any]], Cells]] = {
    "decisions": _decisions,
    "diff": _diff,
    "placements": _placements,
    "settlement": _settlement,
    "reconciliation": _reconciliation,
    "costs": _costs,
    "audit": _audit,
    "performance": _performance,
}


def _missing(expected: Cells, shown: Cells) -> Cells:
    return {k: v for k, v in expected.items() if shown.get(k) != v}


# --- CSV and Excel -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_csv_has_every_figure_of_the_json(
    reports: dict[str, dict[str, Path]], name: str
) -> None:
    expected = EXPECTED[name](_data(reports, name))
    assert len(expected) > 3
    with reports[name]["csv"].open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["section", "row", "column", "value"]
    shown = {(s, r, c): v for s, r, c, v in rows[1:]}
    assert len(shown) == len(rows) - 1  # each figure once
    assert _missing(expected, shown) == {}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_workbook_holds_numbers_with_their_formats(
    reports: dict[str, dict[str, Path]], name: str
) -> None:
    from openpyxl import load_workbook

    document = build_document(name, _data(reports, name))
    book = load_workbook(reports[name]["xlsx"])
    tables = [b for b in document.blocks if isinstance(b, Table)]
    assert len(book.sheetnames) == 1 + len(tables)
    about = book[book.sheetnames[0]]
    texts = [str(c.value) for row in about.iter_rows() for c in row if c.value is not None]
    assert any(t.startswith("sha256:") for t in texts)  # the run's identity
    checked = 0
    for sheet_name, table in zip(book.sheetnames[1:], tables, strict=True):
        sheet = book[sheet_name]
        rows = list(sheet.iter_rows(min_row=3, max_row=2 + len(table.rows)))
        for cells, values in zip(rows, table.rows, strict=True):
            for cell, column, value in zip(cells, table.columns, values, strict=True):
                if column.kind not in EXCEL_FORMATS or value is None or column.kind == "date":
                    continue
                # A number, not text, shown in the kind's format, equal to the JSON's figure.
                assert isinstance(cell.value, int | float), (sheet_name, cell.coordinate)
                assert cell.number_format == EXCEL_FORMATS[column.kind]
                assert Decimal(repr(cell.value)) == value, (sheet_name, cell.coordinate)
                checked += 1
    assert checked > 3


def test_amounts_in_the_workbook_show_two_decimals(reports: dict[str, dict[str, Path]]) -> None:
    from openpyxl import load_workbook

    book = load_workbook(reports["decisions"]["xlsx"])
    sheet = book["Cases by product and bucket"]
    head = [c.value for c in sheet[2]]
    due = sheet.cell(row=3, column=head.index("Total due") + 1)
    assert due.number_format == "#,##0.00"
    assert isinstance(due.value, float | int)
    assert sheet.cell(row=3, column=head.index("Cases") + 1).number_format == "#,##0"


# --- HTML, without a browser ---------------------------------------------------------------------


def test_every_message_of_every_report_is_in_the_chinese_catalog(
    reports: dict[str, dict[str, Path]],
) -> None:
    chinese = locale("zh-CN")
    for name in EXPECTED:
        document = build_document(name, _data(reports, name))
        missing = {m.text for m in document.messages() if not chinese.translated(m)}
        assert missing == set(), name


def test_a_page_is_the_same_bytes_every_run(reports: dict[str, dict[str, Path]]) -> None:
    # The command's page, and the page drawn again here from its JSON.
    document = build_document("costs", _data(reports, "costs"))
    assert reports["costs"]["html"].read_text(encoding="utf-8") == render_html(
        document, locale("en")
    )


def test_a_page_asks_for_nothing_and_runs_no_script(reports: dict[str, dict[str, Path]]) -> None:
    for name in EXPECTED:
        page = reports[name]["html"].read_text(encoding="utf-8")
        assert "default-src 'none'" in page
        assert "<script" not in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), name
        assert 'xlink:href="http' not in page


def test_numbers_and_dates_follow_the_locale(reports: dict[str, dict[str, Path]]) -> None:
    english = reports["decisions"]["html"].read_text(encoding="utf-8")
    chinese = reports["decisions"]["zh-CN"].read_text(encoding="utf-8")
    assert "28 Nov 2026 10:00 UTC+08:00" in english
    assert "2026年11月28日 10:00 UTC+08:00" in chinese
    assert '<html lang="zh-CN">' in chinese
    assert "按产品和账龄分布的案件数" in chinese  # a table's title
    assert "消费金融" in chinese  # a product's name
    due = _data(reports, "decisions")["agencies"]["total_due"]
    shown = f"{Decimal(due):,.2f}"
    assert f'data-value="{due}">{shown}<' in english
    assert f'data-value="{due}">{shown}<' in chinese


def test_the_locale_writes_amounts_dates_and_axes() -> None:
    en, zh = Locale("en"), Locale("zh-CN")
    assert en.value(Decimal("1234567.5"), "money") == "1,234,567.50"
    assert zh.value(Decimal("1234567.5"), "money") == "1,234,567.50"
    assert en.value(Decimal("0.1234"), "percent") == "12.3%"
    assert en.value(None, "money") == "–"
    assert en.day("2026-03-05") == "5 Mar 2026"
    assert zh.day("2026-03-05") == "2026年3月5日"
    assert en.axis(1_200_000, "money") == "1.2M"
    assert zh.axis(1_200_000, "money") == "120万"
    assert zh.axis(250_000_000, "money") == "2.5亿"
    assert en.axis(0.25, "percent") == "25%"
    state = msg("Monthly report: {state}", state=Code("approved"))
    assert (en.text(state), zh.text(state)) == ("Monthly report: approved", "月报：已批准")
    with pytest.raises(ValueError, match="unknown locale"):
        locale("fr")


class _Text(HTMLParser):
    """The text of a page outside its style element, and the tags it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        self._style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.text.append(data)


def _hostile_document(text: str) -> Document:
    table = Table(
        "t",
        Msg(text),
        (Column("name", Msg("Name"), "text"), Column("amount", Msg("Amount"), "money")),
        ((text, Decimal("1.50")), ("total", Decimal("1.50"))),
        total=True,
        charts=(Chart("c", Msg(text), "bars", ("amount",)),),
    )
    return Document(
        "hostile",
        Msg("Decisions"),
        ((Msg("Policy"), text), (Msg("As of"), "2026-11-28")),
        (Headline("f", (Figure("k", Msg(text), "text", text),)), table),
    )


@functools.cache
def _plain_tags() -> set[str]:
    plain = _Text()
    plain.feed(render_html(_hostile_document("x"), locale("en")))
    return set(plain.tags)


# Each example draws a chart (about 0.1 s): 10 in `make test`, 1,000 in the slow run.
@settings(max_examples=1000 if SLOW else 10)
@given(st.text(max_size=40))
def test_any_text_in_a_report_is_shown_as_text_never_as_markup(text: str) -> None:
    page = render_html(_hostile_document(text), locale("en"))
    parsed = _Text()
    parsed.feed(page)
    # No tag the document did not make (a name like "<script>" stays text)...
    assert set(parsed.tags) <= _plain_tags()
    assert text.strip() == "" or text in "".join(parsed.text)
    # ...and the style element cannot be ended by the policy's name in the page's margin.
    style = page[page.index("<style>") : page.index("</style>")]
    assert "<" not in style.replace("<style>", "")


# --- in Chromium ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if chromium_path() is None:
        pytest.skip(
            "Debian's chromium is not installed and `make browser` could not install it "
            "(its package manager was not reachable)"
        )
    with chromium() as opened:
        yield opened


_COLLECT = """() => {
  const cells = {};
  for (const table of document.querySelectorAll('table[data-table]')) {
    for (const row of table.querySelectorAll('tr[data-row]')) {
      for (const cell of row.querySelectorAll('[data-key]')) {
        cells[[table.dataset.table, row.dataset.row, cell.dataset.key].join('\\u0000')] =
          cell.dataset.value;
      }
    }
  }
  for (const box of document.querySelectorAll('[data-figures]')) {
    for (const f of box.querySelectorAll('.figure')) {
      cells[[box.dataset.figures, f.dataset.key, 'value'].join('\\u0000')] =
        f.querySelector('.value').dataset.value;
    }
  }
  const charts = [...document.querySelectorAll('figure.chart svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    return [svg.dataset.chart, box.width, box.height, svg.querySelectorAll('path').length];
  });
  return {cells, charts, head: document.querySelector('header.run').innerText};
}"""


PAGES = [(name, "html") for name in EXPECTED] + [(name, "zh-CN") for name in CHINESE]


@pytest.mark.parametrize(("name", "form"), PAGES)
def test_the_page_in_chromium(
    reports: dict[str, dict[str, Path]], browser: Any, tmp_path: Path, name: str, form: str
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    url = reports[name][form].as_uri()
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if r.url != url else None)
    page.goto(url, wait_until="load")
    seen = page.evaluate(_COLLECT)
    shot = tmp_path / f"{name}.{form}.png"
    page.screenshot(path=str(shot), full_page=True)
    if (name, form) == ("decisions", "html"):  # printable: Chromium prints it to A4
        printed = page.pdf(path=str(tmp_path / "decisions.pdf"), prefer_css_page_size=True)
        assert printed.startswith(b"%PDF") and len(printed) > 20_000
    page.close()

    assert errors == []
    assert requests == []  # no network, not even a favicon
    assert shot.stat().st_size > 10_000  # a screenshot a person can look at
    data = _data(reports, name)
    # The run's identity heads the page: policy (or procedure) digest, and the as-of or period.
    identity = data.get("policy") or data.get("procedure") or data["policies"]["new"]
    assert identity["digest"] in seen["head"]
    charts = seen["charts"]
    assert charts, "every report has a chart"
    for chart_id, width, height, paths in charts:
        assert width > 100 and height > 50, chart_id  # rendered, with a real size
        assert paths > 0, chart_id
    shown = {tuple(key.split("\x00")): value for key, value in seen["cells"].items()}
    assert _missing(EXPECTED[name](data), shown) == {}


def test_html_needs_the_reports_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "matplotlib" else real(n, *a)
    )
    argv = _commands(tmp_path)["audit"]
    assert main([*argv, "--format", "html"]) == 2
    assert "pip install 'dunning[reports]'" in capsys.readouterr().err


def test_an_unwritable_out_fails_before_the_work_and_a_failed_run_leaves_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = _commands(tmp_path)["audit"]
    missing = tmp_path / "no" / "such" / "dir" / "report.html"
    assert main([*argv, "--format", "html", "--out", str(missing)]) == 2
    assert "cannot write" in capsys.readouterr().err
    out = tmp_path / "report.json"
    bad = [*argv[:-1], str(tmp_path / "absent.jsonl")]
    assert main([*bad, "--format", "json", "--out", str(out)]) == 2
    assert not out.exists()


def test_out_is_refused_for_streams(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = _commands(tmp_path)["decisions"]
    assert main([*argv, "--format", "jsonl", "--out", str(tmp_path / "x")]) == 2
    assert "--out takes a report" in capsys.readouterr().err


def test_a_page_goes_to_standard_output_by_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = _commands(tmp_path)["audit"]
    assert main([*argv, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_the_text_report_can_go_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "audit.txt"
    argv = _commands(tmp_path)["audit"]
    assert main([*argv, "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("Audit\n  Procedure  ")
    assert "  Period     2026-11-01 – 2026-11-30\n" in text


# --- the text form -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_text_shows_every_row_of_every_table_of_the_document(
    reports: dict[str, dict[str, Path]], name: str
) -> None:
    # One layout: the text is drawn from the document the page, CSV and workbook are drawn
    # from, so each row's cells stand in order on one line (prose columns under it).
    document = build_document(name, _data(reports, name))
    en = locale("en")
    lines = render_text(document, en).splitlines()
    for table in document.tables.values():
        shown = [i for i, c in enumerate(table.columns) if not c.prose]
        for n, row in enumerate(table.rows):
            total = table.total and n == len(table.rows) - 1
            cells = [
                "" if total and row[i] is None else _shown_cell(row[i], table.columns[i].kind, en)
                for i in shown
            ]
            cells = [c for c in cells if c]  # a totals row is blank where it sums nothing
            pattern = re.compile(r"^  " + r"\s+".join(re.escape(c) for c in cells) + r"$")
            assert any(pattern.match(line) for line in lines), (table.id, cells)
    for item in (b for b in document.blocks if isinstance(b, Headline)):
        for figure in item.items:
            value = _shown_cell(figure.value, figure.kind, en)
            assert any(
                line.endswith(f"  {value}") and en.text(figure.title) in line for line in lines
            )


def _shown_cell(value: Any, kind: str, loc: Any) -> str:
    if value is None:
        return "–"
    if kind in ("label", "date", "text"):
        return str(value)
    return str(loc.value(value, kind))


def test_the_text_form_aligns_chinese_by_its_width_and_writes_prose_under_its_row() -> None:
    table = Table(
        "findings",
        Msg("Findings"),
        (
            Column("case", Msg("Case"), "text"),
            Column("amount", Msg("Amount"), "money"),
            Column("message", Msg("What happened"), "text", prose=True),
        ),
        (("张三", Decimal("1.50"), "called at 23:10"), ("C-1", None, None)),
    )
    text = render_text(Document("t", Msg("Audit"), (), (table,)), locale("en"))
    assert text.splitlines()[2:] == [
        "Findings",
        "  Case  Amount",
        "  张三    1.50",
        "      What happened: called at 23:10",
        "  C-1        –",
    ]
    zh = render_text(Document("t", Msg("Audit"), (), (table,)), locale("zh-CN"))
    assert zh.splitlines()[0] == "作业稽核" and "  案件  金额" in zh.splitlines()


def test_the_librarys_own_sentences_and_codes_read_in_chinese(
    reports: dict[str, dict[str, Path]],
) -> None:
    # A reconciliation's differences, the guards' ids, an audit's findings: English data words
    # on a Chinese page before (issue 33).
    page = reports["reconciliation"]["zh-CN"].read_text(encoding="utf-8")
    # (the raw values stay in the cells' data-value, for programs)
    assert ">金额：放款机构 5097.00，机构 5197.00；佣金：放款机构 713.58，机构 727.58</td>" in page
    assert ">amount: lender" not in page and ">放款机构：内催（从未委外）</td>" in page
    decided = reports["decisions"]["zh-CN"].read_text(encoding="utf-8")
    assert ">费用上限</th>" in decided and ">charges_cap<" not in decided
    table = Table(
        "findings",
        Msg("Findings"),
        (
            Column("obligation", Msg("Obligation"), "label"),
            Column("message", Msg("What happened"), "said", prose=True),
        ),
        (("field_visits.reviewer", "visit R-1 reviewed by its own visitor"),),
    )
    zh = render_text(Document("t", Msg("Audit"), (), (table,)), locale("zh-CN"))
    assert "外访·审阅人" in zh and "情况: 外访 R-1 由外访人员本人审阅" in zh
    en = render_text(Document("t", Msg("Audit"), (), (table,)), locale("en"))
    assert "What happened: visit R-1 reviewed by its own visitor" in en


def test_an_empty_table_says_so_in_text() -> None:
    table = Table("t", Msg("Findings"), (Column("case", Msg("Case"), "text"),), ())
    text = render_text(Document("t", Msg("Audit"), (), (table,)), locale("en"))
    assert text.splitlines()[-2:] == ["Findings", "  No rows."]  # no header over nothing


def test_every_words_of_the_layouts_are_in_the_chinese_catalog() -> None:
    # Words of rare branches (an approval filed, a rejected line) as well as the examples'.
    import ast

    import dunning.reports.document as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    words: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        args = node.args
        if node.func.id in ("Msg", "msg") and args and isinstance(args[0], ast.Constant):
            words.add(args[0].value)
        if node.func.id == "col" and isinstance(args[1], ast.Constant) and args[1].value:
            words.add(args[1].value)
        if node.func.id == "_figures" and isinstance(args[1], ast.List):
            for item in args[1].elts:
                if isinstance(item, ast.Tuple) and isinstance(item.elts[1], ast.Constant):
                    words.add(item.elts[1].value)
    assert len(words) > 150
    chinese = locale("zh-CN")
    assert {w for w in words if isinstance(w, str) and not chinese.translated(Msg(w))} == set()


def test_the_csv_of_a_document_is_its_figures_in_long_form() -> None:
    out = io.StringIO()
    write_csv(_hostile_document("a,b"), out)
    assert out.getvalue().splitlines() == [
        "section,row,column,value",
        'f,k,value,"a,b"',
        't,"a,b",amount,1.50',
        "t,total,amount,1.50",
    ]


def test_a_long_table_is_cut_on_the_page_and_split_across_sheets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openpyxl import load_workbook

    import dunning.reports.export
    import dunning.reports.html

    rows = (*((f"R{n}", Decimal(n)) for n in range(7)), ("total", Decimal(21)))
    table = Table(
        "lines",
        Msg("Statement lines"),
        (Column("reference", Msg("Reference"), "text"), Column("amount", Msg("Amount"), "money")),
        rows,
        total=True,
    )
    document = Document("long", Msg("Settlement"), (), (table,))
    monkeypatch.setattr(dunning.reports.html, "PAGE_ROWS", 3)
    page = render_html(document, locale("en"))
    assert 'data-row="R2"' in page and 'data-row="R3"' not in page
    assert 'data-row="total"' in page  # the totals row stays
    assert "The first 3 of 7 rows; every row is in --format csv and xlsx." in page
    monkeypatch.setattr(dunning.reports.export, "SHEET_ROWS", 5)
    book = io.BytesIO()
    write_xlsx(document, book, locale("en"))
    sheets = load_workbook(book).worksheets[1:]
    assert [s.title for s in sheets] == ["Statement lines", "Statement lines (2)"]
    assert [r[0] for r in sheets[1].iter_rows(min_row=3, values_only=True)] == ["R5", "R6", "total"]


def test_an_empty_batch_still_makes_a_page_and_a_workbook(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    argv = ["decide", "--policy", str(ROOT / "rules" / "lender.yaml"), "--as-of", AS_OF]
    for form in ("html", "xlsx"):
        out = tmp_path / f"empty.{form}"
        assert main([*argv, "--format", form, "--out", str(out), str(empty)]) == 0
        assert out.stat().st_size > 1000
    assert 'data-value="0"' in (tmp_path / "empty.html").read_text(encoding="utf-8")


def test_empty_snapshots_and_no_placements_still_make_a_page(tmp_path: Path) -> None:
    # No case in either snapshot, no payment in the period: empty tables, a roll matrix of zeros.
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    argv = _commands(tmp_path)["costs"]
    argv = [a.replace(str(_cases(tmp_path)), str(empty)) for a in argv]
    argv[argv.index("--from") + 1 : argv.index("--to") + 2] = ["2030-01-01", "--to", "2030-01-31"]
    out = tmp_path / "costs.html"
    assert main([*argv, "--format", "html", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'data-table="by_stage"' in page and 'data-table="roll"' in page
    assert 'data-chart="roll-chart"' in page  # a heat map of nothing but zeros still draws


def test_the_assessment_table_is_its_document_and_adds_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    portfolio = str(ROOT / "examples" / "portfolio.jsonl")
    assert main(["assess", portfolio, "--as-of", "2026-11-28", "--format", "jsonl"]) == 0
    assessed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    due = sum((Decimal(a["total_due"]) for a in assessed if a["dpd"] > 0), Decimal(0))
    assert main(["assess", portfolio, "--as-of", "2026-11-28"]) == 0
    text = capsys.readouterr().out
    overdue = text.split("Overdue amounts by product (cases with dpd > 0)\n")[1]
    total = next(line for line in overdue.splitlines() if line.startswith("  total "))
    assert total.split()[-1] == f"{due:,.2f}"
    assert total.split()[1] == f"{sum(a['dpd'] > 0 for a in assessed):,}"
    assert "Penalty interest is not included" in text


def test_the_text_form_never_drives_the_terminal() -> None:
    evil = "SH-\x1b[2J0001\u202e"
    table = Table(
        "t",
        Msg("Refused lines"),
        (Column("case", Msg("Case"), "text"), Column("why", Msg("Problem"), "text", prose=True)),
        ((evil, f"case_id: {evil} is taken\x07"),),
    )
    text = render_text(
        Document("t", Msg("Intake"), ((Msg("Source"), f"{evil}.csv"),), (table,)), locale("en")
    )
    assert not any(ch in text for ch in "\x1b\x07\u202e")
    assert "SH-\\x1b[2J0001\\u202e" in text


def test_count_axes_have_whole_ticks_and_chinese_pages_use_the_domains_words() -> None:
    """Issue 33: an axis of 0-2 cases printed "0 0 0 1 1 1 2 2 2"; 贷方, 保留, 住房按揭."""
    from dunning.reports.charts import chart_svg
    from dunning.reports.document import Chart

    table = Table(
        "obligations",
        Msg("By obligation"),
        (Column("obligation", Msg("Obligation"), "label"), Column("n", Msg("Errors"), "count")),
        (("conduct", 2), ("cycle", 1), ("intake", 0)),
    )
    svg = chart_svg(
        Chart("c", Msg("Findings"), "bars", ("n",), horizontal=True), table, locale("en")
    )
    ticks = re.findall(r">\s*([0-9.]+)\s*</text>", svg)
    assert ticks and len(ticks) == len(set(ticks)) and all("." not in t for t in ticks)
    chinese = locale("zh-CN")
    assert chinese.label("lender") == "放款机构" and chinese.label("mortgage") == "房产抵押贷款"
    assert chinese.text(Msg("Kept promises")) == "兑现"
