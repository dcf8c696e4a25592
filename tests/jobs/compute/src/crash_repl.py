# Databricks notebook source
# MAGIC %md
# MAGIC A cell that takes its own Python process down, as a crashing native library would.

# COMMAND ----------

import os
import signal

os.kill(os.getpid(), signal.SIGKILL)
