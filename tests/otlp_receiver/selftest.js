#!/usr/bin/env node
/* selftest.js - owns: checking the receiver's strictness checks against every generated OTLP type.
 *
 * For each Export*ServiceRequest it builds a message that sets every declared field of every
 * reachable type (recursion bounded), encodes it with the generated encoder, and asserts:
 * the wire walker finds no unknown field and no error, the generated decoder skips nothing,
 * the JSON form passes checkJson cleanly and round-trips to the same bytes, and an added
 * undeclared field is found at the right path (also packed vs unpacked repeated scalars).
 * Prints `N passed, N failed`; exit status 1 on failure. */
'use strict';

const { loadSchema, LONG_KINDS, INT32_KINDS } = require('./schema');
const { walkWire, checkJson, idsToHex } = require('./check');

const { types, protobuf } = loadSchema();
let passed = 0;
let failed = 0;

function ok(cond, what) {
  if (cond) passed++;
  else {
    failed++;
    process.stdout.write(`FAIL ${what}\n`);
  }
}

// stack: the types being built; a recursive type (AnyValue in ArrayValue) is entered twice at most.
function sample(f, stack) {
  if (f.kind === 'message') return stack.filter((t) => t === f.type).length >= 2 ? {} : build(f.type, stack);
  if (f.kind === 'string') return `s${f.no}`;
  if (f.kind === 'bytes') return f.hexId ? Buffer.alloc(f.name === 'traceId' ? 16 : 8, f.no) : Buffer.from([f.no, 0, 255]);
  if (f.kind === 'bool') return true;
  if (LONG_KINDS.has(f.kind)) return f.kind.startsWith('s') && f.kind !== 'sfixed64' ? '-9007199254740993' : '9007199254740993';
  if (f.enum) return 1;
  if (INT32_KINDS.has(f.kind)) return f.kind.startsWith('s') ? -(f.no + 1) : f.no + 1;
  return 1.25; // double, float
}

function build(typeName, stack = []) {
  const obj = {};
  const inner = [...stack, typeName];
  for (const f of Object.values(types[typeName].fields)) {
    obj[f.name] = f.repeated ? [sample(f, inner), sample(f, inner)] : sample(f, inner);
  }
  return obj;
}

// Every type reached from a request, to prove the sample covers all of them.
function reached(typeName, seen) {
  seen.add(typeName);
  for (const f of Object.values(types[typeName].fields)) {
    if (f.kind === 'message' && !seen.has(f.type)) reached(f.type, seen);
  }
  return seen;
}

function key(no, wt) {
  return protobuf.Writer.create().uint32(no * 8 + wt).finish();
}

for (const sig of ['trace', 'metrics', 'logs']) {
  const what = sig === 'trace' ? 'Trace' : sig[0].toUpperCase() + sig.slice(1);
  const name = `opentelemetry.proto.collector.${sig}.v1.Export${what}ServiceRequest`;
  const T = types[name].ctor;
  const msg = T.fromObject(build(name));
  const bytes = Buffer.from(T.encode(msg).finish());
  const all = reached(name, new Set());
  const fieldCount = [...all].reduce((n, t) => n + Object.keys(types[t].fields).length, 0);
  process.stdout.write(`${sig}: ${all.size} types, ${fieldCount} fields, ${bytes.length} bytes\n`);
  const w = walkWire(types, name, bytes);
  ok(w.unknown.length === 0 && w.errors.length === 0, `${sig}: walker on a full message: ${JSON.stringify(w)}`);

  const reader = protobuf.Reader.create(bytes);
  const skip = reader.skipType;
  let skipped = 0;
  reader.skipType = function countedSkip(wt) {
    skipped++;
    return skip.call(this, wt);
  };
  T.decode(reader);
  ok(skipped === 0, `${sig}: generated decoder skipped ${skipped} fields of a full message`);

  const plain = idsToHex(types, name, T.toObject(msg, { longs: String, enums: Number, bytes: String, json: true }));
  const text = JSON.parse(JSON.stringify(plain));
  const c = checkJson(types, name, text);
  ok(c.unknown.length + c.errors.length + c.warnings.length === 0, `${sig}: checkJson: ${JSON.stringify(c)}`);
  const again = Buffer.from(T.encode(T.fromObject(c.value)).finish());
  ok(again.equals(bytes), `${sig}: JSON round trip changes the bytes`);

  // An undeclared field at the top and one inside the first nested message of field 1.
  const top = Buffer.concat([bytes, key(999, 0), Buffer.from([1])]);
  const u = walkWire(types, name, top).unknown;
  ok(u.length === 1 && u[0].field === 999 && u[0].path === '.', `${sig}: top-level unknown: ${JSON.stringify(u)}`);
  const inner = T.toObject(msg, { longs: String, bytes: String });
  const first = Object.keys(inner)[0];
  const extra = build(name);
  extra[first] = [extra[first][0]];
  const one = Buffer.from(T.encode(T.fromObject(extra)).finish());
  // field 1 is the only top-level field: rewrite its length-delimited payload with an extra field.
  const r = protobuf.Reader.create(one);
  r.uint32();
  const len = r.uint32();
  const payload = Buffer.concat([one.subarray(r.pos, r.pos + len), key(77, 2), Buffer.from([0])]);
  const rebuilt = Buffer.from(protobuf.Writer.create().uint32(10).bytes(payload).finish());
  const u2 = walkWire(types, name, rebuilt).unknown;
  ok(u2.length === 1 && u2[0].field === 77 && u2[0].path === `.${first}[0]`, `${sig}: nested unknown: ${JSON.stringify(u2)}`);
}

// Repeated scalars: packed (what encoders write) and unpacked (also valid proto3) both walk clean.
{
  const name = 'opentelemetry.proto.metrics.v1.HistogramDataPoint';
  const fixed = (n) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer);
  const unpacked = Buffer.concat([key(6, 1), fixed(3), key(6, 1), fixed(4)]);
  const packed = Buffer.concat([key(6, 2), Buffer.from([16]), fixed(3), fixed(4)]);
  for (const [what, b] of [['unpacked', unpacked], ['packed', packed]]) {
    const w = walkWire(types, name, b);
    const d = types[name].ctor.decode(b);
    ok(w.unknown.length + w.errors.length === 0 && d.bucketCounts.length === 2, `${what} bucketCounts`);
  }
  const wrong = walkWire(types, name, Buffer.concat([key(6, 5), Buffer.alloc(4)]));
  ok(wrong.errors.length === 1, 'fixed32 wire type on a fixed64 field is an error');
}

process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
