"""merge heads

Revision ID: 77aa88bb99cc
Revises: ab12cd34ef56, 1a2b3c4d5e6f
"""
revision = '77aa88bb99cc'
down_revision = (
    'ab12cd34ef56',  # feature branch
    '1a2b3c4d5e6f',
)
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
