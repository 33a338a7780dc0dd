revision = 'n1'
down_revision = None
class Meta:
    revision = 'inner'
    def downgrade(self):
        pass
if True:
    depends_on = ('q',)
def upgrade(
    x: int = 1,
) -> None:
    """Nothing."""
    # comment
def downgrade():
    if x:
        pass
