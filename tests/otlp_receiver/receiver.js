#!/usr/bin/env node
/* receiver.js - owns: the loopback OTLP/HTTP test receiver (HTTP server, fault modes, output files).
 *
 * node receiver.js --port 0 --out DIR [--port-file F] [--max-body BYTES] [--record-header NAME]...
 *                  [--allow-unknown TYPE:FIELD]... [--exit-on-stdin-eof]
 * Prints {"listening":"127.0.0.1:PORT"} on stdout once bound; everything else goes to stderr.
 * Every export request is decoded with the official generated code (see schema.js) and checked
 * for unknown fields (see check.js). See README.md for the control API and the output files. */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const { loadSchema } = require('./schema');
const { walkWire, checkJson, idsToHex } = require('./check');

const HOST = '127.0.0.1';
const PB = 'application/x-protobuf';
const JSON_CT = 'application/json';
const NS = 'opentelemetry.proto.collector';

const SIGNALS = {
  '/v1/traces': { name: 'traces', pkg: `${NS}.trace.v1`, what: 'Trace', rejected: 'rejectedSpans' },
  '/v1/metrics': { name: 'metrics', pkg: `${NS}.metrics.v1`, what: 'Metrics', rejected: 'rejectedDataPoints' },
  '/v1/logs': { name: 'logs', pkg: `${NS}.logs.v1`, what: 'Logs', rejected: 'rejectedLogRecords' },
};
for (const s of Object.values(SIGNALS)) {
  s.req = `${s.pkg}.Export${s.what}ServiceRequest`;
  s.resp = `${s.pkg}.Export${s.what}ServiceResponse`;
}
const GRPC_CODE = { 400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 413: 8, 429: 8, 500: 13, 502: 14, 503: 14, 504: 4 };

function parseArgs(argv) {
  const a = { port: 0, out: null, portFile: null, maxBody: 32 << 20, recordHeaders: [], allow: [], stdinEof: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--port') a.port = Number(next());
    else if (k === '--out') a.out = next();
    else if (k === '--port-file') a.portFile = next();
    else if (k === '--max-body') a.maxBody = Number(next());
    else if (k === '--record-header') a.recordHeaders.push(next().toLowerCase());
    else if (k === '--allow-unknown') a.allow.push(next());
    else if (k === '--exit-on-stdin-eof') a.stdinEof = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.out) throw new Error('--out DIR is required');
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error('bad --port');
  return a;
}

function log(msg, extra) {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);
}

function newStats() {
  const sig = () => ({ requests: 0, accepted: 0 });
  return {
    requests: 0, by_status: {}, resets: 0, decode_errors: 0, unknown_field_hits: 0, json_warnings: 0,
    by_signal: { traces: sig(), metrics: sig(), logs: sig() },
    decoded: { spans: 0, data_points: 0, log_records: 0 },
    accepted: { spans: 0, data_points: 0, log_records: 0 },
  };
}

function countItems(signal, obj) {
  const n = { spans: 0, data_points: 0, log_records: 0 };
  const arr = (x) => (Array.isArray(x) ? x : []);
  if (signal === 'traces') {
    for (const r of arr(obj.resourceSpans)) for (const s of arr(r.scopeSpans)) n.spans += arr(s.spans).length;
  } else if (signal === 'metrics') {
    for (const r of arr(obj.resourceMetrics)) {
      for (const s of arr(r.scopeMetrics)) {
        for (const m of arr(s.metrics)) {
          for (const k of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
            if (m[k]) n.data_points += arr(m[k].dataPoints).length;
          }
        }
      }
    }
  } else {
    for (const r of arr(obj.resourceLogs)) for (const s of arr(r.scopeLogs)) n.log_records += arr(s.logRecords).length;
  }
  return n;
}

// Parses and validates a POST /__control body into a mode object; throws on bad input.
function parseMode(body) {
  const m = JSON.parse(body);
  const times = m.times === undefined || m.times === null ? null : Number(m.times);
  if (times !== null && (!Number.isInteger(times) || times < 1)) throw new Error('times must be an integer >= 1');
  const mode = { mode: m.mode, times_left: times };
  // for_ms (optional, any mode but down/refuse, which has its own): the mode lasts that long.
  if (m.for_ms !== undefined && m.mode !== 'down') {
    mode.until_ms = Number(m.for_ms);
    if (!Number.isFinite(mode.until_ms) || mode.until_ms <= 0 || mode.until_ms > 600000) {
      throw new Error('bad for_ms');
    }
  }
  switch (m.mode) {
    case 'normal':
    case 'up':
      return { mode: 'normal', times_left: null };
    case 'status':
      mode.status = Number(m.status);
      if (!Number.isInteger(mode.status) || mode.status < 200 || mode.status > 599) throw new Error('bad status');
      if (m.retry_after !== undefined && m.retry_after !== null) mode.retry_after = String(m.retry_after);
      if (m.retry_after_http_date_s !== undefined) mode.retry_after_http_date_s = Number(m.retry_after_http_date_s);
      if (m.message !== undefined) mode.message = String(m.message);
      return mode;
    case 'partial_success':
      mode.rejected = Number(m.rejected || 0);
      mode.message = m.message === undefined ? '' : String(m.message);
      if (!Number.isInteger(mode.rejected) || mode.rejected < 0) throw new Error('bad rejected');
      return mode;
    case 'delay':
      mode.ms = Number(m.ms);
      if (!Number.isFinite(mode.ms) || mode.ms < 0 || mode.ms > 600000) throw new Error('bad ms');
      return mode;
    case 'down':
      mode.how = m.how || 'reset';
      if (mode.how === 'refuse') {
        mode.for_ms = Number(m.for_ms);
        if (!Number.isFinite(mode.for_ms) || mode.for_ms <= 0 || mode.for_ms > 600000) {
          throw new Error('down/refuse needs for_ms (the listener comes back by itself)');
        }
      } else if (mode.how !== 'reset') {
        throw new Error('how must be reset or refuse');
      }
      return mode;
    default:
      throw new Error(`unknown mode ${JSON.stringify(m.mode)}`);
  }
}

class Receiver {
  constructor(args) {
    this.args = args;
    this.schema = loadSchema();
    this.types = this.schema.types;
    this.stats = newStats();
    this.mode = { mode: 'normal', times_left: null };
    this.seq = 0;
    this.lines = { traces: 0, metrics: 0, logs: 0 };
    this.waiters = new Set();
    fs.mkdirSync(args.out, { recursive: true });
    this.files = {};
    for (const f of ['requests', 'traces', 'metrics', 'logs']) {
      this.files[f] = path.join(args.out, `${f}.jsonl`);
      fs.writeFileSync(this.files[f], '');
    }
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('clientError', (err, sock) => sock.destroy());
  }

  listen(port, cb) {
    this.server.listen(port, HOST, () => {
      this.port = this.server.address().port;
      cb();
    });
  }

  onRequest(req, res) {
    const url = new URL(req.url, `http://${HOST}`);
    if (url.pathname === '/__control') return this.onControl(req, res);
    if (url.pathname === '/__stats') return this.sendJson(res, 200, this.statsView());
    if (url.pathname === '/__wait') return this.onWait(url, res);
    const sig = SIGNALS[url.pathname];
    if (!sig) return this.sendJson(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return this.sendJson(res, 405, { error: 'POST only' });
    const rec = this.baseRecord(req, sig);
    if (this.mode.mode === 'down') {
      this.consumeMode();
      rec.reset = true;
      rec.status = 0;
      this.record(rec, null, null);
      return req.socket.destroy();
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= this.args.maxBody) chunks.push(c);
    });
    req.on('error', () => {});
    req.on('end', () => {
      rec.body_bytes = size;
      if (size > this.args.maxBody) return this.finish(res, rec, sig, null, 413, 'body too large');
      this.onExport(res, rec, sig, Buffer.concat(chunks));
    });
  }

  baseRecord(req, sig) {
    const h = req.headers;
    const custom = {};
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith('x-') || this.args.recordHeaders.includes(k)) custom[k] = v;
    }
    return {
      seq: ++this.seq, time: new Date().toISOString(), method: req.method, path: req.url,
      signal: sig.name, content_type: h['content-type'] || null, content_encoding: h['content-encoding'] || null,
      user_agent: h['user-agent'] || null, headers: custom, header_names: Object.keys(h).sort(),
      http_version: req.httpVersion, body_bytes: 0,
    };
  }

  onExport(res, rec, sig, body) {
    const ctype = (rec.content_type || '').split(';')[0].trim().toLowerCase();
    rec.format = ctype === PB ? 'protobuf' : ctype === JSON_CT ? 'json' : null;
    if (!rec.format) return this.finish(res, rec, sig, null, 415, `unsupported content-type ${rec.content_type}`);
    const enc = (rec.content_encoding || 'identity').trim().toLowerCase();
    let raw = body;
    if (enc === 'gzip') {
      try {
        raw = zlib.gunzipSync(body, { maxOutputLength: this.args.maxBody });
      } catch (e) {
        return this.finish(res, rec, sig, null, 400, `gzip: ${e.message}`);
      }
    } else if (enc !== 'identity') {
      return this.finish(res, rec, sig, null, 415, `unsupported content-encoding ${enc}`);
    }
    rec.decoded_bytes = raw.length;
    const d = rec.format === 'protobuf' ? this.decodeProtobuf(sig, raw) : this.decodeJson(sig, raw);
    Object.assign(rec, d.meta);
    if (d.error) return this.finish(res, rec, sig, null, 400, d.error);
    rec.items = countItems(sig.name, d.object);
    this.applyMode(res, rec, sig, d.object);
  }

  // Splits unknown-field hits into failures and the ones allowed with --allow-unknown.
  splitUnknown(hits) {
    const allowed = [];
    const unknown = [];
    for (const u of hits) {
      const key = `${u.type}:${u.field !== undefined ? u.field : u.key}`;
      (this.args.allow.includes(key) ? allowed : unknown).push(u);
    }
    return { unknown_fields: unknown, allowed_unknown_fields: allowed };
  }

  decodeProtobuf(sig, raw) {
    const T = this.types[sig.req].ctor;
    const wire = walkWire(this.types, sig.req, raw);
    const meta = this.splitUnknown(wire.unknown);
    // Count the generated decoder's own skips of undeclared fields as a cross-check of the walker.
    const reader = this.schema.protobuf.Reader.create(raw);
    const skip = reader.skipType;
    let skipped = 0;
    reader.skipType = function countedSkip(wt) {
      skipped++;
      return skip.call(this, wt);
    };
    let msg;
    try {
      msg = T.decode(reader);
    } catch (e) {
      return { meta, error: `decode: ${e.message}` };
    }
    if (wire.errors.length) return { meta, error: `wire: ${wire.errors.join('; ')}` };
    if (skipped !== wire.unknown.length) {
      return { meta, error: `cross-check: decoder skipped ${skipped} fields, walker found ${wire.unknown.length}` };
    }
    const again = Buffer.from(T.encode(msg).finish());
    meta.reencode_identical = again.equals(raw);
    return { meta, object: this.toPlain(sig, T, msg) };
  }

  decodeJson(sig, raw) {
    const T = this.types[sig.req].ctor;
    let obj;
    try {
      obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch (e) {
      return { meta: {}, error: `json: ${e.message}` };
    }
    const chk = checkJson(this.types, sig.req, obj);
    const meta = this.splitUnknown(chk.unknown);
    meta.json_warnings = chk.warnings;
    if (chk.errors.length) return { meta, error: `json: ${chk.errors.join('; ')}` };
    let msg;
    try {
      msg = T.fromObject(chk.value);
    } catch (e) {
      return { meta, error: `fromObject: ${e.message}` };
    }
    const bad = T.verify(msg);
    if (bad) return { meta, error: `verify: ${bad}` };
    return { meta, object: this.toPlain(sig, T, msg) };
  }

  toPlain(sig, T, msg) {
    const o = T.toObject(msg, { longs: String, enums: Number, bytes: String, json: true });
    return idsToHex(this.types, sig.req, o);
  }

  consumeMode() {
    const m = this.mode;
    const applied = { ...m };
    if (m.times_left !== null && --m.times_left <= 0) this.mode = { mode: 'normal', times_left: null };
    return applied;
  }

  applyMode(res, rec, sig, object) {
    const m = this.mode.mode === 'normal' ? this.mode : this.consumeMode();
    rec.mode = m.mode;
    if (m.mode === 'status') {
      const extra = {};
      if (m.retry_after !== undefined) extra['Retry-After'] = m.retry_after;
      if (m.retry_after_http_date_s !== undefined) {
        extra['Retry-After'] = new Date(Date.now() + m.retry_after_http_date_s * 1000).toUTCString();
      }
      rec.retry_after = extra['Retry-After'] || null;
      if (m.status >= 200 && m.status < 300) return this.finish(res, rec, sig, object, m.status, null, {}, extra);
      return this.finish(res, rec, sig, object, m.status, m.message || 'injected by test receiver', null, extra);
    }
    if (m.mode === 'partial_success') {
      // Only non-default fields, as a proto3 encoder would write them.
      const ps = {};
      if (m.rejected) ps[sig.rejected] = m.rejected;
      if (m.message) ps.errorMessage = m.message;
      return this.finish(res, rec, sig, object, 200, null, { partialSuccess: ps });
    }
    if (m.mode === 'delay') {
      rec.delay_ms = m.ms;
      return setTimeout(() => this.finish(res, rec, sig, object, 200, null, {}), m.ms);
    }
    return this.finish(res, rec, sig, object, 200, null, {});
  }

  // Sends the response, then records it; decoded data is written only when the client got a 2xx.
  finish(res, rec, sig, object, status, error, respObj, extraHeaders) {
    const json = rec.format === 'json';
    let body;
    if (status >= 200 && status < 300) {
      const R = this.types[sig.resp].ctor;
      const msg = R.fromObject(respObj || {});
      body = json
        ? Buffer.from(JSON.stringify(R.toObject(msg, { longs: String, enums: Number, json: true })))
        : Buffer.from(R.encode(msg).finish());
    } else {
      body = this.statusBody(status, error, json);
    }
    rec.status = status;
    if (error) rec.error = error;
    rec.client_closed = res.socket === null || res.socket.destroyed;
    // Record first: a test that has the response in hand must find the record on disk.
    const write = object && status >= 200 && status < 300 && !rec.client_closed;
    this.record(rec, write ? sig.name : null, object);
    res.writeHead(status, { 'Content-Type': json ? JSON_CT : PB, 'Content-Length': body.length, ...extraHeaders });
    res.end(body);
  }

  // google.rpc.Status {code = 1, message = 2}, hand-written with the protobufjs Writer.
  statusBody(status, message, json) {
    const code = GRPC_CODE[status] || 2;
    const msg = message || '';
    if (json) return Buffer.from(JSON.stringify({ code, message: msg }));
    const w = this.schema.protobuf.Writer.create();
    w.uint32(8).int32(code);
    if (msg) w.uint32(18).string(msg);
    return Buffer.from(w.finish());
  }

  record(rec, signal, object) {
    const s = this.stats;
    s.requests++;
    s.by_signal[rec.signal].requests++;
    if (rec.reset) s.resets++;
    else s.by_status[rec.status] = (s.by_status[rec.status] || 0) + 1;
    if (rec.error && rec.status === 400) s.decode_errors++;
    s.unknown_field_hits += (rec.unknown_fields || []).length;
    s.json_warnings += (rec.json_warnings || []).length;
    for (const k of Object.keys(s.decoded)) s.decoded[k] += rec.items ? rec.items[k] : 0;
    if (signal) {
      rec.out_line = this.lines[signal]++;
      fs.appendFileSync(this.files[signal], `${JSON.stringify(object)}\n`);
      s.by_signal[signal].accepted++;
      for (const k of Object.keys(s.accepted)) s.accepted[k] += rec.items[k];
    }
    fs.appendFileSync(this.files.requests, `${JSON.stringify(rec)}\n`);
    this.checkWaiters();
  }

  statsView() {
    return { ...this.stats, mode: this.mode, port: this.port };
  }

  onControl(req, res) {
    if (req.method === 'GET') return this.sendJson(res, 200, { mode: this.mode });
    if (req.method !== 'POST') return this.sendJson(res, 405, { error: 'GET or POST' });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let mode;
      try {
        mode = parseMode(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        return this.sendJson(res, 400, { error: e.message });
      }
      log('mode', { mode });
      if (mode.mode === 'down' && mode.how === 'refuse') {
        this.mode = { mode: 'normal', times_left: null };
        this.refuseFor(mode.for_ms, res);
        return this.sendJson(res, 200, { ok: true, mode }, { Connection: 'close' });
      }
      this.mode = mode;
      clearTimeout(this.modeTimer);
      if (mode.until_ms !== undefined) {
        this.modeTimer = setTimeout(() => {
          if (this.mode === mode) this.mode = { mode: 'normal', times_left: null };
          log('mode expired', { mode });
        }, mode.until_ms);
      }
      return this.sendJson(res, 200, { ok: true, mode });
    });
  }

  // Stops listening (connection refused) and listens again on the same port after ms. The listener
  // closes before the control reply is sent, so the caller's next connect is already refused.
  refuseFor(ms, res) {
    this.server.close();
    res.on('finish', () => this.server.closeAllConnections());
    setTimeout(() => {
      this.server.listen(this.port, HOST, () => log('listening again', { port: this.port }));
    }, ms);
  }

  onWait(url, res) {
    const q = url.searchParams;
    const w = {
      res, signal: q.get('signal') || 'any',
      requests: q.has('requests') ? Number(q.get('requests')) : null,
      accepted: q.has('accepted') ? Number(q.get('accepted')) : null,
    };
    const timeout = Math.min(Number(q.get('timeout_ms') || 10000), 120000);
    if (!['any', ...Object.keys(this.stats.by_signal)].includes(w.signal)) {
      return this.sendJson(res, 400, { error: 'bad signal' });
    }
    if (this.waitDone(w)) return this.sendJson(res, 200, { ok: true, stats: this.statsView() });
    w.timer = setTimeout(() => {
      this.waiters.delete(w);
      this.sendJson(res, 200, { ok: false, stats: this.statsView() });
    }, timeout);
    this.waiters.add(w);
  }

  waitDone(w) {
    const pick = (k) => (w.signal === 'any'
      ? Object.values(this.stats.by_signal).reduce((a, s) => a + s[k], 0)
      : this.stats.by_signal[w.signal][k]);
    return (w.requests === null || pick('requests') >= w.requests) &&
      (w.accepted === null || pick('accepted') >= w.accepted);
  }

  checkWaiters() {
    for (const w of this.waiters) {
      if (!this.waitDone(w)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      this.sendJson(w.res, 200, { ok: true, stats: this.statsView() });
    }
  }

  sendJson(res, status, obj, headers) {
    const body = Buffer.from(`${JSON.stringify(obj)}\n`);
    res.writeHead(status, { 'Content-Type': JSON_CT, 'Content-Length': body.length, ...headers });
    res.end(body);
  }
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`receiver: ${e.message}\n`);
    process.exit(2);
  }
  const rx = new Receiver(args);
  const stop = (why) => {
    log('stopping', { why });
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (args.stdinEof) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }
  rx.server.on('error', (e) => {
    process.stderr.write(`receiver: ${e.message}\n`);
    process.exit(1);
  });
  rx.listen(args.port, () => {
    if (args.portFile) {
      fs.writeFileSync(`${args.portFile}.tmp`, `${rx.port}\n`);
      fs.renameSync(`${args.portFile}.tmp`, args.portFile);
    }
    log('decoder', { file: rx.schema.file, types: Object.keys(rx.types).length });
    process.stdout.write(`${JSON.stringify({ listening: `${HOST}:${rx.port}` })}\n`);
  });
}

if (require.main === module) main();

module.exports = { Receiver, parseMode, SIGNALS };
