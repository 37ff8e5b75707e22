"""The core tests use the real S3 and hub servers of `tests/servers` (fixtures `s3`, `hub`).

Until the suite's root conftest loads that plugin for everyone, load it here when it is not
loaded already (with `-p tests.servers.fixtures` or from the root), so it is never loaded twice.
"""

from __future__ import annotations

import pytest

PLUGIN = "tests.servers.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
