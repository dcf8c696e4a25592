"""The Day 7 kit: run Databricks-style notebooks and jobs locally.

Importing this package is cheap on purpose: notebooks import it at the top
of every run, so heavy modules (pyspark, papermill, databricks-sdk) load only
when a feature needs them.
"""
__version__ = "0.1.0"
