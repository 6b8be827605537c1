/**
 * The memory backend: records kept in maps inside the flusher worker, queried with the
 * predicate compiler (`query/predicates.ts`). It is the reference every other backend is held to by
 * the conformance suite, and the fast store for unit tests.
 *
 * @module
 */
export * from "./memory_backend.ts";
