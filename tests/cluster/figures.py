"""Figures the failover and rolling-restart tests report; printed at the end of the run."""
LINES: list[str] = []


def report(line: str) -> None:
    print(line)
    LINES.append(line)
