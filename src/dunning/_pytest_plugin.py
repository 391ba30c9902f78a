"""pytest plugin (entry point ``pytest11``): run policy checks against a host's own rule files.

``pytest --dunning-policy rules/lender.yaml`` makes the ``dunning_policy`` fixture load that
policy once per session; tests that use the fixture are skipped, with the reason, when the
option is not given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .policy import Policy


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--dunning-policy`` and ``--dunning-engine``."""
    group = parser.getgroup("dunning")
    group.addoption(
        "--dunning-policy",
        metavar="PATH",
        default=None,
        help="the policy rule file the dunning_policy fixture loads",
    )
    group.addoption(
        "--dunning-engine",
        choices=("compiled", "rete"),
        default="compiled",
        help="the engine the dunning_policy fixture uses",
    )


@pytest.fixture(scope="session")
def dunning_policy(request: pytest.FixtureRequest) -> Policy:
    """The policy named by ``--dunning-policy``, loaded once (skips the test without it)."""
    from .policy import load_policy

    path = request.config.getoption("--dunning-policy")
    if path is None:
        pytest.skip("no policy given: run pytest with --dunning-policy PATH")
    return load_policy(path, engine=request.config.getoption("--dunning-engine"))
