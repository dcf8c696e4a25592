"""What every layer stands on: the state folder, Databricks paths, Java, child processes, the user."""
