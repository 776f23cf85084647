"""The report: sections, the two languages, number formats and the self-contained HTML page.

Each stage builds its own :class:`ReportSection` (``experiments.<stage>.section``); :func:`render_html` puts them on
one page with the failed trust checks first.

May import: :mod:`experiments.errors`, :mod:`experiments.spec`.
"""

from experiments.report.format import fmt_p, fmt_pct
from experiments.report.i18n import MESSAGES, Lang, msg
from experiments.report.render import localize, render_html
from experiments.report.sections import ReportSection, TrustCheck

__all__ = ["MESSAGES", "Lang", "ReportSection", "TrustCheck", "fmt_p", "fmt_pct", "localize", "msg", "render_html"]
