-- Argo CD health check for netfence.dev/TenantIsolation.
--
-- Reads what the operator writes (docs/gitops-health.md): status.observedGeneration and the
-- Ready, Degraded and Conflict conditions, each carrying the generation it describes.
--   Progressing  no status yet, a generation the operator has not observed, or Ready not True
--                without a problem (policies still being written, namespaces onboarding)
--   Degraded     Conflict True, Degraded True, or Ready False for InvalidSpec,
--                NamespaceConflict or ApplyFailed
--   Healthy      Ready True for the current generation (Reconciled, or AuditOnly)
-- Guarantees: returns a table with status and message for any object, also one without
-- metadata, status or conditions; never Healthy for a generation the operator has not observed.
-- Assumes: Lua 5.1 as Argo CD embeds it (gopher-lua): no goto, no //, no utf8 library.
local hs = {}

local function find(conditions, kind)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == kind then
      return c
    end
  end
  return nil
end

local function says(c)
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    if text ~= "" then
      text = text .. ": "
    end
    text = text .. c.message
  end
  return text
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status

if type(status) ~= "table" or type(status.conditions) ~= "table" or #status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the netfence operator to report status"
  return hs
end

local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the netfence operator to observe generation " .. tostring(generation) ..
    " (observed " .. tostring(observed or "none") .. ")"
  return hs
end

local ready = find(status.conditions, "Ready")
local degraded = find(status.conditions, "Degraded")
local conflict = find(status.conditions, "Conflict")

-- A condition written for an older generation says nothing about this one.
local function current(c)
  return c ~= nil and (generation == nil or c.observedGeneration == nil or c.observedGeneration >= generation)
end

if current(conflict) and conflict.status == "True" then
  hs.status = "Degraded"
  hs.message = "Conflict: " .. says(conflict)
  return hs
end
if current(degraded) and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = says(degraded)
  return hs
end

local failing = { InvalidSpec = true, NamespaceConflict = true, ApplyFailed = true }
if current(ready) and ready.status == "False" and failing[ready.reason] then
  hs.status = "Degraded"
  hs.message = says(ready)
  return hs
end

if not current(ready) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition of generation " .. tostring(generation)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = says(ready)
  return hs
end

hs.status = "Progressing"
hs.message = says(ready)
return hs
