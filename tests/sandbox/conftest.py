"""Fixtures for the sandbox tests: a seeded sandbox and clients for its three interfaces."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cio_sec.sandbox import Sandbox, SandboxInfo
from tests.sandbox.helpers import http


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=1) as running:
        yield running


@pytest.fixture
def info(sandbox: Sandbox) -> SandboxInfo:
    return sandbox.info


@pytest.fixture
def track(info: SandboxInfo) -> Iterator[httpx.Client]:
    auth = (info.site_id, info.track_api_key)
    with http(info.track_url, auth=auth) as client:
        yield client


@pytest.fixture
def app(info: SandboxInfo) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {info.app_api_key}"}
    with http(info.app_url, headers=headers) as client:
        yield client


@pytest.fixture
def admin(info: SandboxInfo) -> Iterator[httpx.Client]:
    with http(info.admin_url) as client:
        yield client
