"""StatisticsCollector: sum the AttentionRecords of RollingQueries' owners."""
from functools import partial
from typing import Dict, List, Optional, Tuple

from torch import nn

from rollingq_mm.models.records import RollingQStatistics, find_record
from rollingq_mm.models.rollingq import RollingQuery


class StatisticsCollector:
    """Adds up what each RollingQuery's attention returns while it is open.

    RollingQHook opens one for the batches of a training epoch it needs and
    another for its extra statistics pass, so the two phases never share
    sums. While open, a PyTorch forward hook on every query's owner (the
    attention module that returns the
    :class:`~rollingq_mm.models.records.AttentionRecord`) adds the record to
    that query's :class:`RollingQStatistics`; closing removes the hooks.

    Example::

        with StatisticsCollector(find_rolling_queries(model)) as collector:
            model(inputs)
        collector.statistics['neck.layers.0.rolling_query'].air()

    Args:
        queries (list[tuple]): ``(name, query, owner)`` as
            :func:`~rollingq_mm.models.rollingq.find_rolling_queries` returns
            them.
    """

    def __init__(self, queries: List[Tuple[str, RollingQuery, nn.Module]]):
        self.queries = list(queries)
        self.statistics: Dict[str, Optional[RollingQStatistics]] = {
            name: None
            for name, _, _ in self.queries
        }
        self._handles = []

    @property
    def unseen(self) -> List[str]:
        """The queries whose attention has not run since opening."""
        return [name for name, sums in self.statistics.items() if sums is None]

    def open(self) -> 'StatisticsCollector':
        """Start adding records (registers the forward hooks)."""
        self.close()
        for name, _, owner in self.queries:
            self._handles.append(
                owner.register_forward_hook(partial(self._add, name)))
        return self

    def close(self) -> None:
        """Stop adding records (removes the forward hooks); keeps the sums."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> 'StatisticsCollector':
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _add(self, name: str, module: nn.Module, args, output) -> None:
        record = find_record(output)
        if record is None:
            self.close()
            raise TypeError(
                f'RollingQHook: {type(module).__name__} holds the '
                f'RollingQuery {name!r} but returned no AttentionRecord; '
                'return (out, AttentionRecord(q_cls, keys, token_slices)) '
                'from its forward (see rollingq_mm.models.records)')
        if len(record.modalities) < 2:
            self.close()
            raise ValueError(
                f'RollingQHook: {name} attends over the single modality '
                f'{record.modalities}; RollingQ balances two or more. Remove '
                'the hook from this config')
        batch = RollingQStatistics.from_record(record)
        total = self.statistics[name]
        self.statistics[name] = batch if total is None else total.add(batch)
