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

from bastion.infra.governance.scanner import Finding, SecretScanner
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
    length = 0
    while length < 400:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
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
    rng = random.Random(seed)
    blocks: list[Callable[[random.Random], str]] = [
        _prose,
        lambda _: CODE,
        lambda _: YAML,
        _log,
    ]
    parts: list[str] = []
    length = 0
    while length < size:
        block = blocks[len(parts) % len(blocks)](rng)
        parts.append(block)
        length += len(block)
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


def run() -> str:
    scanner = SecretScanner()
    small, large = prompt(2 * 1024), prompt(100 * 1024)
    clean = prompt(2 * 1024, with_secrets=False)
    document = request_json(prompt(1600))
    clean_document = request_json(prompt(1600, with_secrets=False))
    large_clean = prompt(100 * 1024, with_secrets=False)
    large_accented = accented(large_clean)
    large_hidden = zero_width(large_clean)
    small_hidden = zero_width(small)
    rows: list[tuple[str, str, int, Callable[[], list[Finding]], int]] = [
        ("scan_text", "2 KB prompt", len(small), lambda: scanner.scan_text(small), 5000),
        ("scan_text", "2 KB prompt, no secret", len(clean), lambda: scanner.scan_text(clean), 5000),
        ("scan_text", "100 KB prompt", len(large), lambda: scanner.scan_text(large), 300),
        (
            "scan_text",
            "100 KB prompt, no secret",
            len(large_clean),
            lambda: scanner.scan_text(large_clean),
            300,
        ),
        (
            "scan_text",
            "100 KB prompt, no secret, accented (non-ASCII, already NFKC)",
            len(large_accented),
            lambda: scanner.scan_text(large_accented),
            300,
        ),
        (
            "scan_text",
            "100 KB prompt, no secret, a zero-width space every 40 chars",
            len(large_hidden),
            lambda: scanner.scan_text(large_hidden),
            300,
        ),
        (
            "scan_text",
            "2 KB prompt, a zero-width space every 40 chars (secrets split by them)",
            len(small_hidden),
            lambda: scanner.scan_text(small_hidden),
            3000,
        ),
        ("redact_text", "2 KB prompt", len(small), lambda: scanner.redact_text(small)[1], 5000),
        ("redact_text", "100 KB prompt", len(large), lambda: scanner.redact_text(large)[1], 300),
        (
            "scan_json",
            "2 KB Messages request",
            len(json.dumps(document)),
            lambda: scanner.scan_json(document),
            5000,
        ),
        (
            "scan_json",
            "2 KB Messages request, no secret",
            len(json.dumps(clean_document)),
            lambda: scanner.scan_json(clean_document),
            5000,
        ),
    ]
    lines = ["| operation | input | chars | findings | median µs |", "|---|---|---:|---:|---:|"]
    for name, label, chars, op, iterations in rows:
        us = median_us(op, iterations, WARM_UP)
        lines.append(f"| {name} | {label} | {chars} | {len(op())} | {us:.1f} |")
    return "\n".join(lines)


def main() -> None:
    print(run())


if __name__ == "__main__":
    main()
