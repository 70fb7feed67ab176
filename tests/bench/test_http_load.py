"""bench/http_load.py reads wrk's report; a misread figure would crash a run or skew a ratio."""

import sys

import pytest

from airlock.settings import BASE_DIR

sys.path.insert(0, str(BASE_DIR / "bench"))

from http_load import combine, milliseconds, parse_wrk

# wrk --latency output under load: figures of a second or more are printed in seconds and
# padded with a trailing space, the case that once crashed the run with KeyError 'p90_ms'.
SLOW_RUN = """Running 3s test @ http://127.0.0.1:8000/admin/devices/application/
  2 threads and 6 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.31ms  201.02ms   1.21s    70.00%
    Req/Sec     4.10      2.02     10.00     80.00%
  Latency Distribution
     50%  790.12ms
     75%  950.40ms
{NINETY}
{NINETY_NINE}
  21 requests in 3.01s, 1.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:      6.98
Transfer/sec:    408.11KB
""".format(NINETY="     90%    1.04s ", NINETY_NINE="     99%    1.21s ")

FAST_RUN = """Running 3s test @ http://127.0.0.1:8000/reviews/queue/
  2 threads and 6 connections
  Latency Distribution
     50%  710.00us
     75%    2.10ms
     90%    3.40ms
     99%   12.02ms
  9000 requests in 3.00s, 90.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2999.50
"""


def test_it_reads_percentiles_in_seconds_with_a_trailing_space():
    result = parse_wrk(SLOW_RUN)

    assert result["p50_ms"] == 790.12
    assert result["p90_ms"] == 1040.0
    assert result["p99_ms"] == 1210.0
    assert result["rps"] == 6.98
    assert result["requests"] == 21
    assert result["socket_errors"] == {"connect": 0, "read": 2, "write": 0, "timeout": 1}


def test_it_reads_microseconds_and_failed_responses():
    result = parse_wrk(FAST_RUN)

    assert result["p50_ms"] == 0.71
    assert result["p75_ms"] == 2.1
    assert result["non_2xx_3xx"] == 3
    assert result["socket_errors"] == {}


def test_it_takes_the_median_of_rounds_mixing_units():
    combined = combine([parse_wrk(SLOW_RUN), parse_wrk(SLOW_RUN), parse_wrk(FAST_RUN)])

    assert combined["p90_ms"] == 1040.0
    assert combined["requests"] == 9042
    assert combined["non_2xx_3xx"] == 3


@pytest.mark.parametrize("text", ["1.04", "fast", "1.04 s", ""])
def test_it_refuses_a_figure_without_a_unit(text):
    with pytest.raises(ValueError, match="not a wrk duration"):
        milliseconds(text)
