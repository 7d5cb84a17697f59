"""An Apache Airflow provider for mp-custom-action (``pip install "mp-custom-action[airflow]"``).

Importing this package does not import Airflow: :mod:`.provider` is what Airflow's providers
manager reads, and the hook, operators and sensor live in :mod:`.hook`, :mod:`.operators` and
:mod:`.sensors`, which need Airflow 3.2 or later. See docs/airflow.md.
"""
