-- wrk script: the same percentiles for the trivial endpoint, as the ceiling.
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d p50=%d p95=%d p99=%d max=%d\n", summary.requests,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
