"""Helpdesk: an example extension that uses nothing but ``bastion.extension``.

People file support tickets (``POST /api/v1/helpdesk/tickets``); before a ticket is
stored, its text goes through the governance chain, as a prompt does on its way to a
model, because people paste credentials into tickets. Operators triage from the command
line (``bastion helpdesk list``, ``bastion helpdesk close``). Each part is the surface a
core domain uses for it: a typed service it provides (``TICKETS``) and one it requires
(``GOVERNANCE``), a config namespace (``helpdesk:``, a top-level key of the profile), a
governed route, a table with its migration, and a ``cli()`` app.
"""

from bastion_helpdesk._config import HelpdeskConfig
from bastion_helpdesk._desk import TICKETS, TicketDesk
from bastion_helpdesk._extension import HelpdeskExtension
from bastion_helpdesk._models import NewTicket, Ticket
from bastion_helpdesk._routes import OPEN_TICKET
from bastion_helpdesk.errors import (
    HelpdeskError,
    TicketAlreadyClosed,
    TicketNotFound,
    TooManyOpenTickets,
    UnknownCategory,
)

__all__ = [
    "OPEN_TICKET",
    "TICKETS",
    "HelpdeskConfig",
    "HelpdeskError",
    "HelpdeskExtension",
    "NewTicket",
    "Ticket",
    "TicketAlreadyClosed",
    "TicketDesk",
    "TicketNotFound",
    "TooManyOpenTickets",
    "UnknownCategory",
]
