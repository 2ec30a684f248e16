"""What the ticket desk refuses.

HelpdeskError
├── UnknownCategory       a category the profile does not list (HTTP 400)
├── TooManyOpenTickets    the caller already has ``max_open_per_user`` open (HTTP 409)
├── TicketNotFound        no ticket has that id (the CLI's ``close``)
└── TicketAlreadyClosed   the ticket is closed already (the CLI's ``close``)
"""

from __future__ import annotations

from collections.abc import Sequence


class HelpdeskError(Exception):
    """A request the desk refuses; its text is the one line the caller sees."""


class UnknownCategory(HelpdeskError):
    def __init__(self, category: str, known: Sequence[str]) -> None:
        super().__init__(f"category: '{category}' is not one of {', '.join(known)}")


class TooManyOpenTickets(HelpdeskError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"you have {limit} open tickets, the most allowed; wait for one to be closed"
        )


class TicketNotFound(HelpdeskError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"no ticket '{ticket_id}'")


class TicketAlreadyClosed(HelpdeskError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket '{ticket_id}' is already closed")
