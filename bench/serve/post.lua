-- SPDX-License-Identifier: Apache-2.0
-- wrk script for both sides of bench-serve, so both pay the same per-answer
-- cost: METHOD (default POST, with a small body and the bearer token from
-- TOKEN), and every answer that is not a 200 counted. done() prints
-- "BAD_ANSWERS n" (non-200 answers) and "SOCKET_ERRORS n" (connect, read,
-- write errors and timeouts) for bench_http.sh to check.
wrk.method = os.getenv("METHOD") or "POST"
if wrk.method == "POST" then
    wrk.body = "x"
    wrk.headers["Content-Type"] = "application/octet-stream"
end
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    bad = 0
end

function response(status, headers, body)
    if status ~= 200 then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do
        n = n + t:get("bad")
    end
    local e = summary.errors
    io.write(string.format("BAD_ANSWERS %d\n", n))
    io.write(string.format("SOCKET_ERRORS %d\n",
                           e.connect + e.read + e.write + e.timeout))
end
