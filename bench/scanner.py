"""Secret scanner costs: ``python -m bench.scanner``.

Inputs are realistic prompts (prose, Python, YAML, a log excerpt with UUIDs and git SHAs)
carrying two generated look-alike secrets (a GitHub token and a PostgreSQL URL with a
password), built from a seeded random source; one row has no secret, the common case.
Each figure is the median of single calls timed with ``perf_counter_ns`` after a warm-up
(the first scans of a text shape fill RE2's DFA caches).
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

from bastion.infra.scanner import SecretScanner
from bench._support import cli
from bench._support.measure import median_us

SEED = 7
WARM_UP = 50
ALNUM = string.ascii_letters + string.digits

PROSE = (
    "the request should include a short summary of the change and the reason we need it "
    "before review please check that the migration runs on both databases and that the "
    "tests cover the new path we also want the error message to name the key that failed "
    "so an operator can fix the profile without reading the code can you explain why this "
    "function returns none when the cache is cold and suggest a fix that keeps it fast"
)
WORDS = PROSE.split()

CODE = """
```python
async def fetch_orders(session: AsyncSession, customer_id: int) -> list[Order]:
    stmt = select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
    result = await session.execute(stmt)
    orders = result.scalars().all()
    logger.info("fetched %d orders for customer %s", len(orders), customer_id)
    return [order for order in orders if order.status != OrderStatus.CANCELLED]
```
"""

YAML = """
```yaml
service:
  name: billing-worker
  replicas: 3
  resources: {cpu: 500m, memory: 512Mi}
  env:
    LOG_LEVEL: info
    QUEUE_URL: https://queue.internal.test/billing
```
"""


def _prose(rng: random.Random) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < 400:
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + ".\n"


def _log(rng: random.Random) -> str:
    lines = [
        f"2024-06-01T12:{rng.randint(0, 59):02d}:00Z INFO "
        f"request_id={uuid.UUID(int=rng.getrandbits(128))} "
        f"commit={rng.getrandbits(160):040x} status=200"
        for _ in range(3)
    ]
    return "\n".join(lines) + "\n"


def _secrets(rng: random.Random) -> list[str]:
    token = "gh" + "p_" + "".join(rng.choice(ALNUM) for _ in range(36))
    password = "".join(rng.choice(ALNUM) for _ in range(16))
    return [
        f"My token is {token} but the API says 401.\n",
        f"DATABASE_URL=postgresql://app:{password}@db.internal:5432/app\n",
    ]


def prompt(size: int, *, with_secrets: bool = True, seed: int = SEED) -> str:
    """A prompt of ``size`` characters, with two secrets near its start and middle."""
    rng, parts = random.Random(seed), []
    blocks: list[Callable[[random.Random], str]] = [_prose, lambda _: CODE, lambda _: YAML, _log]
    while sum(map(len, parts)) < size:
        parts.append(blocks[len(parts) % len(blocks)](rng))
    if with_secrets:
        first, second = _secrets(rng)
        parts.insert(1, first)
        parts.insert(len(parts) // 2, second)
    return "".join(parts)[:size]


def request_json(text: str) -> dict[str, object]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a helpful assistant for the billing team.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": text}]},
            {"role": "assistant", "content": "Let me look at that."},
            {"role": "user", "content": "Thanks, please keep the answer short."},
        ],
        "metadata": {"user_id": "usr_42"},
    }


def accented(text: str) -> str:
    """Non-ASCII text that is already NFKC (the normaliser's second fast path)."""
    return text.replace("e", "\u00e9").replace("o", "\u00f6")


def zero_width(text: str, every: int = 40) -> str:
    """Text with a zero-width space every ``every`` characters: normalised in full."""
    return "\u200b".join(text[i : i + every] for i in range(0, len(text), every))


def cases() -> list[tuple[str, str, Any, int]]:
    """(scanner method, input, the input, iterations)."""
    small, large = prompt(2 * 1024), prompt(100 * 1024)
    clean, large_clean = (
        prompt(2 * 1024, with_secrets=False),
        prompt(100 * 1024, with_secrets=False),
    )
    message, message_clean = (
        request_json(prompt(1600)),
        request_json(prompt(1600, with_secrets=False)),
    )
    accent = "100 KB prompt, no secret, accented (non-ASCII, already NFKC)"
    hidden = "100 KB prompt, no secret, a zero-width space every 40 chars"
    return [
        ("scan_text", "2 KB prompt", small, 5000),
        ("scan_text", "2 KB prompt, no secret", clean, 5000),
        ("scan_text", "100 KB prompt", large, 300),
        ("scan_text", "100 KB prompt, no secret", large_clean, 300),
        ("scan_text", accent, accented(large_clean), 300),
        ("scan_text", hidden, zero_width(large_clean), 300),
        (
            "scan_text",
            "2 KB prompt, a zero-width space every 40 chars (secrets split by them)",
            zero_width(small),
            3000,
        ),
        ("redact_text", "2 KB prompt", small, 5000),
        ("redact_text", "100 KB prompt", large, 300),
        ("scan_json", "2 KB Messages request", message, 5000),
        ("scan_json", "2 KB Messages request, no secret", message_clean, 5000),
    ]


def rows(chosen: list[tuple[str, str, Any, int]], warm_up: int = WARM_UP) -> list[list[Any]]:
    """Each case's (method, input, chars, findings, median µs)."""
    scanner, out = SecretScanner(), []
    for method, label, value, iterations in chosen:
        call = getattr(scanner, method)
        op = lambda call=call, value=value: call(value)  # noqa: E731
        result = op()
        found = result[1] if method == "redact_text" else result
        chars = len(value) if isinstance(value, str) else len(json.dumps(value))
        us = median_us(op, iterations, warm_up)
        out.append([method, label, chars, len(found), f"{us:.1f}"])
    return out


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.scanner", __doc__).parse_args(argv)
    columns = ["operation", "input", "chars", "findings", "median µs"]
    print("\n".join(cli.table(columns, rows(cases()), "llr")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
