"""Signed handshake-era session ids, and the per-replica record of live sessions."""

from __future__ import annotations

from bastion.domains.mcp._sessions import SessionSigner, SessionTracker


def test_a_session_is_bound_to_its_server_and_principal() -> None:
    signer = SessionSigner("profile-secret")
    token, sid = signer.issue("github", "user:usr_alice", "2025-06-18")
    session = signer.verify(token, "github", "user:usr_alice")
    assert session is not None and (session.id, session.protocol_version) == (sid, "2025-06-18")
    assert "usr_alice" not in token  # the principal is in there only as a hash
    assert signer.verify(token, "jira", "user:usr_alice") is None
    assert signer.verify(token, "github", "user:usr_bob") is None
    assert SessionSigner("other-secret").verify(token, "github", "user:usr_alice") is None


def test_a_tampered_or_malformed_token_is_refused() -> None:
    signer = SessionSigner("s")
    token, _ = signer.issue("github", "key:k1", "2025-11-25")
    payload, mac = token.split(".")
    forged_payload = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    forged_mac = mac[:-1] + ("x" if mac[-1] != "x" else "y")  # always a different MAC
    for bad in (
        f"{forged_payload}.{mac}",
        f"{payload}.{forged_mac}",
        payload,
        "",
        "x" * 600,
        "a.b",
    ):
        assert signer.verify(bad, "github", "key:k1") is None
    assert (
        signer.issue("github", "key:k1", "2025-11-25")[1]
        != signer.issue("github", "key:k1", "2025-11-25")[1]
    )


def test_the_last_session_to_end_releases_the_principal() -> None:
    tracker = SessionTracker()
    tracker.seen("gh", "user:a", "s1")
    tracker.seen("gh", "user:a", "s2")
    tracker.seen("gh", "user:b", "s3")
    assert tracker.end("gh", "user:a", "s1") is False
    assert tracker.terminated("s1") and not tracker.terminated("s2")
    assert tracker.end("gh", "user:a", "s2") is True
    assert tracker.end("gh", "user:b", "s3") is True
    # a session this replica never saw (another replica issued it) still ends cleanly
    assert tracker.end("gh", "user:c", "s9") is True


def test_sessions_left_behind_are_pruned() -> None:
    tracker = SessionTracker()
    tracker.seen("gh", "user:a", "old")
    assert tracker.prune(3600) == 0
    assert tracker.prune(0) == 1
    # pruned: ending it now finds no live session left for the principal
    assert tracker.end("gh", "user:a", "old") is True
