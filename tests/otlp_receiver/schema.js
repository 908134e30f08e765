/* schema.js - owns: loading the official generated OTLP code and deriving a field table from it.
 *
 * The decoder is the protobufjs static code generated from the official opentelemetry-proto files,
 * as shipped in @opentelemetry/otlp-transformer (build/src/generated/root.js). That code has no
 * reflection data, and its decoders silently skip fields they do not declare. To find such fields
 * we need to know which fields each type declares: we read that from the generated decode()
 * source (one `case N:` per declared field) and cross-check it at load time against the generated
 * encode() source (`id N, wireType W` comments). If the two disagree the load fails loudly,
 * so a different generator output cannot silently weaken the checks. */
'use strict';

const path = require('path');

const GENERATED = '@opentelemetry/otlp-transformer/build/src/generated/root.js';

// protobufjs reader method -> protobuf wire type.
const WIRE_OF = {
  int32: 0, uint32: 0, sint32: 0, int64: 0, uint64: 0, sint64: 0, bool: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  string: 2, bytes: 2,
  fixed32: 5, sfixed32: 5, float: 5,
};
const LONG_KINDS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_KINDS = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
// OTLP/JSON: these bytes fields are hex strings, every other bytes field is base64.
const HEX_ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

function loadRoot() {
  // Resolve from this folder so the receiver works whatever the caller's cwd is.
  const file = require.resolve(GENERATED, { paths: [__dirname] });
  const protobuf = require(require.resolve('protobufjs/minimal', { paths: [path.dirname(file)] }));
  const root = require(file);
  return { root, protobuf, file };
}

function parseDecode(fullName, T) {
  const src = T.decode.toString();
  const fields = {};
  const caseRe = /case (\d+): \{([\s\S]*?)break;/g;
  let m;
  while ((m = caseRe.exec(src)) !== null) {
    const no = Number(m[1]);
    const body = m[2];
    const name = /message\.(\w+)/.exec(body);
    if (!name) throw new Error(`${fullName}: cannot parse decode case ${no}`);
    const f = { no, name: name[1], repeated: body.includes('.push('), packed: false };
    const msg = /\$root\.([\w.]+)\.decode\(/.exec(body);
    const scalar = /message\.\w+(?:\.push\(| = )reader\.(\w+)\(\)/.exec(body);
    if (msg) {
      f.kind = 'message';
      f.type = msg[1];
      f.wire = 2;
    } else if (scalar && scalar[1] in WIRE_OF) {
      f.kind = scalar[1];
      f.wire = WIRE_OF[scalar[1]];
      f.packed = f.repeated && f.wire !== 2;
    } else {
      throw new Error(`${fullName}: unknown read in decode case ${no}`);
    }
    fields[no] = f;
  }
  return fields;
}

function markEnums(T, fields) {
  const src = T.fromObject.toString();
  const re = /switch \(object\.(\w+)(\[i\])?\)/g;
  let m;
  const byName = {};
  for (const f of Object.values(fields)) byName[f.name] = f;
  while ((m = re.exec(src)) !== null) {
    const f = byName[m[1]];
    if (f) f.enum = true;
  }
}

// Cross-check decode-derived fields against encode(): same field numbers, same wire types.
function checkEncode(fullName, T, fields) {
  const src = T.encode.toString();
  const re = /id (\d+), wireType (\d) =/g;
  const seen = {};
  let m;
  while ((m = re.exec(src)) !== null) seen[Number(m[1])] = Number(m[2]);
  const a = Object.keys(fields).map(Number).sort((x, y) => x - y).join(',');
  const b = Object.keys(seen).map(Number).sort((x, y) => x - y).join(',');
  if (a !== b) throw new Error(`${fullName}: decode fields [${a}] != encode fields [${b}]`);
  for (const f of Object.values(fields)) {
    const want = f.packed ? 2 : f.wire;
    if (seen[f.no] !== want) {
      throw new Error(`${fullName}: field ${f.no} wire type ${seen[f.no]} != ${want}`);
    }
  }
}

function collect(ns, prefix, types) {
  for (const key of Object.keys(ns)) {
    const v = ns[key];
    const full = prefix ? `${prefix}.${key}` : key;
    if (typeof v === 'function' && typeof v.decode === 'function' && typeof v.encode === 'function') {
      types[full] = { name: full, ctor: v };
      collect(v, full, types); // nested messages (Span.Event, ...)
    } else if (v && typeof v === 'object' && !Array.isArray(v) && /^[a-z]/.test(key)) {
      collect(v, full, types); // namespaces are lower-case; enums are upper-case objects
    }
  }
}

/* Returns { root, protobuf, file, types } where types[fullName] = { name, ctor, fields, byJson }.
 * fields[no] = { no, name (lowerCamelCase JSON name), kind ('message' or a scalar reader name),
 * type (message full name), wire, repeated, packed, enum, hexId }. Throws on any inconsistency. */
function loadSchema() {
  const { root, protobuf, file } = loadRoot();
  const types = {};
  collect(root, '', types);
  for (const t of Object.values(types)) {
    t.fields = parseDecode(t.name, t.ctor);
    markEnums(t.ctor, t.fields);
    checkEncode(t.name, t.ctor, t.fields);
    t.byJson = {};
    for (const f of Object.values(t.fields)) {
      f.hexId = f.kind === 'bytes' && HEX_ID_FIELDS.has(f.name);
      t.byJson[f.name] = f;
    }
  }
  for (const t of Object.values(types)) {
    for (const f of Object.values(t.fields)) {
      if (f.kind === 'message' && !types[f.type]) {
        throw new Error(`${t.name}.${f.name}: type ${f.type} not found`);
      }
    }
  }
  const need = ['trace', 'metrics', 'logs'].map(
    (s) => `opentelemetry.proto.collector.${s}.v1.Export${s[0].toUpperCase()}${s.slice(1)}ServiceRequest`);
  for (const n of need) {
    if (!types[n]) throw new Error(`generated code lacks ${n}`);
  }
  return { root, protobuf, file, types };
}

module.exports = { loadSchema, LONG_KINDS, INT32_KINDS };
