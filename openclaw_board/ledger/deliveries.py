"""The delivery queue: results waiting to reach their targets (see notices.py for how they
are queued, supervisor/delivery.py for how they are sent).

A delivery is claimed like a task: one worker at a time holds it for CLAIM_MS, so two
supervisors never send it at once. A worker that dies while sending leaves the claim to
expire, and the delivery is tried again: a target may then receive it twice, but a result
is never dropped. A failed attempt is retried after a backoff that doubles, from
FIRST_BACKOFF_MS up to MAX_BACKOFF_MS; after MAX_ATTEMPTS the delivery is given up
(`failed`), visibly, until an operator runs `deliveries retry ID`.
"""

from __future__ import annotations

from typing import Any

from .core import LedgerBase
from .errors import IllegalTransition, NotFound

CLAIM_MS = 120_000  # longer than any send may take (a command gets SEND_TIMEOUT_S)
FIRST_BACKOFF_MS = 5_000
MAX_BACKOFF_MS = 3_600_000
MAX_ATTEMPTS = 12  # about 5 s, 10 s, 20 s ... then hourly: some eight hours of trying
STATUSES = ("pending", "delivered", "failed")


def backoff_ms(attempts: int) -> int:
    """The wait after the `attempts`-th failed attempt."""
    return min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** max(0, attempts - 1))


class Deliveries(LedgerBase):
    def list_deliveries(self, status: str | None = None, flow_id: str | None = None,
                        limit: int = 1000) -> list[Any]:
        D = self.m.Delivery
        query = D.select()
        if status is not None:
            query = query.where(D.status == status)
        if flow_id is not None:
            query = query.where(D.flow_id == flow_id)
        return list(query.order_by(D.id.desc()).limit(limit))

    def undelivered_count(self) -> int:
        """Results not (yet) delivered: pending or given up. The board shows this."""
        D = self.m.Delivery
        # `IN` of the two, not `!= delivered`: the (status, next_try_at) index counts them
        # without reading the delivered history, which only grows.
        return int(D.select().where(D.status.in_(["pending", "failed"])).count())

    def deliveries_due(self) -> int:
        """Deliveries to try now that nobody holds."""
        D = self.m.Delivery
        now = self.lease_now()
        return int(D.select().where((D.status == "pending") & (D.next_try_at <= now)
                                    & (D.claimed_until.is_null() | (D.claimed_until < now))).count())

    def get_delivery(self, ref: str | int) -> Any:
        try:
            key = int(ref)
        except (TypeError, ValueError):
            raise NotFound(f"no delivery {str(ref)[:40]!r} (delivery ids are numbers)") from None
        row = self.m.Delivery.get_or_none(self.m.Delivery.id == key)
        if row is None:
            raise NotFound(f"no delivery {key}")
        return row

    def retry_delivery(self, ref: str | int, actor: str = "cli") -> Any:
        """Try a given-up (or pending) delivery again now, with a fresh count of attempts."""
        with self.atomic():
            row = self.get_delivery(ref)
            if row.status == "delivered":
                raise IllegalTransition(f"delivery {row.id} was delivered: nothing to retry")
            self._update_by_id(self.m.Delivery, row.id, {
                "status": "pending", "attempts": 0, "next_try_at": self.lease_now(), "claimed_by": None,
                "claimed_until": None})
            self._notify()
        return self.get_delivery(row.id)

    def claim_delivery(self, worker: str) -> Any:
        """The oldest due delivery, now held by `worker` for CLAIM_MS; None when none is due."""
        D = self.m.Delivery
        now = self.lease_now()
        candidates = (D.select(D.id).where((D.status == "pending") & (D.next_try_at <= now)
                                           & (D.claimed_until.is_null() | (D.claimed_until < now)))
                      .order_by(D.next_try_at, D.id).limit(5))
        for key in [int(row.id) for row in candidates]:
            with self.atomic():
                taken = (D.update(claimed_by=worker[:64], claimed_until=now + CLAIM_MS)
                         .where((D.id == key) & (D.status == "pending")
                                & (D.claimed_until.is_null() | (D.claimed_until < now))).execute())
            if taken:
                return self.get_delivery(key)
        return None

    def delivery_sent(self, key: int, worker: str) -> bool:
        """Record a delivery; False when our claim had expired and someone else holds it."""
        D = self.m.Delivery
        with self.atomic():
            done = (D.update(status="delivered", delivered_at=self.now(), attempts=D.attempts + 1,
                             claimed_until=None, last_error=None)
                    .where((D.id == key) & (D.claimed_by == worker[:64]) & (D.status == "pending")).execute())
            self._notify()
        return bool(done)

    def delivery_failed(self, key: int, worker: str, error: str) -> None:
        """Record a failed attempt: retried after a backoff, or given up after MAX_ATTEMPTS."""
        D = self.m.Delivery
        with self.atomic():
            row = self.get_delivery(key)
            if row.claimed_by != worker[:64] or row.status != "pending":
                return
            attempts = row.attempts + 1
            status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            self._update_by_id(D, key, {
                "attempts": attempts, "status": status, "last_error": error[:2000], "claimed_until": None,
                "next_try_at": self.lease_now() + backoff_ms(attempts)})
            self._notify()
