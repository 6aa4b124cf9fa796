// Package webtest provides an in-memory web.Backend for tests of the API and
// of its clients.
package webtest
