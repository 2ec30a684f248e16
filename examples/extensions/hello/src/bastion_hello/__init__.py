"""Hello: the smallest example extension, using nothing but ``bastion.extension``.

It contributes one of each common surface, each the way a core domain does it: a table
with its migration, a typed service (``GREETINGS``, the greeting book its route and its
job share), a router, a job, a role and a config namespace (``hello:``, a top-level
key of the profile).
Install it next to Bastion and it is authenticated, guarded and scheduled like core.
"""

from bastion_hello._config import HelloConfig
from bastion_hello._extension import HelloExtension, prune_old_greetings
from bastion_hello._greetings import GREETINGS, GreetingBook
from bastion_hello._routes import Greeting, GreetingRequest

__all__ = [
    "GREETINGS",
    "Greeting",
    "GreetingBook",
    "GreetingRequest",
    "HelloConfig",
    "HelloExtension",
    "prune_old_greetings",
]
