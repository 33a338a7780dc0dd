SELECT E'it\'s; fine', 'back\slash;', U&'d\0061t;a', "quoted;ident"", still";
SELECT e'\\', 'x''y';
