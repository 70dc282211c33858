-- wrk script for bench/cases.py's portal row: every request is one POST of a form, each with its own
-- phone number and idempotency key, so that every accepted request makes one case.
--   wrk -s bench/portal.lua URL -- <path> <urlencoded fixed fields> <csrf cookie> <12 hex digits for this run>
local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   path, fixed, cookie, prefix = args[1], args[2], args[3], args[4]
   -- this run's own phone numbers and addresses: earlier runs within the hour count against the limits
   base = tonumber(prefix:sub(1, 6), 16)
   n = 0
   statuses = {}
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   if cookie ~= "" then
      wrk.headers["Cookie"] = "csrftoken=" .. cookie
   end
end

function request()
   n = n + 1
   local serial = base * 100 + id * 10000000 + n
   local body = fixed .. "&phone=139" .. string.format("%08d", serial % 100000000)
      .. "&key=" .. string.format("%08x-%04x-4000-8000-%s", n, id, prefix)  -- a UUID, as the form wants
   -- Each request from its own resident: a different address, as nginx in front of gunicorn would pass it
   -- on (the bench runs the server with JIEDAO_TRUSTED_PROXIES=1), so the portal's real per-address and
   -- per-phone limits apply and are never reached.
   local headers = {}
   for name, value in pairs(wrk.headers) do  -- wrk.format takes these headers instead of wrk.headers
      headers[name] = value
   end
   headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", (base + id) % 256, math.floor(n / 256) % 256, n % 256)
   return wrk.format(nil, path, headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, count in pairs(counts) do
         total[status] = (total[status] or 0) + count
      end
   end
   for status, count in pairs(total) do
      io.write(string.format("status %d %d\n", status, count))
   end
   io.write(string.format("latency_p50_ms %.2f\n", latency:percentile(50) / 1000))
   io.write(string.format("latency_p99_ms %.2f\n", latency:percentile(99) / 1000))
end
