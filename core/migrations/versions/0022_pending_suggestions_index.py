"""a partial index of the contacts that are pending coach suggestions

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pending = sa.text("suggestion = 'pending'")
    op.create_index(
        "ix_contact_client_pending",
        "contact",
        ["client_id", "created_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_client_pending", table_name="contact")
