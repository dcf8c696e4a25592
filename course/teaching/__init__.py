"""The course on top of the engine: exercises and grading, the practical checklist, the data, JupyterLab."""
