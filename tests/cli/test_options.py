"""Shared CLI options: the progress bar."""

from __future__ import annotations


def test_progress_bar_shows_only_after_a_second_and_clears(monkeypatch, capsys):
    from simulator.cli import options as cli

    clock = iter([0.0, 0.5, 1.5, 2.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    bar = cli.Progress(enabled=True)  # t0 = 0.0
    bar(100, 1000)  # at 0.5 s: silent
    assert capsys.readouterr().err == ""
    bar(500, 1000)  # at 1.5 s: shown
    err = capsys.readouterr().err
    assert "500/1,000 draws" in err and "ETA" in err
    bar.close()
    assert capsys.readouterr().err == "\r\033[K"
    silent = cli.Progress(enabled=False)
    silent(1, 2)
    silent.close()
    assert capsys.readouterr().err == ""
