/* never /* closed */
SELECT 1;
