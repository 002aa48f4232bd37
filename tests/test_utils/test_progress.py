"""Progress bars only on a terminal; one log line elsewhere."""
import io
import sys

from rollingq_mm.utils.progress import (QuietProgress, make_progress_bar,
                                        progress_bar)


class Terminal(io.StringIO):

    def isatty(self):
        return True


def test_redirected_output_gets_no_bar_but_one_log_line(monkeypatch):
    out, logged = io.StringIO(), []
    monkeypatch.setattr(sys, 'stdout', out)
    logger = type('Logger', (), {'info': lambda self, m: logged.append(m)})()
    with progress_bar(3, 'statistics pass', logger) as bar:
        for _ in range(3):
            bar.update()
    assert out.getvalue() == '' and isinstance(bar, QuietProgress)
    assert len(logged) == 1 and logged[0].startswith(
        'statistics pass: 3 of 3 done in')


def test_a_terminal_gets_the_bar(monkeypatch):
    out = Terminal()
    monkeypatch.setattr(sys, 'stdout', out)
    bar = make_progress_bar(2)
    bar.update()
    bar.update()
    assert not isinstance(bar, QuietProgress)
    assert '2/2' in out.getvalue() and '\r' in out.getvalue()
