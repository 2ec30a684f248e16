"""The built-in secret patterns.

Each pattern has two regexes. ``find`` is an RE2 locator written to be cheap for a DFA: a
literal prefix or key word, then unbounded character runs rather than large counted
repeats (which multiply DFA states and make adversarial inputs slow). ``shape`` is the
exact form of the secret (lengths, alphabets), checked with ``fullmatch`` on the short
candidate only. An optional ``check`` judges context the regexes cannot: a JWT header that
decodes to JSON, a key name that really names a credential, a value that is a literal.

Formats follow the vendors' documentation and the gitleaks rule set.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from bastion.infra.scanner._assignments import (
    MAX_VALUE,
    PASSWORD_ID,
    SECRET_ID,
    classify_key,
    is_credential_value,
)
from bastion.infra.scanner._entropy import shannon_entropy
from bastion.infra.scanner._finding import Confidence, FindingSource
from bastion.infra.scanner._placeholders import is_placeholder

Check = Callable[[str, int, int, int], tuple[int, int] | None]
"""``check(text, match_start, secret_start, secret_end)``: the secret's span, possibly
adjusted, or None to reject the candidate."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """One detector. ``keep`` leading characters of the secret are a public, fixed prefix
    (``ghp_``, ``sk-ant-api03-``) and stay visible in the redacted preview."""

    id: str
    find: str
    shape: re.Pattern[str] | None = None
    keep: int = 0
    confidence: Confidence = Confidence.HIGH
    check: Check | None = None
    min_entropy: float = 0.0
    max_length: int = 1024
    source: FindingSource = FindingSource.PATTERN
    placeholders: bool = True
    """Reject secrets whose body reads as a placeholder (``xxxx``, ``YOUR_...``)."""
    boundary: bool = False
    """The match must not follow a word character. Checked in Python rather than with a
    leading ``\\b``, which would stop RE2 from scanning for the literal prefix with memchr."""
    route: Route | None = None
    """For patterns sharing one ``find``: which matches this pattern takes (see Route)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Tells apart patterns that share a locator, such as the URL family: ``key`` is
    computed once per match, and the pattern whose ``claims`` holds it takes the match;
    a pattern with ``claims=None`` takes every match no sibling claims."""

    key: Callable[[str, int], str]
    claims: frozenset[str] | None


def _shape(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.ASCII)


def _token(
    id: str,
    find: str,
    shape: str,
    keep: int,
    *,
    confidence: Confidence = Confidence.HIGH,
    min_entropy: float = 0.0,
    check: Check | None = None,
) -> Pattern:
    return Pattern(
        id=id,
        find=find,
        shape=_shape(shape),
        keep=keep,
        confidence=confidence,
        min_entropy=min_entropy,
        check=check,
        boundary=True,
    )


# The operator (with quotes and key-name suffix) and value of ``key = value`` assignments.
_ASSIGN = r"""[\w-]*\\?["']?[ \t]*(?::=|=>|==|[:=])[ \t]*(?:\\?["'`])?"""
_VALUE = r"""(?P<secret>[^\s"'`\\\x00]+)"""
_QUOTES = "\"'`"
_TRAILING = ",;:.)]}>"


def _assignment(kind: str) -> Check:
    def check(text: str, start: int, secret_start: int, secret_end: int) -> tuple[int, int] | None:
        key_start = start
        while key_start and (text[key_start - 1].isalnum() or text[key_start - 1] in "_-"):
            key_start -= 1
        key_end = start
        while key_end < secret_start and (text[key_end].isalnum() or text[key_end] in "_-"):
            key_end += 1
        if classify_key(text[key_start:key_end]) != kind:
            return None
        quote = text[secret_start - 1] if text[secret_start - 1] in _QUOTES else ""
        if quote:
            escaped = secret_start >= 2 and text[secret_start - 2] == "\\"
            closing = "\\" + quote if escaped else quote
            close = text.find(closing, secret_start, secret_start + MAX_VALUE + 2)
            if close != -1 and "\n" not in text[secret_start:close]:
                secret_end = close
        else:
            while secret_end > secret_start and text[secret_end - 1] in _TRAILING:
                secret_end -= 1
        value = text[secret_start:secret_end]
        if not value or not is_credential_value(kind, value, quoted=bool(quote)):
            return None
        return secret_start, secret_end

    return check


# Passwords of documentation URLs (``scott:tiger`` is SQLAlchemy's and Oracle's demo).
_DEMO_PASSWORDS = frozenset({"pass", "pwd", "tiger", "changeme", "guest", "test", "admin"})
_NAMES_A_CREDENTIAL = ("password", "passwd", "secret", "token")


def _is_demo_password(password: str) -> bool:
    lowered = password.lower()
    if lowered in _DEMO_PASSWORDS or any(word in lowered for word in _NAMES_A_CREDENTIAL):
        return True
    return password.startswith(("$", "<", "[", "{", "%")) or "," in password


def _b64url_json(segment: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError):
        return None


def _jwt(text: str, start: int, secret_start: int, secret_end: int) -> tuple[int, int] | None:
    header = _b64url_json(text[secret_start:secret_end].split(".", 1)[0])
    if isinstance(header, dict) and ("alg" in header or "typ" in header):
        return secret_start, secret_end
    return None


def _basic_auth(
    text: str, start: int, secret_start: int, secret_end: int
) -> tuple[int, int] | None:
    token = text[secret_start:secret_end]
    try:
        stripped = token.rstrip("=")
        decoded = base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
        user, sep, password = decoded.decode("ascii").partition(":")
    except (binascii.Error, ValueError):
        return None
    if not (sep and user and password.isprintable() and user.isprintable()):
        return None
    if len(password) < 4 or _is_demo_password(password):
        return None
    return secret_start, secret_end


def _bearer(text: str, start: int, secret_start: int, secret_end: int) -> tuple[int, int] | None:
    token = text[secret_start:secret_end]
    has_digit = any(char.isdigit() for char in token)
    if not has_digit or shannon_entropy(token) < 3.0 or is_placeholder(token):
        return None
    return secret_start, secret_end


def _context(
    id: str,
    find: str,
    shape: str,
    *,
    keep: int = 0,
    confidence: Confidence = Confidence.MEDIUM,
    check: Check | None = None,
    boundary: bool = False,
) -> Pattern:
    return Pattern(
        id=id,
        find=find,
        shape=_shape(shape),
        keep=keep,
        confidence=confidence,
        check=check,
        boundary=boundary,
    )


# Escaped newlines (a key inside a JSON string) and anything outside the base64 alphabet.
_PEM_NOISE = re.compile(r"\\[nr]|[^A-Za-z0-9+/=]")


def _pem_body(text: str, start: int, secret_start: int, secret_end: int) -> tuple[int, int] | None:
    block = text[secret_start:secret_end]
    body_start = block.index("-----", 5) + 5
    footer = block.find("-----END", body_start)
    body = _PEM_NOISE.sub("", block[body_start : footer if footer != -1 else None])
    # Real key material uses most of the base64 alphabet; "xxxx..." filler does not. Runs
    # such as "AAAAA" are normal here (zero bytes), so the generic placeholder rule is off.
    if len(body) < 64 or len(set(body)) < 24:
        return None
    return secret_start, secret_end


def _pem(id: str, label: str) -> Pattern:
    header = f"-----BEGIN {label}-----"
    body = r"(?:[A-Za-z0-9+/=\s\\:,]|-[A-Za-z0-9])*"
    return Pattern(
        id=id,
        find=re.escape(header) + body + f"(?:-----END {label}-----)?",
        keep=len(header),
        check=_pem_body,
        max_length=65536,
        placeholders=False,
    )


# One locator for every URL with a password, anchored on "://" so RE2 can skip to it
# with memchr; the scheme before it routes each match to its pattern.
_URL_WITH_PASSWORD = r"""://[^\s:@/"'<>\x00]*:(?P<secret>[^\s@/"'<>\x00]+)@[^\s/"'<>\x00?#]+"""
_SCHEME_TAIL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*\Z")
_DATABASE_SCHEMES: dict[str, frozenset[str]] = {
    "postgres-url": frozenset({"postgres", "postgresql"}),
    "mysql-url": frozenset({"mysql", "mariadb"}),
    "mongodb-url": frozenset({"mongodb"}),
    "redis-url": frozenset({"redis", "rediss"}),
    "amqp-url": frozenset({"amqp", "amqps"}),
}


def _scheme(text: str, end: int) -> str:
    """The URL scheme ending at ``end``, lower-cased, without ``+driver`` or ``+srv``."""
    match = _SCHEME_TAIL.search(text, max(0, end - 32), end)
    return match.group().lower().split("+", 1)[0] if match else ""


def _url_password(
    text: str, start: int, secret_start: int, secret_end: int
) -> tuple[int, int] | None:
    if not _scheme(text, start) or _is_demo_password(text[secret_start:secret_end]):
        return None
    return secret_start, secret_end


def _url(id: str) -> Pattern:
    """A URL carrying a password: database ids claim their schemes, ``url-credentials``
    takes every other scheme."""
    return Pattern(
        id=id,
        find=_URL_WITH_PASSWORD,
        shape=_shape(r"[^\s@/]{1,256}"),
        confidence=Confidence.MEDIUM,
        check=_url_password,
        route=Route(_scheme, _DATABASE_SCHEMES.get(id)),
    )


BUILTIN_PATTERNS: tuple[Pattern, ...] = (
    # Private keys come first: on overlap, earlier patterns win ties.
    _pem("private-key-rsa", "RSA PRIVATE KEY"),
    _pem("private-key-ec", "EC PRIVATE KEY"),
    _pem("private-key-dsa", "DSA PRIVATE KEY"),
    _pem("private-key-openssh", "OPENSSH PRIVATE KEY"),
    _pem("private-key-pgp", "PGP PRIVATE KEY BLOCK"),
    _pem("private-key-pkcs8", "PRIVATE KEY"),
    _pem("private-key-encrypted", "ENCRYPTED PRIVATE KEY"),
    # AWS
    _token(
        "aws-access-key-id",
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])\w+",
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}",
        4,
    ),
    _context(
        "aws-secret-access-key",
        r"(?i:aws[\w-]*secret|secret[_-]?access[_-]?key)"
        + _ASSIGN
        + r"(?P<secret>[A-Za-z0-9/+=]+)",
        r"[A-Za-z0-9/+]{40}",
        keep=4,
        confidence=Confidence.HIGH,
    ),
    _context(
        "aws-session-token",
        r"(?i:session[_-]?token|security[_-]?token)" + _ASSIGN + r"(?P<secret>[A-Za-z0-9/+=]+)",
        r"[A-Za-z0-9/+]{100,2048}={0,2}",
        keep=4,
    ),
    # GitHub
    _token("github-pat", r"ghp_\w+", r"ghp_[A-Za-z0-9]{36}", 4),
    _token(
        "github-fine-grained-pat",
        r"github_pat_\w+",
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        11,
    ),
    _token("github-oauth-token", r"gho_\w+", r"gho_[A-Za-z0-9]{36}", 4),
    _token("github-app-user-token", r"ghu_\w+", r"ghu_[A-Za-z0-9]{36}", 4),
    _token("github-app-installation-token", r"ghs_\w+", r"ghs_[A-Za-z0-9]{36}", 4),
    _token("github-app-refresh-token", r"ghr_\w+", r"ghr_[A-Za-z0-9]{36}", 4),
    # GitLab
    _token(
        "gitlab-pat",
        r"glpat-[\w-]+(?:\.[0-9a-z]+)?",
        r"glpat-[\w-]{20}|glpat-[\w-]{27,300}\.[0-9a-z]{9}",
        6,
        min_entropy=3.0,
    ),
    _token("gitlab-pipeline-trigger-token", r"glptt-\w+", r"glptt-[0-9a-f]{40}", 6),
    _token(
        "gitlab-runner-token",
        r"(?:glrt-[\w-]+(?:\.[0-9a-z]+)?|GR1348941[\w-]+)",
        r"glrt-[\w-]{20}|glrt-[\w-]{27,300}\.[0-9a-z]{9}|GR1348941[\w-]{20}",
        4,
        min_entropy=3.0,
    ),
    _token("gitlab-deploy-token", r"gldt-[\w-]+", r"gldt-[\w-]{20,64}", 5, min_entropy=3.0),
    _token(
        "gitlab-token",
        r"gl(?:cbt|ft|imt|agent|oas|soat|ffct)-[\w-]+",
        r"glcbt-[0-9A-Za-z]{1,5}_[\w-]{20}|glft-[\w-]{20}|glimt-[\w-]{25}|glagent-[\w-]{50}"
        r"|gloas-[\w-]{64}|glsoat-[\w-]{20}|glffct-[\w-]{20}",
        4,
        min_entropy=3.0,
    ),
    # Slack
    _token(
        "slack-bot-token",
        r"xoxb-[\w-]+",
        r"xoxb-[0-9]{8,14}-(?:[0-9]{8,14}-)?[A-Za-z0-9]{18,48}",
        5,
    ),
    _token(
        "slack-user-token",
        r"xox[pe]-[\w-]+",
        r"xox[pe](?:-[0-9]{8,14}){3}-[A-Za-z0-9]{28,34}",
        5,
    ),
    _token(
        "slack-app-token",
        r"xapp-[\w-]+",
        r"xapp-\d-[A-Za-z0-9]{8,16}-\d{8,16}-[A-Za-z0-9]{32,80}",
        5,
    ),
    _token(
        "slack-legacy-token",
        r"xox[aors]-[\w-]+",
        r"xox[os]-\d{6,14}-\d{6,14}-\d{6,14}-[a-fA-F0-9]{10,64}|xox[ar]-\d-[0-9A-Za-z-]{20,150}",
        5,
    ),
    _context(
        "slack-webhook-url",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/]+)",
        r"[A-Za-z0-9+/]{43,56}",
        confidence=Confidence.HIGH,
    ),
    # Stripe
    _token(
        "stripe-secret-key", r"sk_(?:live|test)_\w+", r"sk_(?:live|test)_[0-9A-Za-z]{24,247}", 8
    ),
    _token(
        "stripe-restricted-key",
        r"rk_(?:live|test)_\w+",
        r"rk_(?:live|test)_[0-9A-Za-z]{24,247}",
        8,
    ),
    _token("stripe-webhook-secret", r"whsec_\w+", r"whsec_[A-Za-z0-9]{32,88}", 6),
    # Google
    _token("google-api-key", r"AIza[\w-]+", r"AIza[\w-]{35}", 4),
    _token("google-oauth-client-secret", r"GOCSPX-[\w-]+", r"GOCSPX-[\w-]{28}", 7),
    _token("google-oauth-access-token", r"ya29\.[\w-]+", r"ya29\.[\w-]{30,2048}", 5),
    _context(
        "gcp-service-account-key",
        r"""\\?"private_key_id\\?"[ \t]*:[ \t]*\\?"(?P<secret>[0-9a-f]+)""",
        r"[0-9a-f]{40}",
        confidence=Confidence.HIGH,
    ),
    # Anthropic
    _token("anthropic-api-key", r"sk-ant-api\d+-[\w-]+", r"sk-ant-api\d\d-[\w-]{80,120}", 13),
    _token(
        "anthropic-admin-key",
        r"sk-ant-admin\d+-[\w-]+",
        r"sk-ant-admin\d\d-[\w-]{80,120}",
        15,
    ),
    _token(
        "anthropic-oauth-token",
        r"sk-ant-o(?:at|rt)\d+-[\w-]+",
        r"sk-ant-o(?:at|rt)\d\d-[\w-]{40,300}",
        13,
    ),
    # OpenAI
    _token("openai-project-key", r"sk-proj-[\w-]+", r"sk-proj-[\w-]{40,300}", 8, min_entropy=3.5),
    _token(
        "openai-service-account-key",
        r"sk-svcacct-[\w-]+",
        r"sk-svcacct-[\w-]{40,300}",
        11,
        min_entropy=3.5,
    ),
    _token("openai-admin-key", r"sk-admin-[\w-]+", r"sk-admin-[\w-]{40,300}", 9, min_entropy=3.5),
    _token("openai-api-key", r"sk-\w+", r"sk-[A-Za-z0-9]{48}", 3),
    # Hugging Face, npm, PyPI
    _token("huggingface-token", r"hf_\w+", r"hf_[A-Za-z0-9]{34,40}", 3),
    _token("huggingface-org-token", r"api_org_\w+", r"api_org_[A-Za-z0-9]{34}", 8),
    _token("npm-token", r"npm_\w+", r"npm_[A-Za-z0-9]{36}", 4),
    _token(
        "pypi-token",
        r"pypi-AgE[\w-]+",
        r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[\w-]{50,}",
        5,
    ),
    # Messaging and e-mail
    _token("twilio-api-key", r"SK\w+", r"SK[0-9a-fA-F]{32}", 2),
    _context(
        "twilio-auth-token",
        r"(?i:twilio[\w-]*(?:token|secret))" + _ASSIGN + r"(?P<secret>\w+)",
        r"[0-9a-f]{32}",
    ),
    _token("sendgrid-api-key", r"SG\.[\w-]+\.[\w-]+", r"SG\.[\w-]{22}\.[\w-]{43}", 3),
    _token(
        "mailgun-api-key",
        r"(?:key-\w+|[0-9a-f]{32}-[0-9a-f]+-[0-9a-f]+)",
        r"key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}",
        0,
    ),
    # Platforms
    _token("heroku-api-key", r"HRKU-AA[\w-]+", r"HRKU-AA[\w-]{58}", 7),
    _context(
        "heroku-api-key-legacy",
        r"(?i:heroku[\w-]*(?:key|token|secret))" + _ASSIGN + r"(?P<secret>[\w-]+)",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    ),
    _context(
        "azure-storage-account-key",
        r"(?i:AccountKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/=]+)",
        r"[A-Za-z0-9+/]{86}==",
        confidence=Confidence.HIGH,
    ),
    _context(
        "azure-shared-access-key",
        r"(?i:SharedAccessKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/=]+)",
        r"[A-Za-z0-9+/]{43}=",
        confidence=Confidence.HIGH,
    ),
    _token("databricks-token", r"dapi[0-9a-f]+(?:-\d)?", r"dapi[0-9a-f]{32}(?:-\d)?", 4),
    # Tokens recognised by structure or context
    Pattern(
        id="jwt",
        find=r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+",
        shape=_shape(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}"),
        keep=3,
        confidence=Confidence.MEDIUM,
        check=_jwt,
        max_length=16384,
        boundary=True,
    ),
    _url("postgres-url"),
    _url("mysql-url"),
    _url("mongodb-url"),
    _url("redis-url"),
    _url("amqp-url"),
    _url("url-credentials"),
    _context(
        "http-bearer-token",
        r"(?i:bearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)",
        r"[A-Za-z0-9._~+/-]{20,4096}=*",
        check=_bearer,
    ),
    _context(
        "http-basic-auth",
        r"(?i:basic)[ \t]+(?P<secret>[A-Za-z0-9+/]+=*)",
        r"[A-Za-z0-9+/]{8,1024}={0,2}",
        check=_basic_auth,
    ),
    Pattern(
        id=PASSWORD_ID,
        find=r"(?i:password|passwd|passphrase|pwd)" + _ASSIGN + _VALUE,
        keep=0,
        confidence=Confidence.MEDIUM,
        check=_assignment(PASSWORD_ID),
    ),
    Pattern(
        id=SECRET_ID,
        find=r"(?i:secret|token|api[_-]?key|apikey|(?:private|signing|encryption|master)[_-]?key"
        r"|credential)" + _ASSIGN + _VALUE,
        keep=0,
        confidence=Confidence.MEDIUM,
        check=_assignment(SECRET_ID),
    ),
)
