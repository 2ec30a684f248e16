from __future__ import annotations

import io

import orjson
import structlog

from bastion.infra.audit import RedactingProcessor, redact_values

SECRET = "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"


def scanner(text: str) -> str:
    return text.replace(SECRET, "[REDACTED]")


def test_every_string_at_any_depth_is_redacted_and_the_input_is_untouched() -> None:
    event = {
        "reason": f"token {SECRET} found",
        "trace": [{"stage": "scan", "hits": (SECRET, 3)}],
        "details": {"nested": {"deeper": [SECRET]}},
        "count": 2,
        "flag": None,
    }
    redacted = redact_values(event, scanner)
    assert SECRET not in orjson.dumps(redacted).decode()
    assert redacted["reason"] == "token [REDACTED] found"
    assert redacted["trace"] == [{"stage": "scan", "hits": ["[REDACTED]", 3]}]
    assert redacted["count"] == 2
    assert redacted["flag"] is None
    assert event["details"] == {"nested": {"deeper": [SECRET]}}


def test_structlog_processor_redacts_the_message_and_every_value() -> None:
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[RedactingProcessor(scanner), structlog.processors.JSONRenderer()],
        wrapper_class=structlog.BoundLogger,
    )
    logger.info(f"upstream said {SECRET}", header={"authorization": SECRET}, attempt=1)
    line = orjson.loads(out.getvalue())
    assert SECRET not in out.getvalue()
    assert line == {
        "event": "upstream said [REDACTED]",
        "header": {"authorization": "[REDACTED]"},
        "attempt": 1,
    }
