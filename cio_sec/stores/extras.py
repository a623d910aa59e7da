"""Import the optional client library a production store needs, or say how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

from cio_sec.errors import ConfigError


def import_extra(module: str, *, scheme: str, extra: str) -> ModuleType:
    """Import ``module`` (boto3, hvac), which only the ``extra`` install brings.

    Raises:
        ConfigError: the module is not installed; the hint is the exact install command.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{scheme}: references need the Python package {module}, which is not installed",
            hint=f"pip install 'cio-sec[{extra}]'",
        ) from None
