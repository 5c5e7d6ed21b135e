"""Work done once across all instances, claimed in `meta`: a row keyed by the work (e.g.
`digest:T0TEST:2026-W49`) that the first instance to insert it owns.

The insert (ON CONFLICT DO NOTHING … RETURNING) is the claim: the instance whose row went in
does the work, then marks it done (`value` "done") or releases it (the row is deleted, so a
later check claims it again). A claim whose owner died mid-work ("claimed", older than its
lease) may be taken over. Unlike event claims, these rows are not pruned: they say for good
that the work was done.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, update

from bot.store.schema import meta
from bot.store.statements import INSERT_FOR

CLAIMED = "claimed"
DONE = "done"


def claim(connection: Connection, key: str, now: datetime, lease: timedelta) -> bool:
    """True when this caller now owns `key`: it inserted the row, or took over a claim left
    unfinished for longer than `lease`."""
    inserted = connection.execute(
        INSERT_FOR[connection.dialect.name](meta)
        .values(key=key, value=CLAIMED, updated_at=now)
        .on_conflict_do_nothing(index_elements=[meta.c.key])
        .returning(meta.c.key)
    ).first()
    if inserted is not None:
        return True
    taken = connection.execute(
        update(meta)
        .where(meta.c.key == key, meta.c.value == CLAIMED, meta.c.updated_at < now - lease)
        .values(updated_at=now)
    )
    return taken.rowcount == 1


def settle(connection: Connection, key: str, now: datetime, *, done: bool) -> None:
    """Mark the claimed work done, or release the claim so that it is claimed again."""
    if done:
        connection.execute(update(meta).where(meta.c.key == key).values(value=DONE, updated_at=now))
    else:
        connection.execute(delete(meta).where(meta.c.key == key, meta.c.value == CLAIMED))
