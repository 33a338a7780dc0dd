SELECT 'unterminated;
string
