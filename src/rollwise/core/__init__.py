"""Pure domain: flags, bucketing, evaluation. No I/O, no global state, no threads."""

from .bucketing import SplitRanges, bucket, split_ranges
from .evaluation import Evaluation, Evaluator, Reason, compile_flag, constant
from .model import BUCKETS, Condition, ConfigDocument, Flag, FlagEnvironment, Operator, Rule
from .validation import flag_issues, parse_document, parse_flag

__all__ = [
    "BUCKETS",
    "Condition",
    "ConfigDocument",
    "Evaluation",
    "Evaluator",
    "Flag",
    "FlagEnvironment",
    "Operator",
    "Reason",
    "Rule",
    "SplitRanges",
    "bucket",
    "compile_flag",
    "constant",
    "flag_issues",
    "parse_document",
    "parse_flag",
    "split_ranges",
]
