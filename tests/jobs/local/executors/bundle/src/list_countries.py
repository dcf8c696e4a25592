# A Python file task publishing the list a for-each task iterates over.
from course.runtime import dbutils

countries = [{"code": "NL", "rows": 3}, {"code": "BAD", "rows": 0}, {"code": "FR", "rows": 2}]
dbutils.jobs.taskValues.set(key="countries", value=countries)
