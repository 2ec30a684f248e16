"""Test support: profiles on disk and a real Bastion server on loopback."""

from tests.support.ports import free_port
from tests.support.profiles import write_profile
from tests.support.server import ServerThread, running_server

__all__ = ["ServerThread", "free_port", "running_server", "write_profile"]
