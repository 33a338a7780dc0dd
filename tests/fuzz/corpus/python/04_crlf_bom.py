"""crlf and bom

Revision ID: c0ffee000001
"""
revision = "c0ffee000001"
down_revision = "77aa88bb99cc"

def upgrade():
    op.execute("SELECT 1")

def downgrade():
    pass
