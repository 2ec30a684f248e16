"""The secret scanner: finds credentials in prompts, tool calls and JSON, and redacts them.

>>> scanner = SecretScanner()
>>> [f.pattern_id for f in scanner.scan_text("key: AKIA" + "Q3ZL7TXJ2KRV6M4W")]
['aws-access-key-id']

Detection combines vendor formats (AWS, GitHub, GitLab, Slack, Stripe, Google, Anthropic,
OpenAI, Hugging Face, npm, PyPI, Twilio, SendGrid, Mailgun, Heroku, Azure, Databricks),
PEM private keys, JWTs, database and other URLs with passwords, HTTP credentials, generic
``password = ...`` / ``api_key: ...`` assignments and a Shannon-entropy check for long
random tokens. Obvious placeholders (``sk-...``, ``YOUR_API_KEY``, ``${TOKEN}``) are not
reported. All matching is RE2, linear in the input.
"""

from bastion.infra.governance.scanner._exceptions import PatternError, ScannerError
from bastion.infra.governance.scanner._finding import Confidence, Finding, FindingSource
from bastion.infra.governance.scanner._scanner import SecretScanner
from bastion.infra.governance.scanner._settings import (
    EntropySettings,
    ExtraPattern,
    ScannerSettings,
)

__all__ = [
    "Confidence",
    "EntropySettings",
    "ExtraPattern",
    "Finding",
    "FindingSource",
    "PatternError",
    "ScannerError",
    "ScannerSettings",
    "SecretScanner",
]
