# Databricks notebook source
import sys

import day7_wheel_demo

# COMMAND ----------

dbutils.jobs.taskValues.set("package_file", day7_wheel_demo.__file__)
dbutils.jobs.taskValues.set("python", sys.executable)
