"""The ``admin`` domain: the HTTP admin API at ``/api/v1/admin`` (endpoint class
``admin``), a front end of the typed services the other domains provide and their CLIs
use. Admins reach everything; a tenant admin (role ``tenant-admin``) its own tenant's
users, keys, tokens and audit trail."""

from bastion.domains.admin._access import TENANT_ADMIN_SCOPE, AdminScope, admin_scope
from bastion.domains.admin._extension import BASE_PATH, TENANT_ADMIN_ROLE, AdminExtension
from bastion.domains.admin.errors import ForbiddenError

__all__ = [
    "BASE_PATH",
    "TENANT_ADMIN_ROLE",
    "TENANT_ADMIN_SCOPE",
    "AdminExtension",
    "AdminScope",
    "ForbiddenError",
    "admin_scope",
]
