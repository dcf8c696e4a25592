#!/usr/bin/env python3
"""Run the Day 7 job: `python runner.py --help` lists what it can do."""
import sys

from course.cli import main

if __name__ == "__main__":
    sys.exit(main())
