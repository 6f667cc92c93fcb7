"""The typed contracts between the layers of a run: the datasets it wrote and the summary it reports.

:class:`RunRefs` is what the rebalance flow hands from task to task; :class:`RunSummary` is what the
summary task builds and the CLI, the artifacts and ``--json`` read. ``RunSummary.to_json`` is the
public ``momentum run --json`` object (key for key, in the same order); ``from_json`` reads it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from momentum.store import DatasetRef

Records = list[dict[str, Any]]


@dataclass(frozen=True)
class ScoredRefs:
    """The datasets of one session scored: bars, benchmark, validation, scores."""

    bars: DatasetRef
    benchmark: DatasetRef
    validation: DatasetRef
    scores: DatasetRef


@dataclass(frozen=True)
class RunRefs:
    """Every dataset of a run: ``scored`` at as_of, ``signal`` at the signal session when the run caught
    up an earlier rebalance (None when it traded at as_of), and the rebalance's plan, fills and account."""

    scored: ScoredRefs
    signal: ScoredRefs | None = None
    orders: DatasetRef | None = None
    executions: DatasetRef | None = None
    account: DatasetRef | None = None

    @property
    def traded(self) -> ScoredRefs:
        """The datasets the rebalance was planned from: the signal session's, else as_of's."""
        return self.signal or self.scored

    def datasets(self) -> dict[str, DatasetRef]:
        """Name -> reference, in the order the run wrote them (``signal_*`` for a caught-up rebalance)."""
        out = {f.name: getattr(self.scored, f.name) for f in fields(ScoredRefs)}
        if self.signal is not None:
            out |= {f"signal_{f.name}": getattr(self.signal, f.name) for f in fields(ScoredRefs)}
        rebalance = {"orders": self.orders, "executions": self.executions, "account": self.account}
        return out | {name: ref for name, ref in rebalance.items() if ref is not None}


@dataclass(frozen=True)
class DataSpan:
    """The bars a run read: first and last session (YYYY-MM-DD), symbols, rows."""

    start: str
    end: str
    symbols: int
    rows: int


@dataclass(frozen=True)
class ValidationOutcome:
    """The run's validation: passed (a run that reports always passed), quarantined symbols, warnings."""

    passed: bool
    quarantined: list[str]
    warnings: int


@dataclass(frozen=True)
class RebalanceInfo:
    """The calendar and what the run did: ``signal_session`` and ``caught_up`` only when it planned."""

    is_signal_session: bool
    next_signal_session: str
    executed: bool
    signal_session: str | None = None
    caught_up: bool | None = None

    def to_json(self) -> dict[str, Any]:
        planned_only = ("signal_session", "caught_up")
        return {k: v for k, v in asdict(self).items() if k not in planned_only or v is not None}


@dataclass(frozen=True)
class DatasetInfo:
    """One stored dataset version and where its data is."""

    version: str
    as_of: str
    path: str


@dataclass(frozen=True)
class ExecutionHeadline:
    """Each order counted once (see :func:`momentum.run.execution_headline`)."""

    orders: int
    filled: int
    attention: int
    pending: int
    rejected: int
    not_sent: int
    canceled: int
    headline: str
    queued: int = 0  # sent and waiting for their auction (order_timing close/open): nothing to attend to
    queued_for: str = ""  # the session of that auction (YYYY-MM-DD)


@dataclass(frozen=True)
class AccountSummary:
    """The account after execution: value and cash (dollars), positions and the plan's differences."""

    value: float
    cash: float
    positions: Records
    plan_differences: Records


@dataclass(frozen=True)
class RunSummary:
    """What a run read, decided and did (``orders`` .. ``account`` only when it rebalanced)."""

    as_of: str
    provider: str
    store: str
    broker: str
    data: DataSpan
    validation: ValidationOutcome
    rebalance: RebalanceInfo
    datasets: dict[str, DatasetInfo]
    warnings: list[str]
    ranking: Records
    target_portfolio: Records
    orders: Records | None = None
    fills: Records | None = None
    execution: ExecutionHeadline | None = None
    account: AccountSummary | None = None
    shortfall: dict[str, Any] | None = None
    artifacts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``momentum run --json`` object."""
        out: dict[str, Any] = {
            "as_of": self.as_of,
            "provider": self.provider,
            "store": self.store,
            "broker": self.broker,
            "data": asdict(self.data),
            "validation": asdict(self.validation),
            "rebalance": self.rebalance.to_json(),
            "datasets": {name: asdict(d) for name, d in self.datasets.items()},
            "warnings": self.warnings,
            "ranking": self.ranking,
            "target_portfolio": self.target_portfolio,
        }
        optional = {
            "orders": self.orders,
            "fills": self.fills,
            "execution": None if self.execution is None else asdict(self.execution),
            "account": None if self.account is None else asdict(self.account),
            "shortfall": self.shortfall,
        }
        return out | {k: v for k, v in optional.items() if v is not None} | {"artifacts": self.artifacts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunSummary":
        """The summary back from its ``--json`` object."""
        execution, account = data.get("execution"), data.get("account")
        return cls(
            as_of=data["as_of"],
            provider=data["provider"],
            store=data["store"],
            broker=data["broker"],
            data=DataSpan(**data["data"]),
            validation=ValidationOutcome(**data["validation"]),
            rebalance=RebalanceInfo(**data["rebalance"]),
            datasets={name: DatasetInfo(**d) for name, d in data["datasets"].items()},
            warnings=data.get("warnings", []),
            ranking=data["ranking"],
            target_portfolio=data["target_portfolio"],
            orders=data.get("orders"),
            fills=data.get("fills"),
            execution=None if execution is None else ExecutionHeadline(**execution),
            account=None if account is None else AccountSummary(**account),
            shortfall=data.get("shortfall"),
            artifacts=data.get("artifacts", []),
        )
