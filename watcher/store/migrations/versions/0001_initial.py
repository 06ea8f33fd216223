"""Initial schema: pins, approvals, releases, poll state, analyses and the alert outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Written by hand to match `watcher/store/tables.py`; `tests/store/test_migrations.py` checks
that autogenerate finds no difference. Column types are spelled with plain SQLAlchemy types
(not the application's `UTCDateTime`/`AutoString`): a migration must keep meaning the same
thing when the application code changes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    """A timestamp with time zone (`timestamptz` on PostgreSQL); values are UTC."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table and index of the first schema."""
    op.create_table(
        "pins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("file_version", sa.String(128), nullable=True),
        sa.Column("approved_by", sa.String(255), nullable=True),
        sa.Column("approved_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.UniqueConstraint("ecosystem", "name", name="uq_pins_package"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("from_version", sa.String(128), nullable=True),
        sa.Column("to_version", sa.String(128), nullable=False),
        sa.Column("approved_by", sa.String(255), nullable=False),
        sa.Column("approved_at", _utc(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_approvals_package", "approvals", ["ecosystem", "name"])
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("first_seen_at", _utc(), nullable=False),
        sa.Column("published_at", _utc(), nullable=True),
        sa.UniqueConstraint("ecosystem", "name", "version", name="uq_releases_version"),
    )
    op.create_table(
        "poll_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_polled_at", _utc(), nullable=True),
        sa.Column("next_poll_at", _utc(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.UniqueConstraint("ecosystem", "name", name="uq_poll_state_package"),
    )
    op.create_index("ix_poll_state_due", "poll_state", ["next_poll_at"])
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("old_version", sa.String(128), nullable=False),
        sa.Column("new_version", sa.String(128), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.UniqueConstraint(
            "ecosystem",
            "name",
            "old_version",
            "new_version",
            "rules_version",
            name="uq_analyses_release_rules",
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dedup_key", sa.String(64), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.UniqueConstraint("dedup_key", name="uq_alerts_dedup_key"),
        sa.ForeignKeyConstraint(["analysis_id"], ["analyses.id"], name="fk_alerts_analysis_id"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_alerts_status"),
    )
    op.create_index("ix_alerts_due", "alerts", ["status", "next_attempt_at"])
    op.create_index("ix_alerts_analysis_id", "alerts", ["analysis_id"])


def downgrade() -> None:
    """Drop everything the upgrade created (children first)."""
    op.drop_index("ix_alerts_analysis_id", table_name="alerts")
    op.drop_index("ix_alerts_due", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("analyses")
    op.drop_index("ix_poll_state_due", table_name="poll_state")
    op.drop_table("poll_state")
    op.drop_table("releases")
    op.drop_index("ix_approvals_package", table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("pins")
