"""notifications: what Crossroads tells coaches and clients, and each coach's choice of delivery

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from crossroads.core.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KINDS = ("reply", "reflection_shared", "comment", "suggestion", "invitation_accepted", "stalled")
DELIVERIES = ("at_once", "digest", "in_app")


def _enum(values: tuple[str, ...], name: str, create: bool) -> sa.Enum:
    """The enum; on PostgreSQL its type is made once, by the first table that uses it."""
    plain = sa.Enum(*values, name=name, length=20)
    if create:
        return plain
    return plain.with_variant(postgresql.ENUM(*values, name=name, create_type=False), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stalled_notified_at", UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum(KINDS, "notification_kind", True), nullable=False),
        sa.Column("delivery", _enum(DELIVERIES, "notification_delivery", True), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("digested_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_notification_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_notification_client_id_client"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_notification_user_created", ["user_id", "created_at"], unique=False)
    op.create_table(
        "notification_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum(KINDS, "notification_kind", False), nullable=False),
        sa.Column("delivery", _enum(DELIVERIES, "notification_delivery", False), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_notification_preference_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_preference_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preference")),
        sa.UniqueConstraint("user_id", "kind", name=op.f("uq_notification_preference_user_id")),
    )


def downgrade() -> None:
    op.drop_table("notification_preference")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_created")
        batch_op.drop_index(batch_op.f("ix_notification_client_id"))
    op.drop_table("notification")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("stalled_notified_at")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("notification_kind", "notification_delivery"):
            op.execute(f"DROP TYPE IF EXISTS {name}")
