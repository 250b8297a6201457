"""Smart Sales Analyzer: a medallion sales pipeline for Airflow 3 and Amazon MWAA."""
