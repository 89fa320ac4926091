-- SPDX-License-Identifier: Apache-2.0
-- wrk script: sync invoke with the body from $BODY and the bearer token
-- from $TOKEN; counts non-200 answers as errors (wrk prints them).
wrk.method = "POST"
wrk.body = os.getenv("BODY") or "x"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/octet-stream"
