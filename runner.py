#!/usr/bin/env python3
"""Run the Day 7 job: `python runner.py --help` lists what it can do."""
from course.cli import main_and_exit

if __name__ == "__main__":
    main_and_exit()
