"""Draw the README's picture of the demo report: `make screenshot`.

Renders the example portfolio's decision report (as `make demo` does), opens it in the system's
headless Chromium and saves the top of the page as a PNG.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import chromium  # noqa: E402
from dunning.cli import main  # noqa: E402


def run() -> int:
    """Render the demo report, open it in Chromium, save the top of the page."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "demo-report.png"))
    parser.add_argument("--locale", default="en")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        page_file = Path(work) / "decisions.html"
        status = main(
            [
                "decide",
                "--policy",
                str(ROOT / "rules" / "lender.yaml"),
                "--as-of",
                "2026-11-28T10:00:00+08:00",
                "--format",
                "html",
                "--locale",
                args.locale,
                "--out",
                str(page_file),
                "--skip-uncovered",
                str(ROOT / "examples" / "portfolio.jsonl"),
            ]
        )
        if status:
            return status
        with chromium() as browser:
            page = browser.new_page()
            page.set_viewport_size({"width": 1100, "height": 1400})
            page.goto(page_file.as_uri())
            page.screenshot(path=args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
