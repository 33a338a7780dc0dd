revision = """x"""; down_revision = ("a"
, "b")\

