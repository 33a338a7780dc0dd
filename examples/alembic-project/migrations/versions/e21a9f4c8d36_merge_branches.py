"""merge the amount and priority branches

Revision ID: e21a9f4c8d36
Revises: 9c4f6a0e7b12, b83d2f5c6e07
"""
revision = "e21a9f4c8d36"
down_revision = ("9c4f6a0e7b12", "b83d2f5c6e07")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
