/* otlp_span_writer.h - owns: the OTLP/protobuf wire form of a Span (its attributes, events, links
 * and status) and of a KeyValue, sized with arithmetic and written with a plain byte cursor.
 *
 * Why not nanopb here, when otlp_proto.c encodes every envelope and all of metrics with the
 * nanopb descriptors generated from proto/: spans and their attributes are nearly all of a trace
 * request's bytes. Through generated descriptors each span would be walked once per enclosing
 * level (nanopb sizes every submessage before writing it) and every field written through the
 * stream's indirect call (tag, length and value apart). Here a span is sized once by
 * arithmetic and written with direct stores into memory the caller has already bounds-checked
 * for the whole run of spans. The bytes are the canonical encoding nanopb produces for the same
 * message (fields in number order, proto3 defaults left out, the fixed-length ids always written,
 * a KeyValue's AnyValue written even when it holds its default, since presence carries the
 * type); field numbers come from the nanopb headers generated from opentelemetry-proto, and
 * tests/unit/test_otlp_proto.c decodes the result with protobuf-c.
 *
 * Span.flags and Span.Link.flags are never written (see otlp_proto.h). Every field number here
 * is < 16, so every tag is one byte.
 *
 * Ownership: every argument is borrowed for the duration of the call; the writers write into
 * caller memory and allocate nothing. */
#ifndef SC_EXPORT_OTLP_SPAN_WRITER_H
#define SC_EXPORT_OTLP_SPAN_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "telemetry/attr.h"
#include "telemetry/span.h"

/* Bytes of the spans v[0..n) written as elements of a repeated message field with a one-byte
 * tag: each one tag, length and Span. */
size_t sc_otlp_span_writer_spans_size(const sc_span *v, size_t n);

/* Writes the spans v[0..n) as elements of the repeated field `tag_byte` (field number and wire
 * type, already shifted and or-ed: one byte) at p, where the caller has room up to end (at least
 * sc_otlp_span_writer_spans_size bytes). Returns the cursor past them, or NULL if a span did not
 * come out at its computed size or would pass end (a bug: the bytes must not be sent). */
uint8_t *sc_otlp_span_writer_put_spans(uint8_t *p, const uint8_t *end, uint8_t tag_byte,
                                       const sc_span *v, size_t n);

/* Bytes of a KeyValue's body (key, then value) for a; 0 if a's type is not one the telemetry layer
 * stores (such an attribute is not written at all). */
size_t sc_otlp_span_writer_kv_size(const sc_attr *a);

/* Writes the KeyValue body for a (exactly sc_otlp_span_writer_kv_size bytes, which must be
 * non-zero) at p; returns the end. */
uint8_t *sc_otlp_span_writer_put_kv(uint8_t *p, const sc_attr *a);

#endif
