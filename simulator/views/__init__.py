"""Views: results and analyses as text, JSON, CSV and HTML (no computation here).

* :mod:`.format` — the shared number and percent formatters of the text views.
* :mod:`.run` — a results Dataset: headline, details, JSON, CSV, convergence.
* :mod:`.calibration`, :mod:`.comparison`, :mod:`.sensitivity`, :mod:`.discovery` — the
  analyses' text and JSON.
* :mod:`.html` — the self-contained HTML report (imports matplotlib: import it only to write one).
"""
