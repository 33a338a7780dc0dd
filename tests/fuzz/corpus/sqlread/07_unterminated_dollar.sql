SELECT $$ never ends;
