f"""not a {doc}"""
revision = 'f1'
down_revision = f'{x}'
