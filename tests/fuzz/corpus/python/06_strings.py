'''doc with "quotes" and # hash'''
NOTE = "revision = 'fake'  # not real"
SQL = """
revision = 'fake2'
"""
R = r"\"" ; B = b'\x00\n'
revision = u'a1' 'b2'
down_revision = ['c3', "d4",]
def upgrade(): pass
def downgrade() -> None: ...
