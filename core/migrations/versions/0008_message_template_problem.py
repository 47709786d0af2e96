"""message template problem

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from crossroads.core.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problem", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("problem_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.drop_column("problem_at")
        batch_op.drop_column("problem")
