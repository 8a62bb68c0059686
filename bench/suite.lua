-- bench/suite.lua - the wrk script of bench/run's scenarios that change
-- from one request to the next.  Called as
--
--   wrk ... -s bench/suite.lua URL MODE ARGS...
--
-- where URL is only where wrk connects (each mode makes its own paths) and
--   rotate  IDS PATH          GET PATH with its "{id}" replaced by each id
--                             of the file IDS in turn (one id a line)
--   signin  USER PASSWORD     POST /api/v1/session, always the same body
--   referral IDS TEAM TAG     POST /api/v1/referrals: a routine GP referral
--                             to TEAM for each person of IDS in turn, each
--                             with its own Idempotency-Key (TAG keeps the
--                             keys of one wrk run apart from another's)
--   risk    IDS PART          a risk assessment for each person of IDS:
--                             POST .../risk-assessments (a draft), PUT it
--                             complete, POST .../submit; a standard-level
--                             person's low-risk assessment is approved on
--                             submit, which frees them for the next one.
--                             PART (warm or run) takes every other person,
--                             so that drafts a warm-up leaves behind never
--                             meet the measured run.
-- The cookie, CSRF token, Origin, Accept and Content-Type come from wrk's
-- -H options (wrk.headers).  The people of IDS are shared out between
-- wrk's threads, so that no two connections ever work on the same person.
-- done() prints "suite: ..." lines that bench/run reads: how many
-- assessments were approved, and whether a thread ever ran out of work
-- (idle: it then sent a request it did not mean to, and the run is void).

local threads = {}

function setup(thread)
	thread:set("index", #threads)
	table.insert(threads, thread)
end

local function read_ids(file, nparts, offset)
	local ids, n = {}, 0
	local f = assert(io.open(file, "r"), "cannot open " .. file)
	for line in f:lines() do
		if line:match("^%d+$") then
			if n % nparts == offset then
				table.insert(ids, line)
			end
			n = n + 1
		end
	end
	f:close()
	assert(#ids > 0, "no ids for this thread in " .. file)
	return ids
end

-- A FIFO queue.
local function queue()
	return { first = 1, last = 0 }
end

local function push(q, v)
	q.last = q.last + 1
	q[q.last] = v
end

local function pop(q)
	if q.first > q.last then
		return nil
	end
	local v = q[q.first]
	q[q.first] = nil
	q.first = q.first + 1
	return v
end

local modes = {}

modes.rotate = function(args)
	local ids = read_ids(args[2], 2, index % 2)
	local path, i = args[3], 0
	request = function()
		i = i % #ids + 1
		return wrk.format("GET", (path:gsub("{id}", ids[i])))
	end
end

modes.signin = function(args)
	wrk.method = "POST"
	wrk.path = "/api/v1/session"
	wrk.body = string.format('{"username":"%s","password":"%s"}', args[2], args[3])
end

modes.referral = function(args)
	local ids = read_ids(args[2], 2, index % 2)
	local team, tag, i, n = args[3], args[4], 0, 0
	request = function()
		i = i % #ids + 1
		n = n + 1
		wrk.headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", tag, index, n)
		return wrk.format("POST", "/api/v1/referrals", nil, string.format(
		    '{"team_id":%s,"service_user_id":%s,"source":"gp",' ..
		    '"source_detail":"Dr Okonjo, Riverside Surgery","urgency":"routine",' ..
		    '"reason":"Low mood and poor sleep for six weeks (benchmark %s)"}',
		    team, ids[i], tag))
	end
end

local DOMAINS = { "suicide_self_harm", "harm_to_others", "self_neglect",
	"exploitation_vulnerability", "substance_misuse", "other" }

-- A complete assessment (without its version): every domain low, the
-- safety plan filled in, discussed with the person and not with a carer.
local function risk_content()
	local d = {}
	for _, name in ipairs(DOMAINS) do
		table.insert(d, string.format('"%s":{"level":"low",' ..
		    '"history":"No history of %s","current_factors":"Recent job loss",' ..
		    '"protective_factors":"Close to sister"}', name, name))
	end
	return '"overall_level":"low","domains":{' .. table.concat(d, ",") .. '},' ..
	    '"warning_signs":"Stops answering the phone; sleeps all day",' ..
	    '"what_helps":"Walking the dog; talking to his sister",' ..
	    '"contacts":"Sister: 07700 900123",' ..
	    '"crisis_numbers":"Crisis team 0113 496 0000; NHS 111 option 2",' ..
	    '"means_restriction":"Medication held by sister",' ..
	    '"discussed_with_user":true,"discussed_with_carer":false,' ..
	    '"not_discussed_carer_reason":"No carer identified",' ..
	    '"user_view":"I feel safer when I keep busy."'
end

-- Per thread: the people free for a new assessment, the drafts to
-- complete and the completed drafts to submit, each {id, version}.
approved, created, saved, idle, lost = 0, 0, 0, 0, 0

modes.risk = function(args)
	local part = args[3] == "warm" and 0 or 1
	local ids = read_ids(args[2], 4, 2 * (index % 2) + part)
	local free, tosave, tosubmit = queue(), queue(), queue()
	local content = risk_content()
	for _, id in ipairs(ids) do
		push(free, id)
	end
	request = function()
		local a = pop(tosubmit)
		if a ~= nil then
			return wrk.format("POST", "/api/v1/risk-assessments/" .. a[1] .. "/submit",
			    nil, '{"version":' .. a[2] .. '}')
		end
		a = pop(tosave)
		if a ~= nil then
			return wrk.format("PUT", "/api/v1/risk-assessments/" .. a[1], nil,
			    '{"version":' .. a[2] .. ',' .. content .. '}')
		end
		local su = pop(free)
		if su == nil then
			-- Every person is in flight: never happens while there are
			-- more people than connections; counted, and the run void.
			idle = idle + 1
			return wrk.format("GET", "/healthz/risk")
		end
		return wrk.format("POST", "/api/v1/service-users/" .. su .. "/risk-assessments",
		    nil, "{}")
	end
	-- The answer to each of the three is {"assessment": {...}}; its
	-- status and, for create, 201 tell which step it answered.  The
	-- first "id", "status", "version" and "service_user_id" after
	-- "assessment" are its own: nothing nested in it has those keys.
	response = function(status, headers, body)
		local at = body and body:find('"assessment"%s*:%s*{')
		if (status ~= 200 and status ~= 201) or at == nil then
			lost = lost + 1
			return
		end
		local id = body:match('"id"%s*:%s*(%d+)', at)
		local st = body:match('"status"%s*:%s*"(%a+)"', at)
		local version = body:match('"version"%s*:%s*(%d+)', at)
		local su = body:match('"service_user_id"%s*:%s*(%d+)', at)
		if id == nil or version == nil or su == nil then
			lost = lost + 1
		elseif st == "draft" and status == 201 then
			created = created + 1
			push(tosave, { id, version })
		elseif st == "draft" then
			saved = saved + 1
			push(tosubmit, { id, version })
		elseif st == "approved" then
			approved = approved + 1
			push(free, su)
		else
			lost = lost + 1
		end
	end
end

function init(args)
	local mode = modes[args[1]]
	assert(mode, "bench/suite.lua: unknown mode " .. tostring(args[1]))
	mode(args)
end

function done(summary, latency, requests)
	local t = { approved = 0, created = 0, saved = 0, idle = 0, lost = 0 }
	for _, thread in ipairs(threads) do
		for k in pairs(t) do
			t[k] = t[k] + (tonumber(thread:get(k)) or 0)
		end
	end
	io.write(string.format("suite: approved %d created %d saved %d idle %d lost %d\n",
	    t.approved, t.created, t.saved, t.idle, t.lost))
end
