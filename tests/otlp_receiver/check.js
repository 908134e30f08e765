/* check.js - owns: strictness checks that the generated protobufjs code does not do by itself.
 *
 * - walkWire: walks protobuf wire format against the schema derived from the generated decoders
 *   and reports every field number a type does not declare (the generated decoders skip those
 *   silently), wire-type mismatches on declared fields, and truncation.
 * - checkJson: walks an OTLP/JSON body against the same schema: unknown keys, wrong JSON types,
 *   hex trace/span ids; returns a copy with ids converted to bytes, ready for fromObject().
 * - idsToHex: converts the id fields of a toObject() result (base64) to lowercase hex.
 * All functions are pure: they only read their inputs and return new values. */
'use strict';

const { LONG_KINDS, INT32_KINDS } = require('./schema');

function readVarint(buf, pos, end) {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return null;
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return { v, pos };
  }
  return null;
}

// Length of the value that starts at pos for wire type wt, or null when it does not fit.
function valueExtent(buf, pos, end, wt) {
  if (wt === 0) {
    const r = readVarint(buf, pos, end);
    return r ? { start: pos, next: r.pos } : null;
  }
  if (wt === 1) return pos + 8 <= end ? { start: pos, next: pos + 8 } : null;
  if (wt === 5) return pos + 4 <= end ? { start: pos, next: pos + 4 } : null;
  if (wt === 2) {
    const r = readVarint(buf, pos, end);
    if (!r || r.pos + r.v > end) return null;
    return { start: r.pos, next: r.pos + r.v };
  }
  return null; // 3/4 (groups) never appear in OTLP; 6/7 are invalid
}

function walkMessage(types, typeName, buf, start, end, path, out, depth) {
  const t = types[typeName];
  const counts = {};
  let pos = start;
  if (depth > 64) {
    out.errors.push(`${path}: nesting deeper than 64`);
    return;
  }
  while (pos < end) {
    const at = pos;
    const tag = readVarint(buf, pos, end);
    if (!tag) {
      out.errors.push(`${path}: truncated tag at offset ${at}`);
      return;
    }
    const no = Math.floor(tag.v / 8);
    const wt = tag.v % 8;
    const ext = valueExtent(buf, tag.pos, end, wt);
    if (no === 0 || !ext) {
      out.errors.push(`${path}: bad field ${no} wire type ${wt} at offset ${at}`);
      return;
    }
    pos = ext.next;
    const f = t.fields[no];
    if (!f) {
      out.unknown.push({ path: path || '.', type: typeName, field: no, wire_type: wt, offset: at });
      continue;
    }
    if (wt !== f.wire && !(f.packed && wt === 2)) {
      out.errors.push(`${path}.${f.name}: wire type ${wt}, declared ${f.wire} (offset ${at})`);
      continue;
    }
    const idx = counts[no] || 0;
    counts[no] = idx + 1;
    if (f.kind === 'message') {
      const sub = f.repeated ? `${path}.${f.name}[${idx}]` : `${path}.${f.name}`;
      walkMessage(types, f.type, buf, ext.start, ext.next, sub, out, depth + 1);
    }
  }
}

/* Returns { unknown: [{path, type, field, wire_type, offset}], errors: [string] }. */
function walkWire(types, typeName, buf) {
  const out = { unknown: [], errors: [] };
  walkMessage(types, typeName, buf, 0, buf.length, '', out, 0);
  return out;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DEC_RE = /^-?[0-9]+$/;
const FLOAT_WORDS = new Set(['NaN', 'Infinity', '-Infinity']);

function checkScalar(f, v, where, out) {
  const bad = (what) => {
    out.errors.push(`${where}: ${what} (got ${JSON.stringify(v)})`);
    return v;
  };
  if (f.kind === 'string') return typeof v === 'string' ? v : bad('string expected');
  if (f.kind === 'bool') return typeof v === 'boolean' ? v : bad('boolean expected');
  if (f.kind === 'bytes') {
    if (typeof v !== 'string') return bad('string expected');
    if (f.hexId) {
      if (!HEX_RE.test(v)) return bad('hex id expected');
      const n = v.length / 2;
      const want = f.name === 'traceId' ? 16 : 8;
      if (n !== 0 && n !== want) out.errors.push(`${where}: id has ${n} bytes, expected ${want}`);
      return Buffer.from(v, 'hex');
    }
    return B64_RE.test(v) ? v : bad('base64 expected');
  }
  if (LONG_KINDS.has(f.kind)) {
    // JSON.parse already rounded a number past 2^53: the value we would report is not the one sent.
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    if (typeof v === 'number' && Number.isInteger(v)) return bad('64-bit integer beyond 2^53 as a JSON number');
    if (typeof v === 'string' && DEC_RE.test(v)) return v;
    return bad('64-bit integer (number or decimal string) expected');
  }
  if (f.enum) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string') out.warnings.push(`${where}: enum given as name ${JSON.stringify(v)}`);
    else bad('enum integer expected');
    return v;
  }
  if (INT32_KINDS.has(f.kind)) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && DEC_RE.test(v)) {
      out.warnings.push(`${where}: 32-bit integer given as string`);
      return v;
    }
    return bad('integer expected');
  }
  if (f.kind === 'double' || f.kind === 'float') {
    if (typeof v === 'number' || FLOAT_WORDS.has(v)) return v;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) {
      out.warnings.push(`${where}: number given as string`);
      return v;
    }
    return bad('number expected');
  }
  return bad(`unhandled kind ${f.kind}`);
}

function checkObject(types, typeName, obj, path, out, depth) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    out.errors.push(`${path || '.'}: object expected for ${typeName}`);
    return {};
  }
  if (depth > 64) {
    out.errors.push(`${path}: nesting deeper than 64`);
    return {};
  }
  const t = types[typeName];
  const copy = {};
  for (const key of Object.keys(obj)) {
    const f = t.byJson[key];
    const where = `${path}.${key}`;
    if (!f) {
      out.unknown.push({ path: path || '.', type: typeName, key });
      continue;
    }
    const v = obj[key];
    if (v === null) continue; // proto3 JSON: null means the default value
    const one = (x, w) =>
      f.kind === 'message' ? checkObject(types, f.type, x, w, out, depth + 1) : checkScalar(f, x, w, out);
    if (f.repeated) {
      if (!Array.isArray(v)) {
        out.errors.push(`${where}: array expected`);
        continue;
      }
      copy[key] = v.map((x, i) => one(x, `${where}[${i}]`));
    } else {
      copy[key] = one(v, where);
    }
  }
  return copy;
}

/* Returns { value, unknown: [{path, type, key}], errors: [string], warnings: [string] }. */
function checkJson(types, typeName, obj) {
  const out = { unknown: [], errors: [], warnings: [] };
  out.value = checkObject(types, typeName, obj, '', out, 0);
  return out;
}

/* In-place: base64 id strings of a toObject({bytes: String}) result become lowercase hex. */
function idsToHex(types, typeName, obj) {
  const t = types[typeName];
  for (const key of Object.keys(obj)) {
    const f = t.byJson[key];
    if (!f) continue;
    if (f.hexId && typeof obj[key] === 'string') {
      obj[key] = Buffer.from(obj[key], 'base64').toString('hex');
    } else if (f.kind === 'message' && obj[key] !== null && typeof obj[key] === 'object') {
      const items = f.repeated ? obj[key] : [obj[key]];
      for (const x of items) idsToHex(types, f.type, x);
    }
  }
  return obj;
}

module.exports = { walkWire, checkJson, idsToHex };
