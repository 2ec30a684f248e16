"""Listening sockets: the one the worker processes share, and the serving loop's."""

from __future__ import annotations

import socket

from bastion.runtime.errors import BootError


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0 picks a free port) and listening;
    raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket the workers share; a boot error when it cannot be had."""
    try:
        return listening_socket(host, port)
    except OSError as exc:
        raise BootError("listen", f"cannot listen on {host}:{port}: {exc.strerror}") from None
