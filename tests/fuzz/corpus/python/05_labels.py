# -*- coding: utf-8 -*-
"""expand branch"""
from app import cli

revision = 'e1'
down_revision = None
branch_labels = (cli.EXPAND_BRANCH,)
depends_on = BASE + ('x',)
