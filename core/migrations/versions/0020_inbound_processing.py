"""inbound mail processing: recorded first, processed by the worker under a claim, failures kept

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from crossroads.core.db import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail") as batch:
        batch.add_column(sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("error", sa.Text(), server_default="", nullable=False))
    op.create_index("ix_inbound_mail_kind_id", "inbound_mail", ["kind", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbound_mail_kind_id", table_name="inbound_mail")
    with op.batch_alter_table("inbound_mail") as batch:
        batch.drop_column("error")
        batch.drop_column("attempts")
        batch.drop_column("claimed_at")
