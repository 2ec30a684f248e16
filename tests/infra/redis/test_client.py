"""The one Redis client factory for the request path."""

from __future__ import annotations

import subprocess
import sys

from redis.backoff import NoBackoff

from bastion.infra.redis import request_path_client


def test_the_request_path_client_has_short_timeouts_and_one_immediate_retry() -> None:
    client = request_path_client("redis://localhost:6379/0", timeout_seconds=0.5)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.5
    assert kwargs["socket_connect_timeout"] == 0.5
    retry = kwargs["retry"]
    assert retry._retries == 1
    assert isinstance(retry._backoff, NoBackoff)


def test_importing_the_package_does_not_import_redis() -> None:
    code = "import sys, bastion.infra.redis; print('redis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
