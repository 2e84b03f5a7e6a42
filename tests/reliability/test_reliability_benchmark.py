"""benchmarks/reliability.py at a tiny size, so the script behind docs/reliability.md's figures never rots."""

from __future__ import annotations

from benchmarks import reliability


def test_the_reliability_benchmark_runs_every_fault_at_a_tiny_size_and_reports_what_survived(capsys):
    assert reliability.main(["--due", "20", "--failing", "6", "--good", "3", "--kills", "1", "--per-kind", "4"]) == 0

    table = capsys.readouterr().out
    assert "| 1 unreadable case among 20 due, one sweep | 19 advanced, 1 set aside; next sweep touches 0 |" in table
    assert "| 3 of 3 mails out; the webhook got 3 requests, 3 messages wait; 1 escalation |" in table
    assert "24 of 24 delivered (24 copies); 1 escalation, 1 recovery note" in table
    assert "3 of 3 runs succeeded; 12 delivered" in table and "12 copies of 12 distinct" in table
    # The kill falls on the last message of a chunk of 2 (its 4th): the whole chunk goes again, same keys.
    assert "0 of 24 lost; 2 repeats (≤ 1 kills × chunk of 2), 0 with another key" in table

