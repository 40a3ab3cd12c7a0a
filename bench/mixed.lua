-- wrk script of bench/mixed.sh (issue 8): the mixed load.
--
--   MIXED_QUANTILES=FILE wrk -s bench/mixed.lua ... http://127.0.0.1:PORT -- DATA_FILE
--
-- DATA_FILE, written by bench/mixed.sh, one line per staff member:
--   agent STAFF_ID TOKEN ID,ID,...   an agent and the ids of their own alerts
--   admin STAFF_ID TOKEN             who creates complaints
-- Each request is, at random:
--   40 %  GET /api/v1/alerts?page=1&page_size=20     (inbox reads: 80 %)
--   40 %  GET /api/v1/alerts/unread/count
--   10 %  PUT /api/v1/alerts/{id}/read               (read/dismiss: 15 %)
--    5 %  PUT /api/v1/alerts/{id}/dismiss
--    5 %  POST /api/v1/complaints as the admin, assigned to a random agent
--         (priority low 20 %, medium 40 %, high 30 %, critical 10 %: a
--         critical one raises an alert for its assignee in the request)
-- as a random agent, on an alert of that agent's own. With MIXED_ACKS=1,
-- 10 % are PUT /api/v1/alerts/{id}/acknowledge instead, the inbox reads
-- 35 % each. MIXED_ONLY=reads or =complaints sends only those. done() prints one line
-- `mixed {json}` with the counts, the latency percentiles and any non-2xx
-- statuses, and writes the latency quantiles ("percent microseconds" lines, 0.1
-- to 99.999 %, finer in the tail) to $MIXED_QUANTILES (when set), so that
-- bench/mixed.sh can merge the runs of several wrk processes.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local agents, admin = {}, nil
local priorities = { "low", "low", "medium", "medium", "medium", "medium", "high", "high", "high", "critical" }
sent = { list = 0, count = 0, read = 0, dismiss = 0, ack = 0, complaint = 0 }
-- The inbox reads' shares (list, then count) and the acknowledgements' (taken from them).
local acks = os.getenv("MIXED_ACKS") == "1" and 0.10 or 0
local list_until, count_until = 0.40 - acks / 2, 0.80 - acks
-- MIXED_ONLY=reads: the inbox reads alone (list and count, half each);
-- MIXED_ONLY=complaints: POST /api/v1/complaints alone.
local only = os.getenv("MIXED_ONLY")
statuses = {}
samples = {}

function init(args)
   math.randomseed(os.time() * 1000 + id * 7919)
   for line in io.lines(args[1]) do
      local kind, staff, token, ids = line:match("^(%S+) (%S+) (%S+) ?(%S*)$")
      local auth = { ["Authorization"] = "Bearer " .. token }
      if kind == "admin" then
         admin = { headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" } }
      else
         local list = {}
         for alert in ids:gmatch("[^,]+") do list[#list + 1] = alert end
         agents[#agents + 1] = { staff = staff, headers = auth, ids = list }
      end
   end
   assert(#agents > 0 and admin ~= nil, "no agents or no admin in " .. args[1])
end

local serial = 0

function request()
   local r = math.random()
   if only == "reads" then r = r * count_until elseif only == "complaints" then r = 0.999 end
   local agent = agents[math.random(#agents)]
   if r < list_until then
      sent.list = sent.list + 1
      return wrk.format("GET", "/api/v1/alerts?page=1&page_size=20", agent.headers)
   elseif r < count_until then
      sent.count = sent.count + 1
      return wrk.format("GET", "/api/v1/alerts/unread/count", agent.headers)
   elseif r < 0.80 then
      sent.ack = sent.ack + 1
      local alert = agent.ids[math.random(#agent.ids)]
      return wrk.format("PUT", "/api/v1/alerts/" .. alert .. "/acknowledge", agent.headers)
   elseif r < 0.95 then
      local alert = agent.ids[math.random(#agent.ids)]
      if r < 0.90 then
         sent.read = sent.read + 1
         return wrk.format("PUT", "/api/v1/alerts/" .. alert .. "/read", agent.headers)
      end
      sent.dismiss = sent.dismiss + 1
      return wrk.format("PUT", "/api/v1/alerts/" .. alert .. "/dismiss", agent.headers)
   end
   sent.complaint = sent.complaint + 1
   serial = serial + 1
   local body = string.format(
      '{"title":"Bench complaint %d-%d","description":"Charged twice for one order",'
         .. '"customer_name":"Bench Customer","customer_email":"customer@example.com",'
         .. '"priority":"%s","assigned_to_staff_id":%s}',
      id, serial, priorities[math.random(#priorities)], agent.staff)
   return wrk.format("POST", "/api/v1/complaints", admin.headers, body)
end

function response(status, headers, body)
   if status >= 300 then
      local key = tostring(status)
      statuses[key] = (statuses[key] or 0) + 1
      if statuses[key] <= 3 then samples[#samples + 1] = key .. " " .. body:sub(1, 200) end
   end
end

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
   local total_sent = { list = 0, count = 0, read = 0, dismiss = 0, ack = 0, complaint = 0 }
-- The inbox reads' shares (list, then count) and the acknowledgements' (taken from them).
local acks = os.getenv("MIXED_ACKS") == "1" and 0.10 or 0
local list_until, count_until = 0.40 - acks / 2, 0.80 - acks
   local total_statuses, all_samples = {}, {}
   for _, thread in ipairs(threads) do
      for k, v in pairs(thread:get("sent")) do total_sent[k] = total_sent[k] + v end
      for k, v in pairs(thread:get("statuses")) do total_statuses[k] = (total_statuses[k] or 0) + v end
      for _, s in ipairs(thread:get("samples")) do all_samples[#all_samples + 1] = json_string(s) end
   end
   local parts = {}
   for k, v in pairs(total_sent) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
   local status_parts = {}
   for k, v in pairs(total_statuses) do status_parts[#status_parts + 1] = string.format('"%s":%d', k, v) end
   local e = summary.errors
   io.write(string.format(
      'mixed {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"sent":{%s},"statuses":{%s},"samples":[%s]}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
      table.concat(parts, ","), table.concat(status_parts, ","), table.concat(all_samples, ",")))
   local path = os.getenv("MIXED_QUANTILES")
   if path and path ~= "" then
      local f = assert(io.open(path, "w"))
      local function q(p) f:write(string.format("%.3f %d\n", p, latency:percentile(p))) end
      for i = 1, 990 do q(i / 10) end
      for i = 9901, 9999 do q(i / 100) end
      for i = 99991, 99999 do q(i / 1000) end  -- percentile(100) is 0 in wrk 4.1; max_us is the maximum
      f:close()
   end
end
