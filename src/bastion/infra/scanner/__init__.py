"""The secret scanner: finds credentials in prompts, tool calls and JSON, and redacts them.

>>> scanner = SecretScanner()
>>> [f.pattern_id for f in scanner.scan_text("key: AKIA" + "Q3ZL7TXJ2KRV6M4W")]
['aws-access-key-id']
>>> scanner.redact_text("my key AKIA" + "Q3ZL7TXJ2KRV6M4W")[0]
'my key AKIA[REDACTED:aws-access-key-id]'

``scan_text`` and ``scan_json`` return :class:`Finding` objects (pattern id, JSON path,
offsets, a redacted preview, confidence, source) and never the secret itself;
``redact_text`` and ``redact_json`` also return a redacted copy. ``pattern_ids()`` lists
what a scanner reports. :class:`ScannerSettings` is the profile block: extra patterns,
allowlists, disabled ids and entropy tuning.

Detection combines vendor formats (AWS, GitHub, GitLab, Slack, Stripe, Google and GCP,
Anthropic, OpenAI, Hugging Face, npm, PyPI, Twilio, SendGrid, Mailgun, Heroku, Azure,
Databricks), PEM private keys, JWTs, database and other URLs with passwords, HTTP
``Bearer``/``Basic`` credentials, generic ``password = ...`` / ``api_key: ...``
assignments (and JSON members so named), and a Shannon-entropy check for long random
tokens. Obvious placeholders (``sk-...``, ``YOUR_API_KEY``, ``<your-token-here>``,
``${TOKEN}``, ``password = "changeme"``) are deliberately not reported. All matching is
RE2, linear in the input; every regex compiles when the scanner is built, and a
profile regex may compile to at most ``MAX_PROGRAM_SIZE`` RE2 instructions. Text is
matched after ``normalise`` (invisible characters removed, NFKC), findings reported on
the original text.
"""

from bastion.infra.scanner._exceptions import PatternError, ScannerError
from bastion.infra.scanner._finding import Confidence, Finding, FindingSource
from bastion.infra.scanner._json import Strings as JsonStrings
from bastion.infra.scanner._json import strings as collect_strings
from bastion.infra.scanner._json import texts as json_strings
from bastion.infra.scanner._normalise import normalise
from bastion.infra.scanner._regex import MAX_PROGRAM_SIZE
from bastion.infra.scanner._scanner import SecretScanner
from bastion.infra.scanner._settings import (
    EntropySettings,
    ExtraPattern,
    ScannerSettings,
)

__all__ = [
    "MAX_PROGRAM_SIZE",
    "Confidence",
    "EntropySettings",
    "ExtraPattern",
    "Finding",
    "FindingSource",
    "JsonStrings",
    "PatternError",
    "ScannerError",
    "ScannerSettings",
    "SecretScanner",
    "collect_strings",
    "json_strings",
    "normalise",
]
