-- SPDX-License-Identifier: Apache-2.0
-- wrk script of bench-cluster: sync invoke with the body from $BODY and the
-- bearer token from $TOKEN; every answer that is not a 200 counted. done()
-- prints "BAD_ANSWERS n" (non-200 answers) and "SOCKET_ERRORS n" (connect,
-- read, write errors and timeouts) for bench_cluster.sh to check.
wrk.method = "POST"
wrk.body = os.getenv("BODY") or "x"
wrk.headers["Content-Type"] = "application/octet-stream"
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
