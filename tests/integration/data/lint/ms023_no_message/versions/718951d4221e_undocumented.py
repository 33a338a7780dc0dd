from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "718951d4221e"
down_revision = "ed3b1f9a2b18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_718951d4221e", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("t_718951d4221e")
