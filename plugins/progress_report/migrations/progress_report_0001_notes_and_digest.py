"""progress report: coaches' notes on a client's period, and the weekly digest opt-in

Revision ID: progress_report_0001
Revises: (a branch of its own, after core 0004)
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from crossroads.plugin import UTCDateTime

revision = "progress_report_0001"
down_revision = None
branch_labels = ("progress_report",)
depends_on = "0004"


def upgrade() -> None:
    op.create_table(
        "progress_report_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_progress_report_note_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_progress_report_note_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_progress_report_note_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_report_note")),
        sa.UniqueConstraint(
            "client_id", "period_start", "period_end", name=op.f("uq_progress_report_note_client_id")
        ),
    )
    with op.batch_alter_table("progress_report_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_report_note_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "progress_report_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_week", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_progress_report_digest_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_progress_report_digest_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_report_digest")),
        sa.UniqueConstraint("user_id", name=op.f("uq_progress_report_digest_user_id")),
    )
    with op.batch_alter_table("progress_report_digest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_report_digest_practice_id"), ["practice_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("progress_report_digest")
    op.drop_table("progress_report_note")
