"""contacts and pipeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("linkedin_url", sa.String(length=500), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "linkedin_import",
                "manual",
                "coach_suggestion",
                "referral",
                "alumni_office",
                "association",
                name="contact_source",
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("referred_by_id", sa.Integer(), nullable=True),
        sa.Column("suggested_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "suggestion",
            sa.Enum("pending", "accepted", "dismissed", name="contact_suggestion", length=20),
            nullable=True,
        ),
        sa.Column("research_notes", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("work_text", sa.Text(), nullable=False),
        sa.Column("tag_text", sa.Text(), nullable=False),
        sa.Column("connected_on", sa.Date(), nullable=True),
        sa.Column(
            "stage",
            sa.Enum(
                "identified",
                "researched",
                "requested",
                "replied",
                "scheduled",
                "talked",
                "thanked",
                "declined",
                "no_response",
                name="contact_stage",
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("follow_ups_sent", sa.Integer(), nullable=False),
        sa.Column("last_follow_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_contact_client_id_client"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_contact_practice_id_practice"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["referred_by_id"],
            ["contact.id"],
            name=op.f("fk_contact_referred_by_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["suggested_by_id"],
            ["user_account.id"],
            name=op.f("fk_contact_suggested_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("client_id", "linkedin_url", name=op.f("uq_contact_client_id")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_client_name", ["client_id", "sort_name"], unique=False)
        batch_op.create_index("ix_contact_client_stage", ["client_id", "stage"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_practice_id"), ["practice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_referred_by_id"), ["referred_by_id"], unique=False)

    op.create_table(
        "contact_theme",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_theme_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["career_theme.id"],
            name=op.f("fk_contact_theme_theme_id_career_theme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "theme_id", name=op.f("pk_contact_theme")),
    )
    with op.batch_alter_table("contact_theme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_theme_theme_id"), ["theme_id"], unique=False)

    op.create_table(
        "stage_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_stage",
            sa.Enum(
                "identified",
                "researched",
                "requested",
                "replied",
                "scheduled",
                "talked",
                "thanked",
                "declined",
                "no_response",
                name="contact_stage",
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_stage",
            sa.Enum(
                "identified",
                "researched",
                "requested",
                "replied",
                "scheduled",
                "talked",
                "thanked",
                "declined",
                "no_response",
                name="contact_stage",
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["user_account.id"],
            name=op.f("fk_stage_change_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_stage_change_client_id_client"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_stage_change_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_stage_change_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_change")),
    )
    with op.batch_alter_table("stage_change", schema=None) as batch_op:
        batch_op.create_index("ix_stage_change_client_at", ["client_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stage_change_contact_id"), ["contact_id"], unique=False)

    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("second_person_after_days", sa.Integer(), server_default="3", nullable=False)
        )
        batch_op.add_column(
            sa.Column("follow_up_after_days", sa.Integer(), server_default="7", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.drop_column("follow_up_after_days")
        batch_op.drop_column("second_person_after_days")

    with op.batch_alter_table("stage_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_change_contact_id"))
        batch_op.drop_index("ix_stage_change_client_at")

    op.drop_table("stage_change")
    with op.batch_alter_table("contact_theme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_theme_theme_id"))

    op.drop_table("contact_theme")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_referred_by_id"))
        batch_op.drop_index(batch_op.f("ix_contact_practice_id"))
        batch_op.drop_index("ix_contact_client_stage")
        batch_op.drop_index("ix_contact_client_name")

    op.drop_table("contact")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("contact_stage", "contact_suggestion", "contact_source"):
            op.execute(f"DROP TYPE IF EXISTS {name}")
