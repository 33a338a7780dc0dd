"""Branch labels of the migration history, shared by revisions and tools."""

# the reporting tables' migrations (migrations/reporting)
REPORTING_BRANCH = "reporting"
