"""The paper's tables and figures from the runs' metrics."""
