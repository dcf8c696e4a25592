# Databricks notebook source
display(spark.sql("SELECT count(*) AS orders FROM workspace.retail.orders"))
