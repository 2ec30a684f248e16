"""The labelled fixture set for the secret scanner.

Every secret here is a look-alike generated at test time from a seeded random source:
reproducible, never a real credential, and no secret-shaped literal is committed (vendor
prefixes are assembled from pieces so push protection has nothing to match).

``positive`` cases name the pattern id expected and the exact substring that must be
reported; ``negative`` cases are near misses that must produce no finding at all. Tests
that take a ``positive`` or ``negative`` argument are parametrised over the whole set.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bastion.infra.scanner import SecretScanner

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
WORD = ALNUM + "_-"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


@dataclass(frozen=True)
class Positive:
    pattern_id: str
    text: str
    secret: str
    """The substring the finding must cover exactly."""

    @property
    def span(self) -> tuple[int, int]:
        start = self.text.index(self.secret)
        return start, start + len(self.secret)


@dataclass(frozen=True)
class Negative:
    label: str
    text: str


class Gen:
    """Seeded look-alike generators."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def alnum(self, n: int) -> str:
        # At least one digit and both cases, like real generated tokens.
        while True:
            value = self.chars(ALNUM, n)
            if any(c.isdigit() for c in value) and value.lower() != value != value.upper():
                return value

    def word(self, n: int) -> str:
        return self.alnum(n - 2) + self.chars(WORD, 2)

    def hex(self, n: int) -> str:
        return self.chars(HEX, n)

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + self.chars(string.digits, n - 1)

    def b64(self, n: int) -> str:
        return self.chars(B64, n)

    def b64bytes(self, n: int) -> str:
        return base64.b64encode(self.rng.randbytes(n)).decode()

    def b64url(self, raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def password(self) -> str:
        return self.alnum(10) + self.rng.choice("!#%&+=?") + self.digits(2)

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)


def _p(*parts: str) -> str:
    """Joins a vendor prefix from pieces, so the source holds no secret-shaped literal."""
    return "".join(parts)


Context = Callable[[str], str]

CONTEXTS: tuple[Context, ...] = (
    lambda s: f"here is my key {s} can you check why the request fails?",
    lambda s: f"export TOKEN_VALUE={s}\n",
    lambda s: f'client = Client("{s}")\n',
    lambda s: f'{{"config": {{"value": "{s}", "retries": 3}}}}',
    lambda s: f"settings:\n  credential_ref: {s}\n  timeout: 30\n",
    lambda s: f"curl -H 'X-Token-Header: {s}' https://api.service.test/v1/items",
)


def _pem(g: Gen, label: str, body_prefix: str = "") -> str:
    body = body_prefix + g.b64bytes(g.rng.randint(600, 1200))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def _jwt(g: Gen) -> str:
    header = g.b64url(json.dumps({"alg": g.pick("HS256", "RS256"), "typ": "JWT"}).encode())
    claims = {"sub": g.hex(12), "iat": g.rng.randint(1_600_000_000, 1_800_000_000)}
    payload = g.b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{g.b64url(g.rng.randbytes(32))}"


def _token_cases(g: Gen) -> list[tuple[str, str]]:
    """(pattern id, secret) for every pattern whose whole match is the secret."""
    cases: list[tuple[str, str]] = []

    def add(pattern_id: str, make: Callable[[], str], times: int = 3) -> None:
        cases.extend((pattern_id, make()) for _ in range(times))

    add(
        "aws-access-key-id",
        lambda: g.pick("AK", "AS") + "IA" + g.chars("ABCDEFGHJKLMNPQRSTUVWXYZ234567", 16),
    )
    add("github-pat", lambda: _p("gh", "p_") + g.alnum(36))
    add("github-fine-grained-pat", lambda: _p("github", "_pat_") + g.alnum(22) + "_" + g.alnum(59))
    add("github-oauth-token", lambda: _p("gh", "o_") + g.alnum(36))
    add("github-app-user-token", lambda: _p("gh", "u_") + g.alnum(36))
    add("github-app-installation-token", lambda: _p("gh", "s_") + g.alnum(36))
    add("github-app-refresh-token", lambda: _p("gh", "r_") + g.alnum(36))
    add("gitlab-pat", lambda: _p("gl", "pat-") + g.alnum(20))
    cases.append(("gitlab-pat", _p("gl", "pat-") + g.alnum(27) + ".01" + g.chars(HEX, 7)))
    add("gitlab-pipeline-trigger-token", lambda: _p("gl", "ptt-") + g.hex(40))
    add("gitlab-runner-token", lambda: _p("gl", "rt-") + g.alnum(20), 2)
    cases.append(("gitlab-runner-token", _p("GR134", "8941") + g.alnum(20)))
    add("gitlab-deploy-token", lambda: _p("gl", "dt-") + g.alnum(20))
    cases.append(("gitlab-token", _p("gl", "ft-") + g.alnum(20)))
    cases.append(("gitlab-token", _p("gl", "imt-") + g.alnum(25)))
    cases.append(("gitlab-token", _p("gl", "cbt-") + g.alnum(4) + "_" + g.alnum(20)))
    add(
        "slack-bot-token",
        lambda: _p("xo", "xb-") + g.digits(12) + "-" + g.digits(13) + "-" + g.alnum(24),
    )
    add(
        "slack-user-token",
        lambda: _p("xo", "xp-") + "-".join(g.digits(12) for _ in range(3)) + "-" + g.hex(32),
    )
    add(
        "slack-app-token",
        lambda: (
            _p("xa", "pp-")
            + "1-A"
            + g.chars(UPPER_ALNUM, 10)
            + "-"
            + g.digits(13)
            + "-"
            + g.hex(64)
        ),
    )
    add(
        "slack-legacy-token",
        lambda: _p("xo", "xs-") + "-".join(g.digits(10) for _ in range(3)) + "-" + g.hex(10),
    )
    add(
        "stripe-secret-key",
        lambda: _p("sk", "_", g.pick("live", "test"), "_") + g.alnum(g.rng.randint(24, 99)),
    )
    add("stripe-restricted-key", lambda: _p("rk", "_", g.pick("live", "test"), "_") + g.alnum(32))
    add("stripe-webhook-secret", lambda: _p("wh", "sec_") + g.alnum(32))
    add("google-api-key", lambda: _p("AI", "za") + g.word(35))
    add("google-oauth-client-secret", lambda: _p("GOC", "SPX-") + g.word(28))
    add("google-oauth-access-token", lambda: _p("ya", "29.") + g.word(120))
    add("anthropic-api-key", lambda: _p("sk-", "ant-", "api03-") + g.word(93) + "AA")
    add("anthropic-admin-key", lambda: _p("sk-", "ant-", "admin01-") + g.word(93) + "AA")
    add("anthropic-oauth-token", lambda: _p("sk-", "ant-", g.pick("oat01-", "ort01-")) + g.word(95))
    marker = _p("T3Blbk", "FJ")
    add("openai-project-key", lambda: _p("sk-", "proj-") + g.word(74) + marker + g.word(74))
    add(
        "openai-service-account-key",
        lambda: _p("sk-", "svcacct-") + g.word(58) + marker + g.word(58),
    )
    add("openai-admin-key", lambda: _p("sk-", "admin-") + g.word(58) + marker + g.word(58))
    add("openai-api-key", lambda: _p("sk", "-") + g.alnum(20) + marker + g.alnum(20))
    add("huggingface-token", lambda: _p("h", "f_") + g.alnum(34))
    add("huggingface-org-token", lambda: _p("api", "_org_") + g.alnum(34))
    add("npm-token", lambda: _p("np", "m_") + g.alnum(36))
    add("pypi-token", lambda: _p("py", "pi-", "AgEIcHlwaS5vcmc") + g.word(g.rng.randint(60, 160)))
    add("twilio-api-key", lambda: _p("S", "K") + g.hex(32))
    add("sendgrid-api-key", lambda: _p("S", "G.") + g.word(22) + "." + g.word(43))
    cases.append(("mailgun-api-key", _p("ke", "y-") + g.hex(32)))
    cases.append(("mailgun-api-key", _p("ke", "y-") + g.hex(32)))
    cases.append(("mailgun-api-key", g.hex(32) + "-" + g.hex(8) + "-" + g.hex(8)))
    add("heroku-api-key", lambda: _p("HR", "KU-AA") + g.word(58))
    add("databricks-token", lambda: _p("da", "pi") + g.hex(32))
    add("jwt", lambda: _jwt(g))
    return cases


def _context_cases(g: Gen) -> list[Positive]:
    """Patterns recognised by context: the text holds more than the secret."""
    out: list[Positive] = []

    def add(pattern_id: str, secret: str, text: str) -> None:
        out.append(Positive(pattern_id, text, secret))

    for template in (
        "aws_secret_access_key = {s}\n",
        'AWS_SECRET_ACCESS_KEY="{s}"',
        '{{"AccessKeyId": "x", "SecretAccessKey": "{s}"}}',
    ):
        secret = g.b64(40)
        add("aws-secret-access-key", secret, template.format(s=secret))
    for template in ("aws_session_token = {s}\n", '"SessionToken": "{s}"', "AWS_SESSION_TOKEN={s}"):
        secret = g.b64(g.rng.randint(180, 400))
        add("aws-session-token", secret, template.format(s=secret))
    for kind in ("services", "services", "workflows"):
        secret = "T" + g.chars(UPPER_ALNUM, 8) + "/B" + g.chars(UPPER_ALNUM, 10) + "/" + g.alnum(24)
        add(
            "slack-webhook-url",
            secret,
            f"post to https://hooks.{_p('sla', 'ck')}.com/{kind}/{secret} now",
        )
    for _ in range(3):
        secret = g.hex(40)
        text = (
            '{"type": "service_account", "project_id": "proj-' + g.digits(6) + '", '
            f'"private_key_id": "{secret}", "client_email": "svc@proj.iam.gserviceaccount.com"}}'
        )
        add("gcp-service-account-key", secret, text)
    for template in ("TWILIO_AUTH_TOKEN={s}", 'twilio_auth_token: "{s}"', "twilioToken = '{s}'"):
        secret = g.hex(32)
        add("twilio-auth-token", secret, template.format(s=secret))
    for template in ("HEROKU_API_KEY={s}", 'heroku_api_key = "{s}"', "herokuToken: {s}"):
        secret = str(uuid.UUID(int=g.rng.getrandbits(128), version=4))
        add("heroku-api-key-legacy", secret, template.format(s=secret))
    for _ in range(3):
        secret = g.b64(86) + "=="
        add(
            "azure-storage-account-key",
            secret,
            f"DefaultEndpointsProtocol=https;AccountName=acct{g.digits(4)};AccountKey={secret};"
            "EndpointSuffix=core.windows.net",
        )
    for _ in range(3):
        secret = g.b64(43) + "="
        add(
            "azure-shared-access-key",
            secret,
            f"Endpoint=sb://ns{g.digits(3)}.servicebus.windows.net/;"
            f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={secret}",
        )
    for scheme, pattern_id, user, tail in (
        ("postgres", "postgres-url", "app", "@db.internal:5432/app"),
        ("postgresql+asyncpg", "postgres-url", "svc", "@10.0.0.5/orders"),
        ("postgresql", "postgres-url", "report", "@pg.prod.local/reports?sslmode=require"),
        ("mysql", "mysql-url", "root", "@mysql.internal:3306/shop"),
        ("mysql+pymysql", "mysql-url", "web", "@127.0.0.1/web"),
        ("mariadb", "mysql-url", "etl", "@maria.local/etl"),
        ("mongodb+srv", "mongodb-url", "admin", "@cluster0.ab12c.mongodb.net/prod"),
        ("mongodb", "mongodb-url", "reader", "@mongo1:27017,mongo2:27017/app"),
        ("mongodb", "mongodb-url", "svc", "@mongo.internal/users"),
        ("redis", "redis-url", "", "@cache.internal:6379/0"),
        ("rediss", "redis-url", "default", "@redis.cloud:6380"),
        ("redis", "redis-url", "worker", "@10.1.2.3:6379/2"),
        ("amqp", "amqp-url", "guest1", "@rabbit.internal:5672/vhost"),
        ("amqps", "amqp-url", "events", "@mq.cloud/prod"),
        ("amqp", "amqp-url", "celery", "@broker:5672//"),
        ("https", "url-credentials", "deploy", "@git.internal.test/org/repo.git"),
        ("ftp", "url-credentials", "upload", "@files.internal.test/in"),
        ("https", "url-credentials", "ci-bot", "@registry.internal.test/v2/"),
    ):
        secret = g.password().replace("#", "x").replace("?", "x")
        add(pattern_id, secret, f"DATABASE_URL={scheme}://{user}:{secret}{tail}")
    for template in (
        "Authorization: Bearer {s}",
        'headers = {{"Authorization": "Bearer {s}"}}',
        "curl -H 'authorization: bearer {s}' https://api.internal.test",
    ):
        secret = g.alnum(g.rng.randint(24, 60))
        add("http-bearer-token", secret, template.format(s=secret))
    for user in ("admin", "svc-reporting", "ci"):
        secret = base64.b64encode(f"{user}:{g.password()}".encode()).decode()
        add("http-basic-auth", secret, f"Authorization: Basic {secret}")
    for template in (
        'password = "{s}"',
        "DB_PASSWORD={s}",
        '{{"username": "svc", "password": "{s}"}}',
        "smtp:\n  password: {s}\n",
        "mysql --user=root --password={s} shop",
        "$db_passwd = '{s}';",
    ):
        secret = g.password()
        add("generic-password", secret, template.format(s=secret))
    for template in (
        'api_key = "{s}"',
        "SECRET_KEY={s}",
        "client_secret: {s}",
        '{{"access_token": "{s}", "expires_in": 3600}}',
        "X-Api-Key: {s}",
        "const signingKey = '{s}';",
    ):
        secret = g.alnum(g.rng.randint(24, 40))
        add("generic-secret", secret, template.format(s=secret))
    for template in (
        "the value was {s} before the rotation",
        "X-Request-Signature: {s}",
        "cache entry {s} expired",
        "fernet = Fernet(b'{s}')",
    ):
        secret = g.b64url(g.rng.randbytes(32)) if "fernet" in template else g.alnum(44)
        add("high-entropy-string", secret, template.format(s=secret))
    return out


def _pem_cases(g: Gen) -> list[Positive]:
    out: list[Positive] = []
    for pattern_id, label, prefix in (
        ("private-key-rsa", "RSA PRIVATE KEY", "MIIEow"),
        ("private-key-ec", "EC PRIVATE KEY", "MHcCAQEE"),
        ("private-key-dsa", "DSA PRIVATE KEY", "MIIBuw"),
        ("private-key-openssh", "OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAA"),
        ("private-key-pgp", "PGP PRIVATE KEY BLOCK", "lQOYBF"),
        ("private-key-pkcs8", "PRIVATE KEY", "MIIEvQ"),
        ("private-key-encrypted", "ENCRYPTED PRIVATE KEY", "MIIFHz"),
    ):
        for context in (lambda s: f"my key:\n{s}\n", lambda s: f"```\n{s}\n```"):
            secret = _pem(g, label, prefix)
            out.append(Positive(pattern_id, context(secret), secret))
    # A service-account file pasted as JSON: the key sits in a string with escaped newlines.
    secret = _pem(g, "PRIVATE KEY", "MIIEvQ").replace("\n", "\\n")
    out.append(Positive("private-key-pkcs8", f'{{"private_key": "{secret}\\n"}}', secret))
    return out


# Characters a model or a tool does not see, but a pattern would: zero-width, word joiner,
# BOM, soft hyphen, bidi marks, embeddings, overrides and isolates.
INVISIBLES = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def fullwidth(text: str) -> str:
    """ASCII letters, digits and punctuation as their fullwidth forms (NFKC folds them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _obfuscated_cases(g: Gen, tokens: list[tuple[str, str]]) -> list[Positive]:
    """Token secrets disguised: invisible characters inside, fullwidth letters. The
    finding must cover the disguised secret exactly, as the text holds it."""
    out: list[Positive] = []
    for i, (pattern_id, secret) in enumerate(tokens[::4]):
        context = CONTEXTS[i % len(CONTEXTS)]
        cut = g.rng.randint(1, len(secret) - 1)
        hidden = secret[:cut] + g.rng.choice(INVISIBLES) + secret[cut:]
        out.append(Positive(pattern_id, context(hidden), hidden))
        many = "".join(
            c + (g.rng.choice(INVISIBLES) if g.rng.random() < 0.3 else "") for c in secret
        )
        many = many.rstrip(INVISIBLES)
        out.append(Positive(pattern_id, "é " + context(many), many))
        if i % 2 == 0:
            wide = fullwidth(secret[:8]) + secret[8:]
            out.append(Positive(pattern_id, context(wide), wide))
    return out


def build_positives(seed: int = 20240601) -> list[Positive]:
    g = Gen(seed)
    tokens = _token_cases(g)
    out = [
        Positive(pattern_id, CONTEXTS[i % len(CONTEXTS)](secret), secret)
        for i, (pattern_id, secret) in enumerate(tokens)
    ]
    return out + _context_cases(g) + _pem_cases(g) + _obfuscated_cases(g, tokens)


LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat."
)

PLACEHOLDERS = (
    "Set your key: sk-...",
    "export ANTHROPIC_API_KEY=" + _p("sk-", "ant-") + "xxxxxxxx",
    'api_key = "YOUR_API_KEY"',
    "Authorization: Bearer <your-token-here>",
    "OPENAI_API_KEY=${OPENAI_API_KEY}",
    'password = "changeme"',
    'password: "${DB_PASSWORD}"',
    'password = os.environ["DB_PASSWORD"]',
    "password: ${{ secrets.DB_PASSWORD }}",
    "aws_access_key_id = " + _p("AKIA", "IOSFODNN7", "EXAMPLE"),
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + _p("EXAMPLE", "KEY"),
    "token: " + _p("gh", "p_") + "x" * 36,
    "STRIPE_KEY=" + _p("sk", "_live_") + "X" * 24,
    "SLACK_BOT_TOKEN=" + _p("xo", "xb-") + "your-bot-token",
    "api_key: <your-api-key>",
    "DATABASE_URL=postgres://user:password@localhost:5432/mydb",
    "DATABASE_URL=postgres://${DB_USER}:${DB_PASS}@db:5432/app",
    "redis://:<password>@localhost:6379/0",
    "Authorization: Bearer $TOKEN",
    "Authorization: Bearer YOUR_ACCESS_TOKEN",
    "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----\n<paste your key here>\n-----END RSA PRIVATE KEY-----",
    "password: str = Field(..., min_length=12)",
    "def check_password(password: str) -> bool:",
    'token = request.headers.get("Authorization")',
    "api_key=settings.api_key",
    "secret = getpass.getpass()",
    'SECRET_KEY = env("DJANGO_SECRET_KEY")',
    "client_secret: process.env.CLIENT_SECRET",
    'password = "********"',
    "OPENAI_API_KEY=" + _p("sk-", "proj-") + "...",
    "GITHUB_TOKEN=" + _p("gh", "p_") + "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "HF_TOKEN=" + _p("h", "f_") + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    'api_key = "REPLACE_WITH_YOUR_KEY"',
    "password=password123",
    "token: dummy-token-for-tests",
    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "jwt = 'eyJhbGciOiJIUzI1NiJ9.e30.placeholder'",
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
    "export NPM_TOKEN=" + _p("np", "m_") + "0000000000000000000000000000000000000",
)

CODE = (
    "def handle(self, request):\n"
    '    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")\n',
    'payload = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "stop_sequences": []}',
    "input_tokens: 3512\noutput_tokens: 128\n",
    'next_page_token: "eyJvZmZzZXQiOiAxMDAsICJsaW1pdCI6IDUwfQ=="',
    "password_min_length = 12\npassword_reset_url = '/account/reset'\n",
    "Make sure your password is at least 12 characters long.",
    "Reset your password: open the settings page and choose a new one.",
    "The token count: 4096 tokens per request.",
    "secret_santa_assignments = build_pairs(members)",
    "class TokenBucketRateLimiter:\n    def refill(self, now: float) -> None: ...\n",
)


IDENTIFIER_WORDS = (
    "user account settings organization handler request response manager factory "
    "provider service controller repository config default update validate session "
    "client server buffer stream reader writer permission policy audit gateway"
)


def _identifiers(g: Gen) -> list[str]:
    words = IDENTIFIER_WORDS.split()
    out = []
    for i in range(24):
        ws = [g.rng.choice(words) for _ in range(g.rng.randint(5, 8))]
        style = i % 4
        if style == 0:
            name = ws[0] + "".join(w.title() for w in ws[1:])
        elif style == 1:
            name = "_".join(ws)
        elif style == 2:
            name = "".join(w.title() for w in ws) + str(g.rng.randint(2, 99))
        else:
            name = "_".join(ws).upper() + "_V" + str(g.rng.randint(2, 9))
        out.append(f"result = {name}(payload)")
    return out


def _image(g: Gen, signature: bytes, size: int) -> str:
    return base64.b64encode(signature + g.rng.randbytes(size)).decode()


def build_negatives(seed: int = 20240602) -> list[Negative]:
    g = Gen(seed)
    out: list[Negative] = []

    def add(label: str, text: str) -> None:
        out.append(Negative(label, text))

    for _ in range(15):
        add("uuid", f"request id {uuid.UUID(int=g.rng.getrandbits(128), version=4)} failed")
    for _ in range(5):
        ids = "_".join(str(uuid.UUID(int=g.rng.getrandbits(128))) for _ in range(2))
        add("uuid-pair", f"key={ids}")
    for _ in range(10):
        add("git-sha", f"fixed in commit {g.hex(40)} (see also {g.hex(12)})")
    for _ in range(8):
        add("sha256", f"sha256:{g.hex(64)}  dist/bastion-0.1.0.tar.gz")
    for _ in range(2):
        add("sha512-hex", g.hex(128))
    for _ in range(3):
        add("sri", f'"integrity": "sha512-{g.b64bytes(64)}"')
    png = b"\x89PNG\r\n\x1a\n"
    for size in (40, 300, 700, 5000):
        add("data-uri-png", f'<img src="data:image/png;base64,{_image(g, png, size)}">')
    jpeg = b"\xff\xd8\xff\xe0"
    for size in (120, 600):
        add("data-uri-jpeg", f"![photo](data:image/jpeg;base64,{_image(g, jpeg, size)})")
    for size in (200, 500, 20000):
        blob = _image(g, png, size)
        add("image-block", json.dumps({"type": "base64", "media_type": "image/png", "data": blob}))
    add("gif", "data: " + _image(g, b"GIF89a", 400))
    add("pdf", '"data": "' + _image(g, b"%PDF-1.7\n", 600) + '"')
    for i in range(8):
        text = LOREM[i * 10 :] + " " + LOREM[: i * 10]
        add("base64-lorem", f"payload: {base64.b64encode(text.encode()).decode()}")
    for i in range(2):
        doc = json.dumps({"event": "page_view", "path": "/docs", "n": i, "tags": ["a", "b"]})
        add("base64-json", base64.urlsafe_b64encode(doc.encode()).decode())
    for text in _identifiers(g):
        add("identifier", text)
    for i in range(6):
        add("lorem", LOREM[i * 7 :] + " " + LOREM)
    for text in PLACEHOLDERS:
        add("placeholder", text)
    for text in CODE:
        add("code", text)
    for _ in range(3):
        doc_id = g.word(44)
        add("url-path-id", f"see https://docs.google.com/document/d/{doc_id}/edit#heading=h.x")
    add("url", "https://github.com/org/repo/blob/main/src/bastion/infra/governance/scanner/x.py")
    add(
        "path",
        "/home/runner/.cache/huggingface/hub/models--bert-base-uncased/snapshots/" + g.hex(40),
    )
    add("path", "src/bastion/infrastructure/governance/secret_scanner/high_entropy_detection.py")
    add("path", "C:/Users/developer/AppData/Local/Programs/Python/Python311/site-packages")
    cert_body = g.b64bytes(900)
    cert = "\n".join(cert_body[i : i + 64] for i in range(0, len(cert_body), 64))
    add("certificate", f"-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----")
    add("public-key", f"-----BEGIN PUBLIC KEY-----\n{cert[:400]}\n-----END PUBLIC KEY-----")
    add("ssh-public-key", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{g.b64(43)} dev@laptop")
    add("ssh-public-key", f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{g.b64(300)} ci@runner")
    mime = g.b64bytes(400)
    add("mime-block", "\n".join(mime[i : i + 76] for i in range(0, len(mime), 76)))
    add("short-token", "token " + _p("gh", "p_") + g.alnum(20))
    add("short-token", _p("AK", "IA") + g.chars(UPPER_ALNUM, 12))
    add("short-token", _p("sk-", "ant-", "api03-") + g.alnum(12))
    add("short-token", _p("xo", "xb-") + "123-abc")
    add("short-token", _p("sk", "_live_") + g.alnum(10))
    add("number", f"order {g.digits(16)} shipped at {g.digits(10)}")
    add("number", f"call +1 {g.digits(3)} {g.digits(3)} {g.digits(4)}")
    add("version", "python 3.11.7, numpy 1.26.4, torch 2.3.0+cu121")
    add("prose", "The bearer of this letter is authorised to collect the parcel.")
    add("prose", "A basic understanding of cryptography helps when rotating secrets.")
    add("markdown", "| field | type |\n|---|---|\n| password | string |\n| token | string |")
    return out


POSITIVES = build_positives()
NEGATIVES = build_negatives()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "positive" in metafunc.fixturenames:
        ids = [f"{p.pattern_id}-{i}" for i, p in enumerate(POSITIVES)]
        metafunc.parametrize("positive", POSITIVES, ids=ids)
    if "negative" in metafunc.fixturenames:
        ids = [f"{n.label}-{i}" for i, n in enumerate(NEGATIVES)]
        metafunc.parametrize("negative", NEGATIVES, ids=ids)


@pytest.fixture(scope="session")
def positives() -> list[Positive]:
    return POSITIVES


@pytest.fixture(scope="session")
def negatives() -> list[Negative]:
    return NEGATIVES


@pytest.fixture(scope="session")
def scanner() -> SecretScanner:
    return SecretScanner()
