"""alumni offices: institutions, affiliations, introduction requests and introductions

Revision ID: alumni_0001
Revises: (a branch of its own, after core 0004)
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from crossroads.plugin import UTCDateTime

revision = "alumni_0001"
down_revision = None
branch_labels = ("alumni_offices",)
# The requests point at outreach messages, which core revision 0004 creates.
depends_on = "0004"

ENUM_TYPES = ("alumni_request_status", "alumni_office_kind")


def upgrade() -> None:
    op.create_table(
        "alumni_institution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("alumni_email", sa.String(length=254), nullable=False),
        sa.Column("career_email", sa.String(length=254), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_alumni_institution_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_alumni_institution_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alumni_institution")),
        sa.UniqueConstraint("practice_id", "name_key", name=op.f("uq_alumni_institution_practice_id")),
    )
    with op.batch_alter_table("alumni_institution", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alumni_institution_practice_id"), ["practice_id"], unique=False)

    op.create_table(
        "alumni_affiliation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_alumni_affiliation_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["alumni_institution.id"],
            name=op.f("fk_alumni_affiliation_institution_id_alumni_institution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_alumni_affiliation_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alumni_affiliation")),
    )
    with op.batch_alter_table("alumni_affiliation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alumni_affiliation_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alumni_affiliation_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "alumni_introduction_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("affiliation_id", sa.Integer(), nullable=True),
        sa.Column(
            "office", sa.Enum("alumni", "career", name="alumni_office_kind", length=20), nullable=False
        ),
        sa.Column("theme_id", sa.Integer(), nullable=True),
        sa.Column("hoped_for", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("sent", "answered", "closed", name="alumni_request_status", length=20),
            nullable=False,
        ),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["affiliation_id"],
            ["alumni_affiliation.id"],
            name=op.f("fk_alumni_introduction_request_affiliation_id_alumni_affiliation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_alumni_introduction_request_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_alumni_introduction_request_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["alumni_institution.id"],
            name=op.f("fk_alumni_introduction_request_institution_id_alumni_institution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outreach_message.id"],
            name=op.f("fk_alumni_introduction_request_message_id_outreach_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_alumni_introduction_request_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["career_theme.id"],
            name=op.f("fk_alumni_introduction_request_theme_id_career_theme"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alumni_introduction_request")),
        sa.UniqueConstraint("message_id", name=op.f("uq_alumni_introduction_request_message_id")),
    )
    with op.batch_alter_table("alumni_introduction_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alumni_introduction_request_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alumni_introduction_request_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "alumni_introduction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_alumni_introduction_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_alumni_introduction_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_alumni_introduction_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["alumni_introduction_request.id"],
            name=op.f("fk_alumni_introduction_request_id_alumni_introduction_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alumni_introduction")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_alumni_introduction_contact_id")),
    )
    with op.batch_alter_table("alumni_introduction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alumni_introduction_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alumni_introduction_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alumni_introduction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumni_introduction_request_id"))
        batch_op.drop_index(batch_op.f("ix_alumni_introduction_client_id"))
    op.drop_table("alumni_introduction")

    with op.batch_alter_table("alumni_introduction_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumni_introduction_request_institution_id"))
        batch_op.drop_index(batch_op.f("ix_alumni_introduction_request_client_id"))
    op.drop_table("alumni_introduction_request")

    with op.batch_alter_table("alumni_affiliation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumni_affiliation_institution_id"))
        batch_op.drop_index(batch_op.f("ix_alumni_affiliation_client_id"))
    op.drop_table("alumni_affiliation")

    with op.batch_alter_table("alumni_institution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumni_institution_practice_id"))
    op.drop_table("alumni_institution")

    # PostgreSQL keeps enum types after their tables are gone; SQLite has none.
    if op.get_bind().dialect.name == "postgresql":
        for name in ENUM_TYPES:
            op.execute(f"DROP TYPE IF EXISTS {name}")
