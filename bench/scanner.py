"""Secret scanner costs: ``python -m bench.scanner``.

Inputs are realistic prompts (prose, Python, YAML, JSON, a log excerpt with UUIDs and
git SHAs) carrying two generated look-alike secrets, built from a seeded random source.
Each figure is the median of single calls timed with ``perf_counter_ns``, after a warm-up
(the first scan of a text shape fills RE2's DFA caches).
"""

from __future__ import annotations

import json
import random
import statistics
import string
import time
import uuid
from collections.abc import Callable

from bastion.infra.governance.scanner import SecretScanner

SEED = 7
WARM_UP = 50
ALNUM = string.ascii_letters + string.digits

WORDS = (
    "the request should include a short summary of the change and the reason we need it "
    "before review please check that the migration runs on both databases and that the "
    "tests cover the new path we also want the error message to name the key that failed "
    "so an operator can fix the profile without reading the code can you explain why this "
    "function returns none when the cache is cold and suggest a fix that keeps it fast"
).split()

CODE = '''
```python
async def fetch_orders(session: AsyncSession, customer_id: int) -> list[Order]:
    stmt = select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
    result = await session.execute(stmt)
    orders = result.scalars().all()
    logger.info("fetched %d orders for customer %s", len(orders), customer_id)
    return [order for order in orders if order.status != OrderStatus.CANCELLED]
```
'''

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


def _prose(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words).capitalize() + ".\n"


def _log(rng: random.Random) -> str:
    lines = [
        f"2024-06-01T12:{rng.randint(0, 59):02d}:00Z INFO request_id={uuid.UUID(int=rng.getrandbits(128))} "
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


def prompt(size: int, seed: int = SEED) -> str:
    """A prompt of about ``size`` characters with two secrets near its start and middle."""
    rng = random.Random(seed)
    blocks = [_prose, lambda r, s: CODE, lambda r, s: YAML, lambda r, s: _log(r)]
    parts: list[str] = []
    length = 0
    while length < size:
        block = blocks[len(parts) % len(blocks)](rng, 400)
        parts.append(block)
        length += len(block)
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


def median_us(op: Callable[[], object], iterations: int) -> float:
    for _ in range(WARM_UP):
        op()
    samples: list[int] = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        op()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def run() -> str:
    scanner = SecretScanner()
    small, large = prompt(2 * 1024), prompt(100 * 1024)
    small_json = request_json(prompt(1600))
    rows = [
        ("scan_text", "2 KB prompt", len(small), scanner.scan_text, small, 5000),
        ("scan_text", "100 KB prompt", len(large), scanner.scan_text, large, 300),
        ("redact_text", "2 KB prompt", len(small), scanner.redact_text, small, 5000),
        ("redact_text", "100 KB prompt", len(large), scanner.redact_text, large, 300),
        (
            "scan_json",
            "2 KB Messages request",
            len(json.dumps(small_json)),
            scanner.scan_json,
            small_json,
            5000,
        ),
    ]
    lines = ["| operation | input | chars | findings | median µs |", "|---|---|---:|---:|---:|"]
    for name, label, chars, op, arg, iterations in rows:
        found = op(arg)  # type: ignore[operator]
        count = len(found[1] if isinstance(found, tuple) else found)
        us = median_us(lambda op=op, arg=arg: op(arg), iterations)  # type: ignore[misc]
        lines.append(f"| {name} | {label} | {chars} | {count} | {us:.1f} |")
    return "\n".join(lines)


def main() -> None:
    print(run())


if __name__ == "__main__":
    main()
