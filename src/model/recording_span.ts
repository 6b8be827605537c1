/**
 * The span a manager hands out: a {@linkcode Span} that records itself when
 * it ends and enforces `maxEventsPerSpan`.
 *
 * @module
 */
import type { Event } from "./event.ts";
import { Span, type SpanOptions } from "./span.ts";
import type { Attributes, AttributeValue, SpanStatus } from "./types.ts";
import { readableCopy } from "./sanitize.ts";

/** The manager side of a recording span. */
export interface SpanOwner {
  /** Called once when a span ends. */
  spanEnded(span: RecordingSpan): void;
  /** `maxEventsPerSpan`. */
  readonly maxEvents: number;
  /** Counts values replaced because they could not be read (`stats().sanitizedValues`). */
  countSanitized(n: number): void;
}

/** A span that reports its end to its manager. (Fields `declare`d: see {@linkcode Span}.) */
export class RecordingSpan extends Span {
  /** The manager that started the span. */
  declare readonly owner: SpanOwner;
  /** Key of the span among its manager's active spans (a number: hashing a fresh string id costs more than the rest of a map insert). */
  declare readonly slot: number;
  /** Whether the span is stored (sampled, traces enabled, manager enabled). */
  declare readonly recorded: boolean;
  /** Whether ending this span also ends its trace (started implicitly for it). */
  declare readonly endsTrace: boolean;
  /** Events recorded through `recordEvent()` with this span's id (stored at once). */
  declare linkedEvents: number;
  // Private, so that they add nothing to what a span shows of itself
  // (`Object.keys`, JSON). The span id the span was created with, and where
  // its character codes are in the id pool (see `idCodes`).
  #idText: string;
  #idCodes: DataView;
  #idAt: number;
  /** `setAttribute()` calls so far (see there). */
  #attributeSets = 0;

  constructor(
    options: SpanOptions & { spanId: string },
    owner: SpanOwner,
    slot: number,
    recorded: boolean,
    endsTrace: boolean,
    idCodes: DataView,
    idAt: number,
  ) {
    super(options);
    this.owner = owner;
    this.slot = slot;
    this.recorded = recorded;
    this.endsTrace = endsTrace;
    this.linkedEvents = 0;
    this.#idText = options.spanId;
    this.#idCodes = idCodes;
    this.#idAt = idAt;
  }

  /**
   * While `spanId` is still the id the span was created with: the id pool's
   * buffer holding its character codes (bytes {@linkcode RecordingSpan.idAt}
   * `.. + 16`), which the encoder copies instead of reading the string (see
   * `id_pool.ts`). `null` once the id was replaced.
   */
  get idCodes(): DataView | null {
    return this.spanId === this.#idText ? this.#idCodes : null;
  }

  /** See {@linkcode RecordingSpan.idCodes}. */
  get idAt(): number {
    return this.#idAt;
  }

  /**
   * Sets one attribute. The store is made at one of several sites, by how
   * many attributes were set before: each site then sees few shapes of the
   * attributes object and few keys (code that sets the same keys in the
   * same order, the common case, makes each site see one), where a single
   * site sees them all and falls back to V8's generic store. Measured: 5
   * attributes set in one order: ~61 ns at one site, ~5–35 ns at these (micro-benchmark).
   * Never throws; the value is converted when the span is recorded
   * (`docs/values.md`), and a `"__proto__"` key is kept as an own key.
   *
   * @param key The attribute key.
   * @param value The value.
   */
  override setAttribute(key: string, value: AttributeValue): void {
    const a = this.attributes;
    if (key === "__proto__") {
      // An own key, as any other (an assignment would set the prototype).
      Object.defineProperty(a, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return;
    }
    switch (this.#attributeSets++) {
      case 0:
        a[key] = value;
        return;
      case 1:
        a[key] = value;
        return;
      case 2:
        a[key] = value;
        return;
      case 3:
        a[key] = value;
        return;
      case 4:
        a[key] = value;
        return;
      case 5:
        a[key] = value;
        return;
      case 6:
        a[key] = value;
        return;
      case 7:
        a[key] = value;
        return;
      default:
        a[key] = value;
    }
  }

  /**
   * Sets several attributes at once. Never throws: a value whose getter
   * throws is stored as `"[Unreadable: <message>]"` (counted in
   * `stats().sanitizedValues`), and a `"__proto__"` key is kept as an own key.
   *
   * @param attributes The attributes to set.
   */
  override setAttributes(attributes: Attributes): void {
    try {
      if (!Object.hasOwn(attributes, "__proto__")) {
        Object.assign(this.attributes, attributes);
        return;
      }
    } catch {
      // A getter or a Proxy trap threw: below, key by key.
    }
    const copy = readableCopy(attributes);
    const a = this.attributes;
    for (const key in copy.value) {
      Object.defineProperty(a, key, {
        value: copy.value[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (copy.replaced > 0) this.owner.countSanitized(copy.replaced);
  }

  /** Takes one event slot; `false` (and one more dropped event) when the span is full. */
  takeEventSlot(): boolean {
    if (this.events.length + this.linkedEvents >= this.owner.maxEvents) {
      this.droppedEvents++;
      return false;
    }
    return true;
  }

  /**
   * Adds an event to the span (stored as an event row when the span ends),
   * unless the span already holds `maxEventsPerSpan` events, in which case it
   * is counted in `droppedEvents`.
   *
   * @param event The event.
   */
  override addEvent(event: Event): void {
    if (this.takeEventSlot()) super.addEvent(event);
  }

  /**
   * Ends the span and records it. Ending an ended span changes nothing.
   * Never throws: attribute values that cannot be stored as given are
   * converted (`docs/values.md`) and the span kept.
   *
   * @param status The final status.
   * @param error What failed the span.
   */
  override end(status: SpanStatus = "ok", error?: unknown): void {
    if (this.endTime !== null) return;
    super.end(status, error);
    this.owner.spanEnded(this);
  }
}
