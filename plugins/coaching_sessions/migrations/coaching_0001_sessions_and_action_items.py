"""coaching sessions: sessions of a coach with a client, and the action items agreed in them

Revision ID: coaching_0001
Revises: (a branch of its own, after core 0020)
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from crossroads.plugin import UTCDateTime

revision = "coaching_0001"
down_revision = None
branch_labels = ("coaching_sessions",)
# The core's newest revision when this plugin was written; every table it points at is older.
depends_on = "0020"

ENUM_TYPES = ("coaching_session_status", "coaching_action_assignee")


def upgrade() -> None:
    op.create_table(
        "coaching_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column(
            "status",
            sa.Enum("scheduled", "held", "cancelled", name="coaching_session_status", length=20),
            nullable=False,
        ),
        sa.Column("private_notes", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("shared_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("held_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_coaching_session_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_coaching_session_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["coach_id"],
            ["user_account.id"],
            name=op.f("fk_coaching_session_coach_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_session")),
    )
    with op.batch_alter_table("coaching_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coaching_session_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coaching_session_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "coaching_action_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column(
            "assignee", sa.Enum("client", "coach", name="coaching_action_assignee", length=20), nullable=False
        ),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("bank_id", sa.Integer(), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_coaching_action_item_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_coaching_action_item_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["coaching_session.id"],
            name=op.f("fk_coaching_action_item_session_id_coaching_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["career_theme.id"],
            name=op.f("fk_coaching_action_item_theme_id_career_theme"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_coaching_action_item_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["question_bank.id"],
            name=op.f("fk_coaching_action_item_bank_id_question_bank"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["user_account.id"],
            name=op.f("fk_coaching_action_item_done_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_action_item")),
    )
    with op.batch_alter_table("coaching_action_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coaching_action_item_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coaching_action_item_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_table("coaching_action_item")
    op.drop_table("coaching_session")
    if op.get_bind().dialect.name == "postgresql":
        for name in ENUM_TYPES:
            op.execute(f"DROP TYPE IF EXISTS {name}")
