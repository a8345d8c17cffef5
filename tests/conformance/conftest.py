"""The plugin is tested end to end with pytester, against the session's real moto server.

`pytest_plugins = ["pytester"]` is refused in a conftest below the rootdir when the whole
project runs, so the plugin is loaded here when this folder's tests are collected.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
