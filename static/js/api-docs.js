// Swagger UI over the portal's OpenAPI schema (templates/api/docs.html). A file, not an inline
// script, so that the Content-Security-Policy needs no 'unsafe-inline'.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-schema-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    // The session's CSRF token for "Try it out" writes from a signed-in browser.
    requestInterceptor: function (request) {
      var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      if (match && request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
      }
      return request;
    },
  });
})();
