"""``momentum automations``: the automation that notifies on a failed or crashed momentum flow run and,
with ``--trades``, the one that announces every executed rebalance."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional, cast
from uuid import UUID

import typer

from momentum_cli.local_stack import FLOW

if TYPE_CHECKING:
    from prefect.automations import EventTrigger, SendNotification
    from prefect.blocks.notifications import NotificationBlock

AUTOMATION = "momentum-run-failed"
NOTIFY_BLOCK = "momentum-failure"
TRADES_AUTOMATION = "momentum-rebalance-executed"
TRADES_BLOCK = "momentum-trades"


def automations(
    webhook_url: str = typer.Option(
        ...,
        "--webhook-url",
        envvar="MOMENTUM_NOTIFY_WEBHOOK_URL",
        help="Where to send the notification (a Slack incoming webhook with --slack)",
    ),
    slack: bool = typer.Option(False, "--slack", help="The URL is a Slack incoming webhook"),
    deployment: Optional[str] = typer.Option(
        None,
        "--deployment",
        help="Only runs of this deployment (name, e.g. daily); default: every run of the rebalance flow",
    ),
    trades: bool = typer.Option(
        False,
        "--trades",
        help="Also announce every executed rebalance (orders, portfolio, cash, shortfall, run link)",
    ),
) -> None:
    """Create (or replace) the automation that notifies on a failed or crashed momentum flow run and,
    with --trades, the one that announces every executed rebalance to the same URL.

    Uses the Prefect API of PREFECT_API_URL (Prefect server or Cloud). The notification block is saved
    as "momentum-failure"; the automation is "momentum-run-failed". With --trades also the block
    "momentum-trades" and the automation "momentum-rebalance-executed" (their ids under "trades").
    """
    info = create_failure_automation(webhook_url, slack=slack, deployment=deployment)
    if trades:
        info["trades"] = create_trade_automation(webhook_url, slack=slack, deployment=deployment)
    typer.echo(json.dumps(info))


def create_failure_automation(
    webhook_url: str, *, slack: bool = False, deployment: str | None = None
) -> dict:
    """The notification block and the automation: on ``prefect.flow-run.Failed`` or ``.Crashed`` of the
    rebalance flow (optionally one deployment), send subject and body through the block."""
    block_id = _save_block(NOTIFY_BLOCK, webhook_url, slack)
    trigger = _run_trigger({"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}, deployment)
    description = "Notify when a momentum flow run fails or crashes"
    return _replace_automation(AUTOMATION, description, trigger, _notification(block_id)) | {
        "block": NOTIFY_BLOCK,
        "block_id": str(block_id),
    }


def create_trade_automation(webhook_url: str, *, slack: bool = False, deployment: str | None = None) -> dict:
    """The notification block and the automation: on ``momentum.rebalance.executed`` (emitted by the
    run's summary when it filled orders), send the event's ready-made subject and message."""
    from momentum.run import REBALANCE_EXECUTED

    block_id = _save_block(TRADES_BLOCK, webhook_url, slack)
    description = "Announce every executed momentum rebalance: orders, portfolio, cash, shortfall"
    trigger = _run_trigger({REBALANCE_EXECUTED}, deployment)
    return _replace_automation(TRADES_AUTOMATION, description, trigger, _trade_notification(block_id)) | {
        "block": TRADES_BLOCK,
        "block_id": str(block_id),
    }


def _save_block(name: str, webhook_url: str, slack: bool) -> UUID:
    # Prefect types its sync-or-async methods as returning "R | Coroutine[R]"; called outside an event
    # loop they run synchronously and return R, hence the casts.
    return cast(UUID, _notification_block(webhook_url, slack).save(name, overwrite=True))


def _replace_automation(
    name: str, description: str, trigger: EventTrigger, action: SendNotification
) -> dict[str, str]:
    """The automation ``name`` created anew (an earlier one of that name deleted): its id and name."""
    from prefect.automations import Automation

    try:
        cast(Automation, Automation.read(name=name)).delete()
    except ValueError:
        pass
    automation = cast(
        Automation,
        Automation(name=name, description=description, trigger=trigger, actions=[action]).create(),
    )
    return {"automation": str(automation.id), "name": name}


def _notification_block(webhook_url: str, slack: bool) -> NotificationBlock:
    """A Slack webhook block, or a generic webhook block POSTing ``{"subject", "text"}`` as JSON."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook

    if slack:
        return SlackWebhook(url=webhook_url)
    return CustomWebhookNotificationBlock(
        name="momentum",
        url=webhook_url,
        method="POST",
        json_data={"subject": "{{subject}}", "text": "{{body}}"},
    )


def _run_trigger(events: set[str], deployment: str | None) -> EventTrigger:
    """Fires on each of ``events`` about a flow run of the rebalance flow (of ``deployment`` if given)."""
    from prefect.automations import EventTrigger, Posture

    related = [{"prefect.resource.role": "flow", "prefect.resource.name": FLOW}]
    if deployment:
        related.append({"prefect.resource.role": "deployment", "prefect.resource.name": deployment})
    return EventTrigger(
        expect=events,
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related=related if len(related) > 1 else related[0],
        posture=Posture.Reactive,
        threshold=1,
        within=0,
    )


def _notification(block_id: UUID) -> SendNotification:
    """The message: which run, its state and message, its UI link and the command that retries it."""
    from prefect.automations import SendNotification

    return SendNotification(
        block_document_id=block_id,
        subject="momentum: flow run {{ flow_run.name }} {{ flow_run.state.name }}",
        body=(
            "Flow run {{ flow_run.name }} ({{ flow_run.id }}) of {{ flow.name }} entered "
            "{{ flow_run.state.name }}: {{ flow_run.state.message }}\n{{ flow_run|ui_url }}\n"
            "Retry it with: prefect flow-run retry {{ flow_run.id }}"
        ),
    )


def _trade_notification(block_id: UUID) -> SendNotification:
    """The message the run built (see :func:`momentum.run.trade_notice`): orders, portfolio, cash,
    shortfall and the run's UI link."""
    from prefect.automations import SendNotification

    return SendNotification(
        block_document_id=block_id,
        subject="{{ event.payload.subject }}",
        body="{{ event.payload.message }}",
    )
