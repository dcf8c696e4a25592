# Databricks notebook source
purchases = spark.sql("SELECT count(*) AS n FROM default.ap_click_events WHERE event_type = 'purchase'").first()["n"]
dbutils.jobs.taskValues.set("purchases", purchases)
