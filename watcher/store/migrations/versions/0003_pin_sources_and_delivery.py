"""Pins: when the file's version changed; alerts: the channel actually used.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

`pins.file_changed_at` orders a subscription file's edit against an approval when a publish
time is unknown (see `repo.resolve_pin`). `alerts.delivered_via` records a fallback delivery
(a `slack:` alert written to the console because `SLACK_BOT_TOKEN` is unset), so history never
calls it sent to Slack.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two nullable columns: existing rows need no value."""
    with op.batch_alter_table("pins") as batch:
        batch.add_column(sa.Column("file_changed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("delivered_via", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("delivered_via")
    with op.batch_alter_table("pins") as batch:
        batch.drop_column("file_changed_at")
