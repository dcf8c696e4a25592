"""A demo package: `main` is a console script, `report` is found as package.function."""
import sys

__version__ = "0.1.0"


def report():
    print(f"report argv={sys.argv!r}")
