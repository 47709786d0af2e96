"""address indexes for incoming mail: a contact by address, the latest message sent to an address

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contact_practice_email", "contact", ["practice_id", sa.text("lower(email)")], unique=False
    )
    op.create_index(
        "ix_outreach_message_practice_to",
        "outreach_message",
        ["practice_id", sa.text("lower(to_address)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_outreach_message_practice_to", table_name="outreach_message")
    op.drop_index("ix_contact_practice_email", table_name="contact")
