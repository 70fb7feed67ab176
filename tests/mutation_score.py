"""The mutation score per module, from `mutmut results --all true` on standard input.

`make mutate` prints this after its runs; docs/TESTING.md records it. Not a test module.
"""

import sys
from collections import Counter, defaultdict

# A mutant that makes the tests hang is caught too: the run times out instead of passing.
KILLED = {"killed", "timeout", "caught by type check"}
# What a run never got to, or mutmut could not judge: shown, never counted as killed.
UNRUN = {"not checked", "skipped"}


def module_of(mutant: str) -> str:
    # devices.services.x_application_assign__mutmut_3 -> devices.services
    return mutant.split(".x_", 1)[0].split(".xǁ", 1)[0]


def main() -> None:
    by_module: dict[str, Counter] = defaultdict(Counter)
    for line in sys.stdin:
        name, _, status = line.strip().rpartition(": ")
        if name:
            by_module[module_of(name)][status] += 1
    print(f"{'module':32} {'mutants':>8} {'run':>6} {'killed':>7} {'survived':>9} {'score':>7}")
    for module, counts in sorted(by_module.items()):
        judged = sum(n for status, n in counts.items() if status not in UNRUN)
        killed = sum(counts[status] for status in KILLED)
        score = f"{100 * killed / judged:.1f}%" if judged else "-"
        total = sum(counts.values())
        # Survived plus anything else judged (suspicious, segfault) is what was not killed.
        missed = judged - killed
        print(f"{module:32} {total:8} {judged:6} {killed:7} {missed:9} {score:>7}")


if __name__ == "__main__":
    main()
