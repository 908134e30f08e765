"""faults.py - owns: the fault catalogue, parsing fault specs (header, model name, JSON),
the scripted fault queue, the --schedule rules and the bounded log of received requests.

All mutable state lives in one State object guarded by its lock; handler threads share it.
"""

import collections
import json
import threading
import time

# name -> (kind, primary parameter). "replace" faults answer instead of the normal handling
# (no auth/body/model checks, like a gateway in front failing); "modify" faults go through
# normal handling and alter the answer. The primary parameter is what a trailing number in a
# model name (mock-fault-status-503) or a bare value (X-Mock-Fault: delay=200) sets.
CATALOGUE = {
    "status": ("replace", "status"),
    "rate_limit": ("replace", "retry_after"),
    "insufficient_quota": ("replace", None),
    "server_error": ("replace", "status"),
    "invalid_request_500": ("replace", None),
    "request_id_in_message": ("replace", "status"),
    "hang": ("replace", None),
    "html_404": ("replace", None),
    "redirect": ("replace", "status"),
    "empty_200": ("replace", None),
    "delay": ("modify", "ms"),
    "stream_cut": ("modify", "after"),
    "responses_failed": ("modify", None),
    "responses_incomplete": ("modify", None),
    "responses_error": ("modify", None),
    "invalid_json": ("modify", None),
    "no_usage": ("modify", None),
    "shape_change": ("modify", None),
    "model_substituted": ("modify", "model"),
    "accept_any_key": ("modify", None),
}
MODEL_PREFIX = "mock-fault-"
QUEUE_RESERVED = ("fault", "times", "path")
RULE_RESERVED = ("fault", "path", "every", "from_s", "until_s", "period_s", "window_s",
                 "offset_s")
MAX_QUEUE = 1000
MAX_RULES = 100


class FaultError(ValueError):
    pass


class Fault:
    def __init__(self, name, params, source):
        if name not in CATALOGUE:
            raise FaultError("unknown fault %r (known: %s)" % (name, ", ".join(sorted(CATALOGUE))))
        self.name = name
        self.params = dict(params)
        self.source = source
        self.kind = CATALOGUE[name][0]
        self._validate()

    def _validate(self):
        for key in ("status", "retry_after", "ms", "after", "chunk_ms", "max_ms", "rst"):
            if key in self.params:
                v = self.params[key]
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise FaultError("fault %s: %s must be a non-negative integer" %
                                     (self.name, key))
        st = self.params.get("status")
        if st is not None and not 100 <= st <= 599:
            raise FaultError("fault %s: status %d out of range" % (self.name, st))
        if self.name == "server_error" and st is not None and st < 500:
            raise FaultError("fault server_error: status must be 5xx")
        if self.name == "redirect" and st is not None and not 300 <= st <= 399:
            raise FaultError("fault redirect: status must be 3xx")

    def int(self, key, default):
        v = self.params.get(key, default)
        return v if isinstance(v, int) else default

    def str(self, key, default):
        v = self.params.get(key, default)
        return v if isinstance(v, str) else default

    def describe(self):
        return {"name": self.name, "source": self.source, "params": self.params}


def _scalar(text):
    text = text.strip()
    if text.isdigit():
        return int(text)
    return text


def parse_header(value):
    """'NAME[;k=v...]' or 'NAME=primary[;k=v...]'."""
    parts = [p.strip() for p in value.split(";") if p.strip()]
    if not parts:
        raise FaultError("empty X-Mock-Fault header")
    head, params = parts[0], {}
    if "=" in head:
        head, primary = head.split("=", 1)
        prim_key = CATALOGUE.get(head.strip(), (None, None))[1]
        if prim_key is None:
            raise FaultError("fault %r takes no primary value" % head.strip())
        params[prim_key] = _scalar(primary)
    for p in parts[1:]:
        if "=" not in p:
            raise FaultError("bad fault parameter %r (want k=v)" % p)
        k, v = p.split("=", 1)
        params[k.strip()] = _scalar(v)
    return Fault(head.strip(), params, "header")


def parse_model(model):
    """'mock-fault-NAME' or 'mock-fault-NAME-VALUE' (VALUE sets the primary parameter)."""
    rest = model[len(MODEL_PREFIX):]
    if rest in CATALOGUE:
        return Fault(rest, {}, "model")
    name, _, value = rest.rpartition("-")
    if name in CATALOGUE and CATALOGUE[name][1] and value:
        return Fault(name, {CATALOGUE[name][1]: _scalar(value)}, "model")
    raise FaultError("unknown fault in model name %r" % model)


def from_json(obj, reserved, source):
    if not isinstance(obj, dict) or not isinstance(obj.get("fault"), str):
        raise FaultError("each entry needs a string 'fault'")
    params = {k: v for k, v in obj.items() if k not in reserved}
    return Fault(obj["fault"], params, source)


def _path_matches(want, path):
    return want is None or want == path


class Rule:
    def __init__(self, obj):
        self.fault = from_json(obj, RULE_RESERVED, "schedule")
        self.path = obj.get("path")
        self.every = obj.get("every")
        self.from_s = obj.get("from_s")
        self.until_s = obj.get("until_s")
        self.period_s = obj.get("period_s")
        self.window_s = obj.get("window_s")
        self.offset_s = obj.get("offset_s", 0)
        for key in ("every", "from_s", "until_s", "period_s", "window_s", "offset_s"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)
                                  or v < 0):
                raise FaultError("schedule rule: %s must be a non-negative number" % key)
        if self.every is not None and (not isinstance(self.every, int) or self.every < 1):
            raise FaultError("schedule rule: every must be an integer >= 1")
        if (self.period_s is None) != (self.window_s is None):
            raise FaultError("schedule rule: period_s and window_s go together")
        if self.period_s is not None and self.period_s <= 0:
            raise FaultError("schedule rule: period_s must be > 0")
        self.count = 0

    def active(self, elapsed):
        if self.from_s is not None and elapsed < self.from_s:
            return False
        if self.until_s is not None and elapsed >= self.until_s:
            return False
        if self.period_s is not None:
            return (elapsed - self.offset_s) % self.period_s < self.window_s
        return True


def load_schedule(text):
    obj = json.loads(text)
    rules = obj.get("rules") if isinstance(obj, dict) else obj
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise FaultError("schedule: want {\"rules\": [...]} with at most %d rules" % MAX_RULES)
    return [Rule(r) for r in rules]


class State:
    def __init__(self, request_log_cap=5000, schedule=None):
        self.lock = threading.Lock()
        self.queue = []
        self.rules = schedule or []
        self.requests = collections.deque(maxlen=request_log_cap)
        self.requests_dropped = 0
        self.seq = 0
        self.started = time.monotonic()
        self.stopping = threading.Event()

    # -- scripted queue --
    def enqueue(self, entries):
        parsed = []
        for e in entries:
            f = from_json(e, QUEUE_RESERVED, "queue")
            times = e.get("times", 1)
            if not isinstance(times, int) or isinstance(times, bool) or times == 0 or times < -1:
                raise FaultError("times must be a positive integer or -1 (forever)")
            path = e.get("path")
            if path is not None and not isinstance(path, str):
                raise FaultError("path must be a string")
            parsed.append({"fault": f, "times": times, "path": path})
        with self.lock:
            if len(self.queue) + len(parsed) > MAX_QUEUE:
                raise FaultError("fault queue is capped at %d entries" % MAX_QUEUE)
            self.queue.extend(parsed)
            return len(self.queue)

    def clear_queue(self):
        with self.lock:
            n = len(self.queue)
            self.queue = []
            return n

    def list_queue(self):
        with self.lock:
            return [{"fault": e["fault"].name, "params": e["fault"].params,
                     "times": e["times"], "path": e["path"]} for e in self.queue]

    def _take_queued(self, path):
        with self.lock:
            for i, e in enumerate(self.queue):
                if _path_matches(e["path"], path):
                    if e["times"] > 0:
                        e["times"] -= 1
                        if e["times"] == 0:
                            del self.queue[i]
                    return e["fault"]
        return None

    def _take_scheduled(self, path):
        elapsed = time.monotonic() - self.started
        with self.lock:
            for r in self.rules:
                if not _path_matches(r.path, path) or not r.active(elapsed):
                    continue
                if r.every is None:
                    return r.fault
                r.count += 1
                if r.count % r.every == 0:
                    return r.fault
        return None

    def select(self, header, path, model):
        """Precedence: header, scripted queue, model name, schedule. Raises FaultError."""
        if header:
            return parse_header(header)
        f = self._take_queued(path)
        if f is not None:
            return f
        if isinstance(model, str) and model.startswith(MODEL_PREFIX):
            return parse_model(model)
        return self._take_scheduled(path)

    # -- request log --
    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            if len(self.requests) == self.requests.maxlen:
                self.requests_dropped += 1
            self.requests.append(entry)
        return entry

    def update(self, entry, **fields):
        with self.lock:
            entry.update(fields)

    def snapshot(self):
        with self.lock:
            return [dict(e) for e in self.requests], self.requests_dropped

    def clear_requests(self):
        with self.lock:
            n = len(self.requests)
            self.requests.clear()
            return n
