-- SPDX-License-Identifier: Apache-2.0
-- wrk script: sync invoke over keep-alive (POST with a small body and the
-- bearer token from the TOKEN environment variable).
wrk.method = "POST"
wrk.body = "x"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/octet-stream"

local errors = 0
response = function(status, headers, body)
    if status ~= 200 then
        errors = errors + 1
    end
end
