"""Progress bars only where a person watches them."""
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Optional


class QuietProgress:
    """Counts like a progress bar and prints nothing."""

    def __init__(self):
        self.completed = 0

    def update(self, num_tasks: int = 1) -> None:
        self.completed += num_tasks


def watched(stream=None) -> bool:
    """Whether ``stream`` (stdout by default) is a terminal."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, 'isatty', None)
    return bool(isatty and isatty())


def make_progress_bar(total: int):
    """mmengine's ``ProgressBar`` on a terminal (first rank), else one that
    prints nothing; both have ``update(num_tasks=1)``."""
    from mmengine.dist import is_main_process
    if is_main_process() and watched():
        from mmengine.utils import ProgressBar
        return ProgressBar(total, file=sys.stdout)
    return QuietProgress()


@contextmanager
def progress_bar(total: int,
                 title: Optional[str] = None,
                 logger=None) -> Iterator[object]:
    """mmengine's ``ProgressBar`` (with an ETA) on a terminal, else nothing.

    A carriage-return bar written into a redirected log (a cluster job, CI,
    ``> train.log``) is one very long line of noise, so off a terminal — and
    on every rank but the first — the bar prints nothing; with a ``logger``
    one line says what ran and how long it took.

    Args:
        total (int): Number of tasks.
        title (str, optional): What runs, for the closing line.
        logger (optional): Logger for the closing line off a terminal.

    Yields:
        An object with ``update(num_tasks=1)``.
    """
    from mmengine.dist import is_main_process
    start = time.perf_counter()
    bar = make_progress_bar(total)
    if not isinstance(bar, QuietProgress):
        try:
            yield bar
        finally:
            sys.stdout.write('\n')
            sys.stdout.flush()
        return
    yield bar
    if logger is not None and title and is_main_process():
        logger.info(f'{title}: {bar.completed} of {total} done in '
                    f'{time.perf_counter() - start:.1f} s')
