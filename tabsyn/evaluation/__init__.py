"""Evaluate synthetic tables against real ones: fidelity, detection, ML efficacy, privacy.

``evaluate(real, synthetic, holdout=None, target=None)`` compares DataFrames only and
returns an :class:`EvaluationResult` (``to_dict``, ``to_frame``, ``to_html``). This
package never imports a synthesizer.
"""

from tabsyn.evaluation.api import evaluate
from tabsyn.evaluation.detection import Detection
from tabsyn.evaluation.efficacy import Efficacy
from tabsyn.evaluation.fidelity import Fidelity
from tabsyn.evaluation.privacy import Privacy
from tabsyn.evaluation.report import EvaluationResult

__all__ = ["Detection", "Efficacy", "EvaluationResult", "Fidelity", "Privacy", "evaluate"]
