"""Test fixture: a spark_python_task script."""
import sys

print(sys.argv[1:])
