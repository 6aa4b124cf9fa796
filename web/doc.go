// Package web serves ferry's local JSON API and holds the typed client the
// command line uses to talk to a running daemon.
//
// # Routes
//
// Every route lives under /api/ and answers JSON:
//
//	GET    /api/ping                 {"ok":true}
//	GET    /api/status               Status
//	POST   /api/scan                 {"folder":ID,"path":SUBPATH}; returns when the scan is applied
//	POST   /api/devices              DeviceRequest
//	DELETE /api/devices/{id}
//	POST   /api/folders              FolderRequest; answers {"id":FOLDER-ID}
//	POST   /api/folders/{id}/share   {"device":DEVICE-ID}
//
// Errors answer {"error":"..."}: 400 for bad input, 404 for an unknown device
// or folder, 401 without a valid key, 403 for a refused Host or Origin, 413
// for a body over 1 MiB, 500 otherwise. A Backend marks its errors with
// BadRequest or NotFound to choose the status.
//
// # Defences
//
// The daemon binds a loopback address, but a web page in the user's browser
// can still reach it, so every request passes one guard before any route:
//   - the Host header must name a loopback host (localhost, 127.0.0.0/8,
//     [::1]), which defeats DNS rebinding;
//   - an Origin header must be the same loopback origin, and a browser's
//     Sec-Fetch-Site must not say the request is cross-site; no CORS header
//     is ever sent;
//   - every /api/ route needs the API key in the X-API-Key header (the key is
//     HOME/apikey, 32 random bytes in hex, mode 0600). The key grants read and
//     write permission; each route in the table declares which it needs, so a
//     browser session (a cookie grants read, a CSRF token adds write) can be
//     added in the same place.
//
// Responses carry Content-Security-Policy "default-src 'self'",
// X-Content-Type-Options nosniff, X-Frame-Options DENY and Cache-Control
// no-store.
package web
