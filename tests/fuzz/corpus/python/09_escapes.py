"""caf\u00e9 \x41\101\N{DASH} \
joined

second"""
revision = 'e\x31'
down_revision = 'a\
b'
