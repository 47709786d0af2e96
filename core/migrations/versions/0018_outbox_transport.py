"""outbox rows name their transport (email or a plugin's) and carry a JSON payload for it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch_op:
        batch_op.add_column(
            sa.Column("transport", sa.String(length=50), server_default="email", nullable=False)
        )
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch_op:
        batch_op.drop_column("payload")
        batch_op.drop_column("transport")
