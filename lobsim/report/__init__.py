"""Paper-style reports of a run: summary tables (CSV, Markdown) and plots.

``write_report(DIR)`` renders them from a run directory's saved results; see
:mod:`lobsim.report.write` for the files and :mod:`lobsim.report.tables` for the definitions.
Matplotlib is imported only when plots are drawn.
"""

from lobsim.report.load import ReportError, RunResults, load_run
from lobsim.report.tables import summary_table
from lobsim.report.write import write_report

__all__ = ["ReportError", "RunResults", "load_run", "summary_table", "write_report"]
