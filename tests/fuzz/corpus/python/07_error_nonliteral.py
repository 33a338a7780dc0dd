import ids
revision = ids.NEXT
down_revision = None
