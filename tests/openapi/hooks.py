"""Schemathesis hooks for tests/test_openapi.py.

A managed study (``"managed": true``) runs a real search on the server's own workers (Ray
by default): a thousand generated ones would train for hours. Every request of the run
goes out with ``managed: false``; managed searches have their own tests
(tests/test_service_http.py).
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """``managed: true`` becomes ``false`` in a study's body (every phase calls through here)."""
    if (case.method.upper(), case.path) != ("POST", "/api/studies"):
        return
    if isinstance(case.body, dict) and case.body.get("managed") is True:
        case.body = {**case.body, "managed": False}
