// The X.509 library's old path: it lives in schemas/x509 (a library shared by the plugin and the
// webhook, not part of the API contract). Modules that still import it from here get the same
// exports; import from schemas/x509/index.js.
export * from '../x509/index.js';
