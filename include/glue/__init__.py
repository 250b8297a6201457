"""Glue job scripts (run on AWS Glue, not imported by DAGs) and the helpers that deploy them."""
