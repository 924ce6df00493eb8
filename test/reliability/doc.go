// Package reliability tests the built binary against what should never
// happen: one request taking the process down (deeply nested OTLP), a
// record acknowledged and then lost (SIGKILL under load), paging waiting on
// a storage backend (every backend down), and a shutdown logging losses it
// does not make.
package reliability
