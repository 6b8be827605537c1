/**
 * The two static assets, embedded as strings so they ship in the package and
 * work offline from any install (no file read, no network).
 *
 * @module
 */
export { CLIENT_JS } from "./_client_js.ts";
export { STYLE_CSS } from "./_style_css.ts";
