"""The listening socket that the worker processes share."""

from __future__ import annotations

import socket

from bastion.runtime.errors import BootError


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket the workers share (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise BootError("listen", f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock
