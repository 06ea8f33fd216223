"""Alert outbox: operational alerts without an analysis, and in-flight send attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

`kind` separates release alerts (from an analysis) from operational ones (a registry that stays
unreachable past the retry budget), so `analysis_id` becomes nullable for the latter only.
`attempt_started_at` marks a send whose outcome is unknown, so that a process picking the alert
up after a crash can check the receiver before sending again; `remote_ref` keeps the receiver's
message id.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the columns; batch mode so that SQLite can alter the NOT NULL and add checks."""
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="release"))
        batch.alter_column("analysis_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("attempt_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("remote_ref", sa.String(255), nullable=True))
        batch.create_check_constraint("ck_alerts_kind", "kind IN ('release', 'operational')")
        batch.create_check_constraint(
            "ck_alerts_release_analysis", "kind = 'operational' OR analysis_id IS NOT NULL"
        )


def downgrade() -> None:
    """Operational alerts have no analysis to point at, so they go before the NOT NULL returns."""
    op.execute("DELETE FROM alerts WHERE kind = 'operational'")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("ck_alerts_release_analysis", type_="check")
        batch.drop_constraint("ck_alerts_kind", type_="check")
        batch.drop_column("remote_ref")
        batch.drop_column("attempt_started_at")
        batch.alter_column("analysis_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("kind")
