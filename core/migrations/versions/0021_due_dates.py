"""contact due dates: when something falls due and when it is overdue, kept as events happen

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (not batch mode): SQLite adds and drops columns in place, and recreating
    # the table would lose its expression index (ix_contact_practice_email).
    op.add_column("contact", sa.Column("due_on", sa.Date(), nullable=True))
    op.add_column("contact", sa.Column("overdue_from", sa.Date(), nullable=True))
    op.create_index("ix_contact_client_due_on", "contact", ["client_id", "due_on"])
    op.create_index("ix_contact_client_overdue_from", "contact", ["client_id", "overdue_from"])
    # Fill them for the contacts already there, by the same rule the application keeps them with.
    from crossroads.core.outreach.due_dates import refresh

    connection = op.get_bind()
    for (practice_id,) in connection.execute(sa.text("SELECT id FROM practice")).all():
        refresh(connection, practice_id=practice_id)


def downgrade() -> None:
    op.drop_index("ix_contact_client_overdue_from", table_name="contact")
    op.drop_index("ix_contact_client_due_on", table_name="contact")
    op.execute("ALTER TABLE contact DROP COLUMN overdue_from")
    op.execute("ALTER TABLE contact DROP COLUMN due_on")
