/**
 * Context propagation across processes: W3C `traceparent` / `tracestate` and
 * `baggage` headers.
 *
 * @module
 */
export {
  type Baggage,
  formatBaggage,
  formatTraceparent,
  MAX_BAGGAGE_BYTES,
  MAX_BAGGAGE_MEMBERS,
  MAX_TRACESTATE_MEMBERS,
  parseBaggage,
  parseTraceparent,
  parseTracestate,
  type TraceParent,
  type TraceparentFields,
} from "./_w3c.ts";
