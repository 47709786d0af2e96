"""client reminders: the daily email on or off, its hour, and the day it last went

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders_on", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("reminder_hour", sa.Integer(), server_default="8", nullable=False))
        batch_op.add_column(sa.Column("last_reminded_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("last_reminded_on")
        batch_op.drop_column("reminder_hour")
        batch_op.drop_column("reminders_on")
