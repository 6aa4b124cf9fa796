// Package web serves ferry's local JSON API and web UI, and holds the typed
// client the command line uses to talk to a running daemon.
//
// # Routes
//
// The API lives under /api/ and answers JSON:
//
//	GET    /api/ping                 {"ok":true}
//	GET    /api/status               Status
//	POST   /api/scan                 {"folder":ID,"path":SUBPATH}; returns when the scan is applied
//	POST   /api/devices              DeviceRequest
//	DELETE /api/devices/{id}
//	DELETE /api/pending/{id}         forget a pending unknown device
//	POST   /api/folders              FolderRequest; answers {"id":FOLDER-ID}
//	POST   /api/folders/{id}/share   {"device":DEVICE-ID}
//	POST   /api/pair                 OfferRequest; answers Offer
//	GET    /api/pair                 the current Offer (empty code when none)
//	DELETE /api/pair                 burn the current offer
//	POST   /api/pair/join            JoinRequest; answers JoinResult
//
// Errors answer {"error":"..."}: 400 for bad input, 404 for an unknown device
// or folder, 401 without a valid key or session, 403 for a refused Host or
// Origin or a missing CSRF token, 405 for a wrong method, 413 for a body
// over 1 MiB, 500 otherwise. A Backend marks its errors with BadRequest or
// NotFound to choose the status.
//
// The UI is three embedded files: the page at /, /app.js and /style.css.
// The script polls /api/status and /api/pair every second; it has no build
// step.
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
//   - every /api/ route needs either the API key in the X-API-Key header (the
//     key is HOME/apikey, 32 random bytes in hex, mode 0600), or the browser
//     session: the cookie and the X-CSRF-Token header together.
//
// The browser session: GET / from a loopback peer sets an HttpOnly,
// SameSite=Strict cookie (Path=/) and puts the CSRF token in the page's
// <meta name="csrf-token"> tag. Both are HMAC-SHA256 of the API key with
// distinct labels, so they change with the key and no daemon restart logs a
// browser out. The cookie's name also derives from the key, so two daemons
// on one machine (cookies ignore ports) keep apart. A cookie without the
// token answers 403; a request carrying X-API-Key is judged by the key alone.
// Each route declares the permission it needs; both ways grant all.
//
// Responses carry a Content-Security-Policy of "default-src 'self'" (plus
// data: images for the pairing QR code, no framing, no base URI, no form
// submission), X-Content-Type-Options nosniff, X-Frame-Options DENY,
// Referrer-Policy no-referrer and Cache-Control no-store. The page holds no
// inline script or style.
package web
