"""contact.source: a string naming any registered source (plugins add sources), not a fixed enum

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01

Every stored value is kept. On PostgreSQL the column becomes VARCHAR(40) and
the ``contact_source`` enum type goes; on SQLite (which does not check a
VARCHAR's length, and where the enum had no CHECK constraint) the table is
rebuilt in batch mode with the new declared type, the expression index on
``lower(email)``, which batch mode cannot copy, dropped first and made again.
Downgrading turns sources the old enum does not know into "manual".
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OLD_VALUES = ("linkedin_import", "manual", "coach_suggestion", "referral", "alumni_office", "association")
OLD_TYPE = sa.Enum(*OLD_VALUES, name="contact_source", length=20)
EMAIL_INDEX = "ix_contact_practice_email"


def _sqlite_retype(new_type: sa.types.TypeEngine, old_type: sa.types.TypeEngine) -> None:
    op.drop_index(EMAIL_INDEX, table_name="contact")
    with op.batch_alter_table("contact", schema=None, recreate="always") as batch_op:
        batch_op.alter_column("source", existing_type=old_type, type_=new_type, existing_nullable=False)
    op.create_index(EMAIL_INDEX, "contact", ["practice_id", sa.text("lower(email)")], unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contact ALTER COLUMN source TYPE VARCHAR(40) USING source::text")
        op.execute("DROP TYPE IF EXISTS contact_source")
    else:
        _sqlite_retype(sa.String(length=40), OLD_TYPE)


def downgrade() -> None:
    known = ", ".join(f"'{value}'" for value in OLD_VALUES)
    op.execute(f"UPDATE contact SET source = 'manual' WHERE source NOT IN ({known})")
    if op.get_bind().dialect.name == "postgresql":
        OLD_TYPE.create(op.get_bind(), checkfirst=True)
        op.execute("ALTER TABLE contact ALTER COLUMN source TYPE contact_source USING source::contact_source")
    else:
        _sqlite_retype(OLD_TYPE, sa.String(length=40))
