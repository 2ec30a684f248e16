"""The entropy check: long random-looking tokens that no pattern recognises.

A candidate is a run of base64/base64url characters at least ``min_length`` long, found by
one RE2 pass. It is reported only if it is random-looking (Shannon entropy at or above the
threshold, letters and digits mixed, not made of words) and is none of the things that are
random-looking but harmless:

- UUIDs and hex digests (git SHAs, sha256): hex digits and separators only;
- base64 of plain text or JSON: its decoded head is printable text;
- images, documents, audio and archives: ``data:`` URIs, or a decoded head that starts with
  a known file signature, and anything longer than ``max_length`` (a payload, not a key);
- public PEM blocks (certificates, public keys), SSH public keys, subresource-integrity
  hashes (``sha512-...``) and multi-line base64 blocks (MIME bodies, wrapped payloads);
- code identifiers and file paths (``/`` separated segments are judged one by one);
- segments of a URL path (resource ids such as document ids); URL query values are checked.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import math
import re
import string
from collections import Counter
from collections.abc import Iterator, Sequence

from bastion.infra.scanner._placeholders import is_placeholder
from bastion.infra.scanner._regex import Regex

ENTROPY_ID = "high-entropy-string"

_PUBLIC_PEM = frozenset(
    {
        "CERTIFICATE",
        "TRUSTED CERTIFICATE",
        "X509 CRL",
        "CERTIFICATE REQUEST",
        "NEW CERTIFICATE REQUEST",
        "PUBLIC KEY",
        "RSA PUBLIC KEY",
        "PGP PUBLIC KEY BLOCK",
        "PGP SIGNATURE",
        "PGP MESSAGE",
        "SSH2 PUBLIC KEY",
        "DH PARAMETERS",
        "EC PARAMETERS",
    }
)
_PEM_LOOKBACK = 16384
_SSH_PUBLIC_KEY = re.compile(
    r"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) \Z"
)
_SRI = re.compile(r"sha(?:1|256|384|512)-")
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/]{60,}={0,2}\r?")

_HEX_LIKE = re.compile(r"[0-9a-fA-F_-]+")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[A-Z]?[a-z]{3,}|[A-Z]{4,}(?![a-z])")
_SEPARATORS = re.compile(r"[_\-/+]")
_PLAIN_SEGMENT = re.compile(r"[A-Z]*[a-z]*[0-9]*[a-z]*[0-9]*")
_HEX_SEGMENT = re.compile(r"g?[0-9a-fA-F]+")
_PATH_SEGMENT = re.compile(r"[a-z][a-z0-9_-]{2,}")
_B64 = re.compile(r"[A-Za-z0-9+/]+")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_URL_BREAK = re.compile(r"[\s\"'`<>()\[\]{},;|\x00]")
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "+/_-")

_SIGNATURES = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"RIFF",
    b"%PDF",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"ID3",
    b"OggS",
    b"fLaC",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"\x00\x00\x00",
    b"<svg",
    b"<?xml",
)
_MAX_WORDINESS = 0.6
_URL_LOOKBACK = 2048
_HEAD = 256


_XLOGX = tuple(n * math.log2(n) if n else 0.0 for n in range(4097))


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    size = len(value)
    if not size:
        return 0.0
    counts = Counter(value).values()
    if size < len(_XLOGX):
        total = sum(map(_XLOGX.__getitem__, counts))
    else:
        total = sum(n * math.log2(n) for n in counts)
    return math.log2(size) - total / size


def _decoded_head(token: str) -> bytes | None:
    """The first bytes ``token`` decodes to, if it is base64 or base64url, else None."""
    body = token.rstrip("=")
    if len(body) < 8:
        return None
    if _B64.fullmatch(body):
        altchars = None
    elif _B64URL.fullmatch(body):
        altchars = b"-_"
    else:
        return None
    head = body[: _HEAD - _HEAD % 4] if len(body) > _HEAD else body
    head = head[: len(head) - len(head) % 4] if len(head) % 4 == 1 else head
    head += "=" * (-len(head) % 4)
    try:
        return base64.b64decode(head, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_text(raw: bytes) -> bool:
    if not raw:
        return False
    printable = sum(1 for byte in raw if 32 <= byte < 127 or byte in (9, 10, 13))
    if printable < 0.95 * len(raw):
        return False
    return b" " in raw or b"\n" in raw or raw[:1] in (b"{", b"[", b"<")


def _is_media(raw: bytes) -> bool:
    return raw.startswith(_SIGNATURES) or raw[4:8] == b"ftyp"


def decodes_to_text(token: str) -> bool:
    """True when ``token`` is base64 of printable text (prose, JSON, markup)."""
    head = _decoded_head(token)
    return head is not None and _is_text(head)


def wordiness(token: str) -> float:
    """Share of ``token`` that reads as words: camelCase runs, or separator-delimited
    segments that are plain words, CONSTANTS, numbers, versions (``TLSv1``, ``ed25519``)
    or hex (the parts of GUIDs and ``git describe`` names)."""
    words = sum(map(len, _WORD.findall(token)))
    if _SEPARATORS.search(token):
        plain = sum(
            len(segment)
            for segment in _SEPARATORS.split(token)
            if len(segment) >= 2
            and (_PLAIN_SEGMENT.fullmatch(segment) or _HEX_SEGMENT.fullmatch(segment))
        )
        words = max(words, plain)
    return words / len(token)


def looks_random(token: str, threshold: float) -> bool:
    """Whether ``token`` reads as a random credential rather than an id, a name or data."""
    body = token.rstrip("=")
    if not (_DIGIT.search(body) and _LETTER.search(body)):
        return False
    if _HEX_LIKE.fullmatch(body) or wordiness(body) >= _MAX_WORDINESS:
        return False
    if shannon_entropy(body) < threshold:
        return False
    head = _decoded_head(body)
    if head is not None and (_is_text(head) or _is_media(head)):
        return False
    return not is_placeholder(body)


def _in_url_path(text: str, start: int) -> bool:
    """True when the token at ``start`` lies in a URL but is not a query or fragment value."""
    if start and text[start - 1] == "=":
        return False
    scheme_end = text.rfind("://", max(0, start - _URL_LOOKBACK), start)
    return scheme_end != -1 and _URL_BREAK.search(text, scheme_end, start) is None


def _is_data(text: str, start: int, end: int, token: str) -> bool:
    """Public or payload base64: a ``data:`` URI, an SSH public key, an SRI hash, the body
    of a public PEM block (certificate, public key) or a multi-line base64 block."""
    if _SRI.match(token):
        return True
    before = text[max(0, start - 48) : start]
    if before.endswith("base64,") or _SSH_PUBLIC_KEY.search(before):
        return True
    begin = text.rfind("-----BEGIN ", max(0, start - _PEM_LOOKBACK), start)
    if begin != -1:
        label_end = text.find("-----", begin + 11, start)
        if (
            label_end != -1
            and text[begin + 11 : label_end] in _PUBLIC_PEM
            and text.find("-----END", label_end, start) == -1
        ):
            return True
    if end - start < 60:
        return False
    newline = 1 if text.startswith("\n", end) else 2 if text.startswith("\r\n", end) else 0
    if newline and _BASE64_LINE.match(text, end + newline):
        return True
    if start and text[start - 1] == "\n":
        line_start = text.rfind("\n", 0, start - 1) + 1
        if _BASE64_LINE.fullmatch(text, line_start, start - 1):
            return True
    return False


def _is_path(token: str) -> bool:
    if token.startswith("/"):
        return True
    segments = [segment for segment in token.split("/") if segment]
    return sum(1 for segment in segments if _PATH_SEGMENT.fullmatch(segment)) >= 2


def _token_regex(length: int) -> str:
    """Runs of at least ``length`` base64/base64url characters with at least one character
    that is not a hex digit or separator.

    Requiring the non-hex character inside the regex keeps UUIDs, git SHAs and digests,
    the bulk of long tokens in real prompts, in RE2's DFA instead of handing each to
    Python. Alternative ``k`` matches runs whose first non-hex character is at ``k``. Each
    match starts at the start of the text or with the character before the run, so only
    one candidate is alive per run: left unanchored, a thread would start at every position
    of a long run and the DFA would thrash on random text.
    """
    token, hexlike, other = "[A-Za-z0-9+/_-]", "[0-9a-fA-F_-]", "[g-zG-Z+/]"
    alternatives = [f"{hexlike}{{{k}}}{other}{token}{{{length - 1 - k},}}" for k in range(length)]
    alternatives.append(f"{hexlike}{{{length},}}{other}{token}*")
    return "(?:^|[^A-Za-z0-9+/_-])(?:" + "|".join(alternatives) + ")={0,2}"


class EntropyDetector:
    """Finds random-looking tokens in one RE2 pass plus cheap checks on each candidate."""

    __slots__ = ("_max_length", "_min_length", "_regex", "_threshold", "locator")

    def __init__(self, *, min_length: int, max_length: int, threshold: float) -> None:
        self.locator = _token_regex(min_length)
        """The candidates' regex, for a set prefilter to tell whether ``find`` can yield."""
        self._regex = Regex(self.locator)
        self._min_length = min_length
        self._max_length = max_length
        self._threshold = threshold

    def find(
        self, text: str, data: bytes, taken: Sequence[tuple[int, int]] = ()
    ) -> Iterator[tuple[int, int]]:
        """Spans of random-looking tokens. ``data`` is ``text`` as one byte per character;
        candidates overlapping a ``taken`` span (found by a pattern, sorted by start, possibly
        nested) are not judged at all."""
        starts = [span[0] for span in taken]
        reach = list(itertools.accumulate((span[1] for span in taken), max))
        for start, end, _, _ in self._regex.spans(data):
            if text[start] not in _TOKEN_CHARS:
                start += 1
            if end - start > self._max_length:
                continue
            at = bisect.bisect_left(starts, end)
            if at and reach[at - 1] > start:
                continue
            token = text[start:end]
            if _is_data(text, start, end, token) or _in_url_path(text, start):
                continue
            if "/" in token and _is_path(token):
                yield from self._segments(token, start)
            elif looks_random(token, self._threshold):
                yield start, end

    def _segments(self, token: str, offset: int) -> Iterator[tuple[int, int]]:
        position = 0
        for segment in token.split("/"):
            if len(segment) >= self._min_length and looks_random(segment, self._threshold):
                yield offset + position, offset + position + len(segment)
            position += len(segment) + 1
