from .balance_hook import BalanceHook
from .divergence_hook import DivergenceHook
from .exact_resume_hook import ExactResumeHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .preflight_hook import PreflightHook
from .rollingq_hook import RollingQHook
from .run_summary_hook import RunSummaryHook
from .statistics_collector import StatisticsCollector

__all__ = [
    'BalanceHook', 'DivergenceHook', 'ExactResumeHook', 'PlainCheckpointHook',
    'PreflightHook', 'RollingQHook', 'RunSummaryHook', 'StatisticsCollector'
]
