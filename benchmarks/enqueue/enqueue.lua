-- wrk script: POST /v1/generations with a bearer token, optionally a unique Idempotency-Key per request.
-- Environment: BENCH_TOKEN (required), BENCH_IDEMPOTENCY=1 to send Idempotency-Key, BENCH_TOKENS_FILE (optional:
-- one token a line, one per user; requests take them in turn, so enqueues spread over that many users instead of
-- all queueing on one user's quota row).
-- Both variants build every request in request(), so the load generator does the same work either way;
-- the only difference on the wire is the one header.
-- Every response is checked: done() prints the count of 202s and of any other status.

local token = os.getenv("BENCH_TOKEN")
local tokens_file = os.getenv("BENCH_TOKENS_FILE")
local with_key = os.getenv("BENCH_IDEMPOTENCY") == "1"
local body = '{"prompt":"a lighthouse at dawn, oil painting","width":1024,"height":768,"num_outputs":1}'

local threads = {}
local thread_counter = 0

function setup(thread)
   thread_counter = thread_counter + 1
   thread:set("tid", thread_counter)
   table.insert(threads, thread)
end

function init(args)
   accepted = 0
   other = 0
   seq = 0
   -- A per-run prefix keeps keys unique across runs against the same database.
   prefix = string.format("%d-%d-%d", os.time(), tid, math.random(1, 1000000000))
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. token,
   }
   tokens = {}
   if tokens_file and tokens_file ~= "" then
      for line in io.lines(tokens_file) do
         if line ~= "" then table.insert(tokens, "Bearer " .. line) end
      end
   end
   -- Each thread starts at another user.
   next_token = (tid * 7919) % math.max(1, #tokens)
end

function request()
   if #tokens > 0 then
      next_token = next_token % #tokens + 1
      headers["Authorization"] = tokens[next_token]
   end
   if with_key then
      seq = seq + 1
      headers["Idempotency-Key"] = prefix .. "-" .. seq
   end
   return wrk.format("POST", "/v1/generations", headers, body)
end

function response(status, hdrs, resp_body)
   if status == 202 then
      accepted = accepted + 1
   else
      other = other + 1
      if other <= 3 then
         io.stderr:write("unexpected status " .. status .. ": " .. resp_body .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local a, o = 0, 0
   for _, t in ipairs(threads) do
      a = a + t:get("accepted")
      o = o + t:get("other")
   end
   io.write(string.format("RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
      .. "status_202=%d status_other=%d socket_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      a, o, summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout))
end
