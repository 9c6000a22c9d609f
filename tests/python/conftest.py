"""Shared set-up for the VST3 host tests: the bundle under test and a watchdog.

Nothing is skipped: without ``AURALIS_VST3`` the session stops with an error that says how to
run the tests (``cargo xtask test``).
"""

from __future__ import annotations

import faulthandler
import sys
from pathlib import Path

import pytest

from auralis_hosts import bundle_from_env

#: Longest a single test may take before the session is stopped with every thread's stack
#: dumped. The slowest test takes a few seconds; a host or plugin deadlock would otherwise hang
#: CI forever.
WATCHDOG_S = 90.0


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.auralis_vst3 = bundle_from_env()
    except RuntimeError as err:
        raise pytest.UsageError(str(err)) from None


@pytest.fixture(scope="session")
def vst3(pytestconfig: pytest.Config) -> Path:
    """Path of the Auralis.vst3 bundle under test."""
    return pytestconfig.auralis_vst3


@pytest.fixture(autouse=True)
def watchdog():
    """Stops the whole session, with stack traces, if one test hangs."""
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()
