// Package browser starts a headless Chromium for tests that drive ferry's
// web UI, and waits on what the page shows.
//
// A test calls New for a context and runs chromedp actions with it. Without
// a browser the test is skipped, unless FERRY_REQUIRE_BROWSER is set (as
// `make test` does): then a missing browser fails it.
package browser
