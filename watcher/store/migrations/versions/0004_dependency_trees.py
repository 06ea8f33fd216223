"""Dependency trees: each subscription's resolved tree, and the documents it was read from.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

`dependency_trees` and `tree_entries` hold what an install of each subscription's pinned
release gets (`watcher.tree`), with the path each entry was resolved through;
`dependency_documents` keeps what resolution read of each package, with its validators, so
a cycle asks the registry conditionally and re-uses the kept copy on a 304;
`dependency_releases` links a dependency's analysis to the subscriptions whose tree it is in
(with the path), for `watcher history`; `tree_cycles` leases one registry's trees to one
`watcher run` instance at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dependency_trees",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("registry_url", sa.Text(), nullable=False),
        sa.Column("root_version", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("gaps_json", sa.Text(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", _utc(), nullable=False),
        sa.UniqueConstraint("ecosystem", "name", name="uq_dependency_trees_package"),
    )
    op.create_table(
        "tree_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tree_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("dep_name", sa.String(255), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("via_json", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("floats", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tree_id"], ["dependency_trees.id"], name="fk_tree_entries_tree_id"
        ),
    )
    op.create_index("ix_tree_entries_tree_id", "tree_entries", ["tree_id"])
    op.create_index("ix_tree_entries_package", "tree_entries", ["package"])
    op.create_table(
        "dependency_documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("registry_url", sa.Text(), nullable=False),
        sa.Column("package", sa.String(255), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("doc_json", sa.Text(), nullable=False),
        sa.Column("fetched_at", _utc(), nullable=False),
        sa.UniqueConstraint(
            "ecosystem", "registry_url", "package", name="uq_dependency_documents_package"
        ),
    )
    op.create_table(
        "dependency_releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.UniqueConstraint("ecosystem", "name", "analysis_id", name="uq_dependency_releases"),
        sa.ForeignKeyConstraint(
            ["analysis_id"], ["analyses.id"], name="fk_dependency_releases_analysis_id"
        ),
    )
    op.create_table(
        "tree_cycles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("registry_url", sa.Text(), nullable=False),
        sa.Column("next_run_at", _utc(), nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.UniqueConstraint("ecosystem", "registry_url", name="uq_tree_cycles_registry"),
    )


def downgrade() -> None:
    op.drop_table("tree_cycles")
    op.drop_table("dependency_releases")
    op.drop_table("dependency_documents")
    op.drop_index("ix_tree_entries_package", table_name="tree_entries")
    op.drop_index("ix_tree_entries_tree_id", table_name="tree_entries")
    op.drop_table("tree_entries")
    op.drop_table("dependency_trees")
