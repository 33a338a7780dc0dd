"""merge the amount and priority branches

Revision ID: c0ff00000005
Revises: c0ff00000003, c0ff00000004
"""
revision = "c0ff00000005"
down_revision = ("c0ff00000003", "c0ff00000004")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
