"""Python glue for the Customer Agent warehouse dbt project."""

__version__ = "1.0.0"
