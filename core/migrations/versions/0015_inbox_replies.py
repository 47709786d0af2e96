"""replies: reply address and tokens, the inbound endpoint's secret, replies on the thread, bounced addresses

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from crossroads.core.db import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("practice_mail", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_address", sa.String(length=254), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("plus_addressing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("inbound_secret_hash", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("inbound_secret_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outreach_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_token", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_outreach_message_reply_token"), ["reply_token"])
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_problem", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("email_problem_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outreach_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("client_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("away_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_inbound_mail_outreach_message_id"), ["outreach_message_id"])
        batch_op.create_index(batch_op.f("ix_inbound_mail_contact_id"), ["contact_id"])
        batch_op.create_index(batch_op.f("ix_inbound_mail_client_id"), ["client_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_inbound_mail_outreach_message_id_outreach_message"),
            "outreach_message",
            ["outreach_message_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inbound_mail_contact_id_contact"),
            "contact",
            ["contact_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inbound_mail_client_id_client"),
            "client",
            ["client_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_inbound_mail_client_id_client"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_inbound_mail_contact_id_contact"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_inbound_mail_outreach_message_id_outreach_message"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_inbound_mail_client_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_mail_contact_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_mail_outreach_message_id"))
        for column in ("reason", "away_until", "text", "client_id", "contact_id", "outreach_message_id"):
            batch_op.drop_column(column)
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("email_problem_at")
        batch_op.drop_column("email_problem")
    with op.batch_alter_table("outreach_message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outreach_message_reply_token"), type_="unique")
        batch_op.drop_column("reply_token")
    with op.batch_alter_table("practice_mail", schema=None) as batch_op:
        for column in ("inbound_secret_at", "inbound_secret_hash", "plus_addressing", "reply_address"):
            batch_op.drop_column(column)
