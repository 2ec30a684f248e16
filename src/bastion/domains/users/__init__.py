"""The ``users`` domain: accounts with a role and a tenant."""

from bastion.domains.users._extension import UsersExtension
from bastion.domains.users._repository import User, UserExistsError, UserRepository

__all__ = ["User", "UserExistsError", "UserRepository", "UsersExtension"]
