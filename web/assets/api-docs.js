// /api/docs: the pinned Scalar API reference (web/assets/vendor), rendering the service's own
// OpenAPI document. Loaded as a file so the page's CSP allows no inline script.
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    if (!window.Scalar || !window.Scalar.createApiReference) {
      return;
    }
    window.Scalar.createApiReference('#api-reference', {
      url: '/api/openapi.json',
      // Nothing leaves this origin: no web fonts from Scalar's CDN, no request proxy.
      withDefaultFonts: false,
      proxyUrl: '',
      hideClientButton: true,
      telemetry: false,
    });
  });
})();
