"""Fixtures of the data-quality tests: one GX context per test session (created once, reused)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def gx_context():
    from flexpower_dagster.lib.quality.gx_runner import gx_context as ctx

    return ctx()
