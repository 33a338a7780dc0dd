-- a line comment; with a semicolon
/* a block /* nested; */ comment */ SELECT 1;
/* only a comment */;
;;
   -- trailing
