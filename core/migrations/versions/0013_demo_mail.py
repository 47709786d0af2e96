"""demo mail: what the demo's mail catcher received, for its Sent mail page

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from crossroads.core.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demo_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("party_client_id", sa.Integer(), nullable=True),
        sa.Column("mail_from", sa.String(length=254), nullable=False),
        sa.Column("rcpt_tos", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_client_id"],
            ["client.id"],
            name=op.f("fk_demo_mail_party_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_demo_mail_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_mail")),
    )
    with op.batch_alter_table("demo_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demo_mail_party_client_id"), ["party_client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_demo_mail_practice_id"), ["practice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("demo_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demo_mail_practice_id"))
        batch_op.drop_index(batch_op.f("ix_demo_mail_party_client_id"))
    op.drop_table("demo_mail")
