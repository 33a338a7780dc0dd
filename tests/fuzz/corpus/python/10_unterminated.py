revision = "unterminated
down_revision = None
