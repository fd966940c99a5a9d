// Swagger UI (swagger-ui-dist from the npm registry, shipped in the package) reading this gateway's
// own document. persistAuthorization keeps the key typed in "Authorize" in this browser's storage, so it
// is typed once; tryItOutEnabled sends requests to this gateway (same origin, as the CSP allows).
"use strict";
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  filter: true,
  // No validator badge: it would send the document to validator.swagger.io.
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
