"""Send one order to a broker exactly once, whatever happened to earlier attempts.

Exactly once rests on the broker, not on our memory: every order of a plan carries a deterministic
``client_order_id`` and the broker refuses a second order with an id it has seen. So

* before every submit the id is looked up at the broker; an order found there is reported, never
  re-sent (a re-run after a crash, a Prefect retry, a second run of the same rebalance);
* a submit whose outcome is unknown (timeout, 5xx after retries) is answered by a lookup; if the
  lookup cannot answer either, a :class:`BrokerUnavailable` propagates and stops the run (the
  adapter has retried; nothing retries on top of it): the re-run starts with a lookup again;
* a duplicate-id refusal is answered by a lookup (the earlier attempt had landed);
* a refusal (4xx) that left nothing at the broker is reported ``rejected``: it is not re-sent by
  this run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from momentum.brokers.base import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    DuplicateOrderError,
    OrderRequest,
    OrderStatus,
)


class Action(StrEnum):
    """What this run did with an order (the ``action`` column of ``executions``)."""

    SUBMITTED = "submitted"  # this run posted it and the broker booked it
    FOUND = "found_at_broker"  # the broker already had the id: not posted again
    REFUSED = "refused"  # this run posted it and the broker refused it (nothing booked)
    NONE = "none"  # not posted (market closed, blocked, kill switch)


_AT_BROKER = "already at the broker"


@dataclass(frozen=True)
class SendOutcome:
    """What :func:`send_once` did with one order: the broker's ``status`` of it (None when the broker holds
    nothing under the id), the :class:`Action` taken and a ``note`` for the trader."""

    status: OrderStatus | None
    action: Action
    note: str


def matches(found: OrderStatus, order: OrderRequest) -> bool:
    """Whether the order the broker holds under our id is the planned one (symbol, side, shares)."""
    if found.symbol != order.symbol or found.side != order.side:
        return False
    if order.qty is not None and found.qty is not None:
        return abs(found.qty - order.qty) <= 1e-6 * max(1.0, abs(order.qty))
    return True


def send_once(broker: Broker, order: OrderRequest, gate: Callable[[], str] | None = None) -> SendOutcome:
    """Submit unless the broker already has this id.

    ``gate`` is asked only for an order the broker does not have yet: a non-empty answer is the
    reason not to send it (action ``none``). None with action ``refused`` means the broker refused
    the order and holds nothing under the id. A :class:`BrokerUnavailable` propagates only when
    neither the submit nor a lookup could tell whether the order is booked: the caller must not
    resubmit without looking it up first (the next attempt starts here, with a lookup).
    """
    existing = broker.get_by_client_id(order.client_order_id)
    if existing is not None:
        return SendOutcome(existing, Action.FOUND, f"{_AT_BROKER} (sent by an earlier run); not sent again")
    reason = gate() if gate is not None else ""
    if reason:
        return SendOutcome(None, Action.NONE, reason)
    try:
        return SendOutcome(broker.submit(order), Action.SUBMITTED, "sent")
    except DuplicateOrderError:
        found = broker.get_by_client_id(order.client_order_id)
        if found is None:
            raise
        return SendOutcome(found, Action.FOUND, f"{_AT_BROKER} (duplicate id refused); not sent again")
    except BrokerUnavailable:
        found = broker.get_by_client_id(order.client_order_id)
        if found is None:
            raise
        return SendOutcome(
            found, Action.SUBMITTED, "sent (outcome confirmed by a lookup after a timeout or server error)"
        )
    except BrokerError as exc:
        # A refusal (4xx) or an answer we could not read: the broker is the judge of what is booked.
        found = broker.get_by_client_id(order.client_order_id)
        if found is not None:
            return SendOutcome(found, Action.SUBMITTED, f"sent (confirmed by a lookup after: {exc})")
        return SendOutcome(None, Action.REFUSED, f"rejected by the broker, nothing booked: {exc}")
